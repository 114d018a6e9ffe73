"""The failures Tagger expects, and the one rule for turning any failure into words a person can act on.

Every error type a user can meet (a damaged catalog, a model that does not verify, a photo that is not an image, a
training that cannot start) derives from ``TaggerError``; each keeps its older built-in base too (``ValueError``,
``RuntimeError``), so code that caught those still does. The CLI and the GUI both call ``user_message``: the same
failure reads the same in both, and anything that is not an expected failure is reported as a bug to file, never as
a raw traceback.
"""

from __future__ import annotations

import errno
import sqlite3


class TaggerError(Exception):
    """A failure Tagger expects and can explain: its text is shown to the user as it is."""


class UsageError(TaggerError, ValueError):
    """The user asked for something that cannot be done as asked (a bad argument, a missing catalog)."""


_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_disk_full(exc: BaseException) -> bool:
    """True for "no space left" from the OS or from SQLite (which reports it as its own error code)."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        return True
    return isinstance(exc, sqlite3.Error) and ("database or disk is full" in str(exc) or "disk is full" in str(exc))


def user_message(exc: BaseException) -> str | None:
    """One readable line for an expected failure; None when ``exc`` is a bug (the caller reports it as one)."""
    if is_disk_full(exc):
        return "the disk is full: free some space, then try again (indexing resumes where it stopped)"
    if isinstance(exc, TaggerError):
        return str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return "the catalog is locked by another Tagger (or another program): close it and try again"
    if isinstance(exc, sqlite3.OperationalError):  # read-only disk, I/O error
        return f"the catalog cannot be used right now ({exc})"
    if isinstance(exc, FileNotFoundError):
        return f"not found: {exc.filename or exc}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename or exc}"
    if isinstance(exc, OSError):
        return str(exc)
    return None


def describe(exc: BaseException) -> str:
    """``user_message``, or for a bug a sentence that names it and asks for a report instead of a traceback."""
    message = user_message(exc)
    if message is not None:
        return message
    return (f"an unexpected problem stopped this ({type(exc).__name__}: {exc}); nothing was changed by it. "
            "Please report it with the steps that led here.")
