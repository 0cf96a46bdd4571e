"""The one JSON reader: bounded in size, one clear message per way a file can be wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emocompress.errors import UserError

# run-directory files are small (GoEmotions metrics.json: ~200 kB); anything far larger is
# not ours, and reading it whole could exhaust memory
MAX_JSON_BYTES = 64 * 1024 * 1024


def read_json_object(path: Path, *, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """A JSON object from ``path``; a :class:`UserError` naming the file otherwise."""
    data = read_json(path, max_bytes=max_bytes)
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def read_json(path: Path, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Any JSON value from ``path`` (labels.json is a list); a :class:`UserError` naming the
    file when it is missing, too large, not UTF-8 or not JSON."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UserError(
                f"{path}: {size:,} bytes is too large to be read as JSON",
                expected=f"at most {max_bytes:,} bytes",
            )
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError as exc:
        raise UserError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise UserError(f"{path}: is a directory, expected a JSON file") from exc
    except PermissionError as exc:
        raise UserError(f"{path}: permission denied") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except RecursionError as exc:
        raise UserError(f"{path}: JSON nested too deeply") from exc
    return data
