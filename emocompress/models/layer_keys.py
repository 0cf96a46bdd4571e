"""Encoder layer numbers inside parameter names (``bert.encoder.layer.3.attention...``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_LAYER_KEY = re.compile(r"^(.*?\.layers?\.)(\d+)(\..*)$")


def renumber_layer_key(key: str, keep: Sequence[int]) -> str | None:
    """``key`` with encoder layer ``keep[i]`` renamed to layer ``i``; None for dropped layers."""
    match = _LAYER_KEY.match(key)
    if match is None:
        return key
    layer = int(match.group(2))
    if layer not in keep:
        return None
    return f"{match.group(1)}{list(keep).index(layer)}{match.group(3)}"
