"""OS errors about files (missing, permission denied, disk full, read-only) as the one-line
:class:`UserError` of the command line: they are the user's to fix, not tracebacks."""

from __future__ import annotations

import errno
import re

from emocompress.errors import UserError

# libraries written in Rust (safetensors, tokenizers) report OS errors inside their own
# exception's text: "... I/O error: No space left on device (os error 28)"
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")

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
    if not isinstance(exc, OSError):
        return _wrapped_os_error(exc)
    if exc.errno not in _HINTS:
        return None
    what = _WHAT.get(exc.errno) or exc.strerror or type(exc).__name__
    where = exc.filename
    if exc.filename2:
        where = f"{exc.filename} -> {exc.filename2}"
    return UserError(f"{where}: {what}" if where else what, expected=_HINTS[exc.errno])


def _wrapped_os_error(exc: BaseException) -> UserError | None:
    """A library's exception that carries an OS error number in its message."""
    text = " ".join(str(exc).split())
    found = _RUST_OS_ERROR.search(text)
    if not found or int(found.group(1)) not in _HINTS:
        return None
    code = int(found.group(1))
    what = _WHAT.get(code, "")
    detail = f"{type(exc).__name__}: {text}"[:300]
    return UserError(f"{what}: {detail}" if what else detail, expected=_HINTS[code])
