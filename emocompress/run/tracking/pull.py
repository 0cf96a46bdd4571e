"""A logged variant back into a run directory, by tracker run id.

Sources:
- ``mlflow:RUN_ID`` from the MLflow store at ``tracking_uri``;
- ``wandb:RUN_ID`` from an offline W&B folder (``wandb_dir``): the staged copies of the
  artifact's files, each checked against the MD5 digest W&B recorded;
- ``wandb:ENTITY/PROJECT/RUN_ID`` from the W&B server (needs the network and a login).

The variant lands in ``OUT/variants/<name>`` (its name as logged), written atomically;
an existing variant of that name is refused unless ``overwrite``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from emocompress.artifacts.atomic import atomic_dir
from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.artifacts.schema import Metrics
from emocompress.errors import UserError
from emocompress.run.tracking.files import VARIANT_ARTIFACT

SOURCES = "mlflow:RUN_ID, wandb:RUN_ID (with --wandb-dir) or wandb:ENTITY/PROJECT/RUN_ID"


@dataclass(frozen=True)
class Pulled:
    variant: VariantDir
    tracker: str
    run_id: str


def pull_variant(
    source: str,
    out: Path,
    *,
    tracking_uri: str | None = None,
    wandb_dir: Path | None = None,
    name: str | None = None,
    overwrite: bool = False,
) -> Pulled:
    tracker, _, run_id = source.partition(":")
    if not run_id or tracker not in ("mlflow", "wandb"):
        raise UserError(f"cannot read tracker source {source!r}", expected=SOURCES)
    if tracker == "mlflow":
        return _pull_mlflow(run_id, out, tracking_uri, name, overwrite)
    if "/" in run_id:
        return _pull_wandb_online(run_id, out, name, overwrite)
    if wandb_dir is None:
        raise UserError(
            f"wandb:{run_id} names no project",
            expected="--wandb-dir DIR for an offline run, or wandb:ENTITY/PROJECT/RUN_ID",
        )
    return _pull_wandb_offline(run_id, out, wandb_dir, name, overwrite)


def _target(out: Path, name: str, overwrite: bool) -> VariantDir:
    """``OUT/variants/<name>``, new unless ``overwrite``. (That OUT itself is a run directory
    or new is the caller's check, before it takes OUT's lock: docs/safety.md.)"""
    target = RunDir(out).variant(name)
    if target.path.exists() and not overwrite:
        raise UserError(
            f"{target.path} already exists", expected="another --out or --name, or --overwrite"
        )
    return target


def _pull_mlflow(
    run_id: str, out: Path, tracking_uri: str | None, name: str | None, overwrite: bool
) -> Pulled:
    from emocompress.run.tracking.mlflow_log import TAG_VARIANT, mlflow_module

    mlflow = mlflow_module()
    uri = tracking_uri or "sqlite:///runs/mlflow.db"
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).is_file():
        raise UserError(f"no MLflow store at {uri}", expected="--tracking-uri of the run's store")
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    try:
        logged = client.get_run(run_id)
    except mlflow.exceptions.MlflowException as exc:
        raise UserError(f"MLflow at {uri} has no run {run_id!r} ({exc.message})") from exc
    target = _target(out, name or logged.data.tags.get(TAG_VARIANT) or run_id, overwrite)
    with atomic_dir(target.path) as tmp:
        scratch = tmp / ".download"
        scratch.mkdir()
        downloaded = Path(
            client.download_artifacts(run_id, VARIANT_ARTIFACT, dst_path=str(scratch))
        )
        _adopt(downloaded, tmp, scratch)
        _check_variant(tmp, f"mlflow:{run_id}")
    return Pulled(target, "MLflow", run_id)


def _pull_wandb_offline(
    run_id: str, out: Path, wandb_dir: Path, name: str | None, overwrite: bool
) -> Pulled:
    from emocompress.run.tracking.wandb_log import ARTIFACT_TYPE
    from emocompress.run.tracking.wandb_offline import (
        find_offline_run,
        md5_base64,
        read_offline_run,
    )

    run = read_offline_run(find_offline_run(wandb_dir, run_id))
    artifact = run.artifact(ARTIFACT_TYPE)
    if artifact is None:
        raise UserError(f"offline W&B run {run_id} logged no {ARTIFACT_TYPE} artifact")
    target = _target(out, name or artifact.metadata.get("variant") or run_id, overwrite)
    prefix = VARIANT_ARTIFACT + "/"
    with atomic_dir(target.path) as tmp:
        for entry in artifact.files:
            if not entry.path.startswith(prefix):
                continue
            relative = Path(entry.path[len(prefix) :])
            if relative.is_absolute() or ".." in relative.parts:
                raise UserError(f"offline W&B run {run_id}: unsafe file name {entry.path!r}")
            if entry.staged is None or not entry.staged.is_file():
                raise UserError(
                    f"offline W&B run {run_id}: the staged copy of {entry.path} is gone",
                    expected="a run not yet synced (W&B deletes staged copies after a sync); "
                    "pull it with wandb:ENTITY/PROJECT/RUN_ID instead",
                )
            if md5_base64(entry.staged) != entry.md5:
                raise UserError(
                    f"offline W&B run {run_id}: {entry.path} changed since it was logged"
                )
            destination = tmp / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry.staged, destination)
        _check_variant(tmp, f"wandb:{run_id}")
    return Pulled(target, "W&B", run_id)


def _pull_wandb_online(run_path: str, out: Path, name: str | None, overwrite: bool) -> Pulled:
    from emocompress.run.tracking.wandb_log import ARTIFACT_TYPE, wandb_module

    wandb = wandb_module()
    try:
        api = wandb.Api(timeout=20)
        logged = api.run(run_path)
        artifact = next(a for a in logged.logged_artifacts() if a.type == ARTIFACT_TYPE)
    except StopIteration:
        raise UserError(f"W&B run {run_path} logged no {ARTIFACT_TYPE} artifact") from None
    except Exception as exc:  # noqa: BLE001 - network, login and lookup failures look alike
        raise UserError(
            f"cannot fetch W&B run {run_path} ({type(exc).__name__}: {exc})",
            expected="network access and `wandb login`; offline runs: wandb:RUN_ID --wandb-dir DIR",
        ) from exc
    target = _target(out, name or artifact.metadata.get("variant") or logged.id, overwrite)
    with atomic_dir(target.path) as tmp:
        scratch = Path(artifact.download(root=str(tmp / ".download")))
        _adopt(scratch / VARIANT_ARTIFACT, tmp, scratch)
        _check_variant(tmp, f"wandb:{run_path}")
    return Pulled(target, "W&B", logged.id)


def _adopt(downloaded: Path, tmp: Path, scratch: Path) -> None:
    """Move a download's variant files up into the variant being built, then drop the
    scratch folder (both inside ``tmp``, which this pull created)."""
    for item in downloaded.iterdir():
        shutil.move(str(item), tmp / item.name)
    shutil.rmtree(scratch)


def _check_variant(folder: Path, source: str) -> None:
    if not VariantDir(folder).has_metrics():
        raise UserError(f"{source}: the logged files hold no variant (no {Metrics.FILE})")
