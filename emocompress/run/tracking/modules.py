"""Optional tracker packages, imported only when a recipe or command asks for them."""

from __future__ import annotations

import importlib
from typing import Any

from emocompress.errors import UserError


def require(module: str, key: str, install: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UserError(f"{key} is set but {module} is not installed", expected=install) from exc
