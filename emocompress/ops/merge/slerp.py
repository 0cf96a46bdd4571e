"""SLERP: spherical interpolation between two models, tensor by tensor.

With ``a``, ``b`` a tensor of each model seen as flat vectors and ``omega`` the angle between
them, ``slerp = sin((1-t) omega)/sin(omega) * a + sin(t omega)/sin(omega) * b``: ``t = 0``
gives the first model, ``t = 1`` the second. Nearly parallel tensors (or a zero tensor)
fall back to the linear interpolation ``(1-t) a + t b``, which is then the same thing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field

from emocompress.ops.merge.base import MergeMethod, MethodParams, TensorInputs

if TYPE_CHECKING:
    import torch

PARALLEL = 1 - 1e-6  # |cos omega| above this: interpolate linearly


class SlerpParams(MethodParams):
    t: float = Field(0.5, ge=0, le=1, description="0: the first model, 1: the second")


def slerp(inputs: TensorInputs, params: SlerpParams) -> torch.Tensor:
    a, b = inputs.tensors
    t = params.t
    a64, b64 = a.double().reshape(-1), b.double().reshape(-1)
    norms = float(a64.norm()) * float(b64.norm())
    cos = float(a64 @ b64) / norms if norms > 0 else 1.0
    if abs(cos) > PARALLEL:
        return a * (1 - t) + b * t
    omega = math.acos(max(-1.0, min(1.0, cos)))
    scale_a = math.sin((1 - t) * omega) / math.sin(omega)
    scale_b = math.sin(t * omega) / math.sin(omega)
    return a * scale_a + b * scale_b


METHOD = MergeMethod(
    "slerp",
    "SLERP: spherical interpolation between two models at t (0: first, 1: second)",
    SlerpParams,
    slerp,
    models=2,
)
