"""OS errors about files (missing, permission denied, disk full, read-only) as the one-line
:class:`UserError` of the command line: they are the user's to fix, not tracebacks."""

from __future__ import annotations

import errno

from emocompress.errors import UserError

_HINTS = {
    errno.ENOSPC: "free space on that disk, or write elsewhere (--out)",
    errno.EDQUOT: "free space in your quota, or write elsewhere (--out)",
    errno.EACCES: "a path you may read and write",
    errno.EPERM: "a path you may read and write",
    errno.EROFS: "a writable location (--out)",
    errno.ENOENT: "an existing path",
    errno.ENOTDIR: "a directory there",
    errno.EISDIR: "a file there, not a directory",
    errno.ENAMETOOLONG: "a shorter path",
    errno.EEXIST: "a path that does not exist yet",
}
_WHAT = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded"}


def user_error_of(exc: BaseException) -> UserError | None:
    """The UserError an OS error about a file stands for; None for anything else (a bug)."""
    if not isinstance(exc, OSError) or exc.errno not in _HINTS:
        return None
    what = _WHAT.get(exc.errno) or exc.strerror or type(exc).__name__
    where = exc.filename
    if exc.filename2:
        where = f"{exc.filename} -> {exc.filename2}"
    return UserError(f"{where}: {what}" if where else what, expected=_HINTS[exc.errno])
