"""One training or version switch at a time per catalog, across processes: an OS file lock beside the catalog.

Why a file of its own, ``<catalog>.train.lock``, and ``flock``: POSIX record locks (``fcntl``/``lockf``) belong to a
process, and closing ANY descriptor that process has on the file drops them all; taken on the catalog or its
-wal/-shm they would silently break SQLite's own locking. ``flock`` locks belong to the open file description made
here, so the lock is held exactly as long as this descriptor is open, two opens in one process (the app's jobs)
exclude each other like two processes do, and the kernel releases it when its holder dies: a killed training never
leaves the catalog locked. A paused holder (SIGSTOP, a suspended laptop) keeps it: it is still running and finishes
when resumed, so the second run is refused, saying by whom, rather than racing it.

The file is never deleted (deleting a lock file lets a third process lock a new inode while the second holds the
old one); it holds the holder's pid and what it is doing, for the message.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tagger.errors import TaggerError

try:
    import fcntl
except ImportError:  # Windows: a byte-range lock on the same file (also released when its holder dies)
    fcntl = None
    import msvcrt


class TrainingBusy(TaggerError, RuntimeError):
    """A training or version switch cannot start now: another holds the catalog (the message names its process),
    or the lock cannot be made beside it (a read-only folder)."""


def lock_path(catalog_path: Path) -> Path:
    return Path(catalog_path).with_name(Path(catalog_path).name + ".train.lock")


@contextlib.contextmanager
def training_lock(catalog_path: Path, doing: str = "training") -> Iterator[None]:
    """Hold the catalog's training lock for the ``with`` block, or raise TrainingBusy at once (never wait: a paused
    holder would hang this one with it). ``doing`` ("training", "model switch") is what a refused run is told."""
    path = lock_path(catalog_path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        raise TrainingBusy(f"cannot create the training lock {path} ({exc.strerror or exc}): the catalog's folder "
                           "must be writable to train or switch models") from None
    try:
        if not _try_lock(fd):
            raise TrainingBusy(f"{_holder(path)} on the catalog {catalog_path}: wait for it to finish (or stop "
                               "that process), then try again")
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()} {doing}\n".encode())
        except OSError:
            pass  # the pid is for the message only; the lock is what counts
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except (BlockingIOError, PermissionError):
        return False
    except OSError as exc:  # a filesystem without locks: refusing every training would lock the user out
        import errno

        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
    return True


def _holder(path: Path) -> str:
    """ "a training is already running (pid N)", from what the holder wrote (it may not have written yet)."""
    try:
        parts = path.read_text(errors="replace").split(maxsplit=1)
    except OSError:
        parts = []
    pid = parts[0] if parts and parts[0].isdigit() else "unknown"
    doing = parts[1].strip() if len(parts) > 1 and parts[1].strip() else "training"
    return f"a {doing} is already running (pid {pid})"
