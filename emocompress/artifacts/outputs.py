"""Output safety: the one rule every command that writes follows for its ``--out``.

1. A target equal to, inside, or holding any of the command's inputs is refused, always
   (``--overwrite`` included): replacing it would destroy what the command reads.
2. An existing target that is a file, or a non-empty directory, that is not this command's
   own previous output is refused unless ``--overwrite``.
3. ``--fresh`` deletes only a directory that is a run directory (run.json or run.lock).

Refusals are :class:`UserError` (exit 2) naming the target and what was expected; nothing
is deleted or replaced before the check has passed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from emocompress.errors import UserError

OVERWRITE_HINT = "another --out, or --overwrite to replace it"


def _resolved(path: str | os.PathLike[str]) -> Path:
    return Path(path).expanduser().resolve()


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def input_conflict(target: Path, inputs: Iterable[str | os.PathLike[str] | None]) -> str | None:
    """Why ``target`` may not be written given ``inputs`` (None when it may). Inputs that
    are not on disk (a hub id, ``pkg:NAME``, ``demo``) cannot conflict and are skipped."""
    where = _resolved(target)
    for given in inputs:
        if given is None or not Path(given).expanduser().exists():
            continue
        source = _resolved(given)
        if where == source:
            return f"is the input {given}"
        if _within(where, source):
            return f"is inside the input {given}"
        if _within(source, where):
            return f"holds the input {given}; replacing it would delete that input"
    return None


def is_empty_target(target: Path) -> bool:
    """Nothing there yet: absent, or an empty directory."""
    if not target.exists() and not target.is_symlink():
        return True
    return target.is_dir() and not target.is_symlink() and not any(target.iterdir())


def check_output(
    target: str | os.PathLike[str],
    *,
    what: str,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    overwrite: bool = False,
    is_own: Callable[[Path], bool] | None = None,
    directory: bool = True,
) -> Path:
    """Refuse ``target`` as the output (``what``: "bundle", "run directory", ...) unless the
    rules above allow it; return it as a Path.

    ``is_own(target)`` says whether an existing target is a previous output of the same
    kind (a bundle, a variant, a run directory), which may be replaced or continued.
    ``directory``: the output is a directory, so an existing file there is refused outright.
    """
    target = Path(target)
    conflict = input_conflict(target, inputs)
    if conflict:
        raise UserError(f"{target}: the {what} {conflict}", expected="an --out outside the inputs")
    if is_empty_target(target) and (directory or not target.is_dir()):
        return target  # nothing there yet (an empty folder is no file name)
    if directory and not target.is_dir():
        raise UserError(
            f"{target}: exists and is not a directory", expected=f"a directory (the {what})"
        )
    if not directory and target.is_dir():
        raise UserError(f"{target}: is a directory", expected=f"a file name (the {what})")
    if overwrite or (is_own is not None and is_own(target)):
        return target
    kind = "exists and is not empty" if target.is_dir() else "exists"
    raise UserError(
        f"{target}: {kind}, and is not a previous {what}; refusing to replace it",
        expected=OVERWRITE_HINT,
    )


def check_not_a_record(
    target: str | os.PathLike[str], run_root: str | os.PathLike[str], *, what: str
) -> None:
    """``target`` may lie in the run directory ``run_root``, but never on or inside one of its
    records (run.json, variants/, gates.json, ...), whether written yet or not: the run would
    be unreadable, or the file replaced by the run."""
    from emocompress.artifacts.rundir import RunDir

    where = _resolved(target)
    for record in RunDir(run_root).records():
        if _within(where, _resolved(record)):
            raise UserError(
                f"{target}: the {what} would be written over {record}, a file of the run",
                expected="a file elsewhere (not one of the run directory's own)",
            )


def check_fresh(target: str | os.PathLike[str]) -> None:
    """``--fresh`` may delete ``target`` only when it is a run directory (or absent or empty)."""
    from emocompress.artifacts.rundir import RunDir

    target = Path(target)
    if is_empty_target(target):
        return
    if not target.is_dir() or target.is_symlink() or not RunDir.holds_a_run(target):
        raise UserError(
            f"{target}: --fresh deletes only a run directory, and this is not one",
            expected="a run directory (run.json or run.lock), or another --out",
        )


def made_by(operation: str) -> Callable[[Path], bool]:
    """``is_own`` for a variant directory a direct command writes: one that ``operation``
    made (its emocompress.json says so) and that is not a variant of a run directory."""
    from emocompress.artifacts.rundir import RunDir, VariantDir

    def own(path: Path) -> bool:
        variant = VariantDir(path)
        in_run = path.parent.name == RunDir(path.parent.parent).variants_root.name and (
            RunDir.is_run_dir(path.parent.parent)
        )
        if in_run or not variant.has_lineage():
            return False
        try:
            return variant.load_lineage().operation == operation
        except UserError:
            return False  # an unreadable lineage is no proof of ownership

    return own
