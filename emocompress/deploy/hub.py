"""Hand a variant or a bundle on through the Hugging Face Hub: its model card, then its files.

``push_plan`` says what would be uploaded (and writes the card); ``push`` uploads it with
``huggingface_hub`` when the network allows. Predictions and emocompress's temporary
folders stay behind: they are the run's records, not the model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from emocompress.artifacts.schema import PREDICTIONS_DIR
from emocompress.deploy.bundle import is_bundle
from emocompress.deploy.model_card import CARD_FILE, write_model_card
from emocompress.errors import UserError

KEPT_BACK = (PREDICTIONS_DIR,)


@dataclass(frozen=True)
class PushPlan:
    folder: Path
    card: Path
    files: list[Path]  # relative to folder

    @property
    def bytes(self) -> int:
        return sum((self.folder / f).stat().st_size for f in self.files)


def push_plan(folder: Path) -> PushPlan:
    """Write the folder's model card and list the files a push would upload."""
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder", expected="a variant folder or a bundle")
    card = write_model_card(folder, bundle=is_bundle(folder))
    files = sorted(
        path.relative_to(folder)
        for path in folder.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.relative_to(folder).parts[0] not in KEPT_BACK
    )
    return PushPlan(folder, card, files)


def check_repo_id(repo_id: str) -> None:
    """A repo id the Hub would refuse, refused here (before a card is written or a dry run
    says all is well)."""
    try:
        from huggingface_hub.utils import HFValidationError, validate_repo_id
    except ImportError:  # pragma: no cover - transformers depends on it
        return
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        detail = " ".join(str(exc).split())
        raise UserError(
            f"{repo_id}: not a Hugging Face Hub repo id ({detail})",
            expected="NAME or OWNER/NAME, e.g. me/emotion-student",
        ) from exc


def push(plan: PushPlan, repo_id: str, *, private: bool = False, token: str | None = None) -> str:
    """Upload the plan's files to ``repo_id``; the commit URL."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise UserError(
            "HF_HUB_OFFLINE is set: nothing was uploaded",
            expected="network access (unset HF_HUB_OFFLINE); --dry-run shows what would be",
        )
    try:
        from huggingface_hub import HfApi
    except ImportError as exc:
        raise UserError(
            "huggingface_hub is not installed", expected="pip install huggingface_hub"
        ) from exc
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(plan.folder),
            allow_patterns=[str(f) for f in plan.files],
            commit_message="emocompress push",
        )
    except Exception as exc:  # noqa: BLE001 - network, auth and Hub errors alike end here
        raise UserError(
            f"cannot push to the Hugging Face Hub repo {repo_id} ({type(exc).__name__}: {exc}); "
            "nothing was uploaded",
            expected="network access and a token with write access (huggingface-cli login or "
            "HF_TOKEN); --dry-run shows what would be uploaded",
        ) from exc
    return str(getattr(commit, "commit_url", commit))


__all__ = ["CARD_FILE", "PushPlan", "check_repo_id", "push", "push_plan"]
