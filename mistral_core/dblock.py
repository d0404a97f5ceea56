"""One server per SQLite database: an exclusive lock on a file beside it, held for the process's life.

A second ``mistral-core serve`` on the same SQLite file, started by mistake, would run
crash recovery over the first one's running actions. It takes this lock first and
refuses to start while another process holds it, before it opens the database.

The lock is ``flock(LOCK_EX | LOCK_NB)`` on ``<database>.lock`` (the database's real
path, symbolic links resolved):

- the kernel releases it when the process ends, however it ends (kill -9 included), so
  there is never a stale lock to clean up, unlike a file that only records a pid;
- a file of its own, because SQLite's own locks on the database are POSIX record locks,
  which a process loses whenever it closes *any* descriptor of that file, and which on
  some network file systems are the same locks as ``flock``'s;
- the holder writes its pid and address into the file, for the refusal's message.

PostgreSQL is shared by design (several engines): no lock there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from mistral_core.errors import ConflictError, StoreError

SQLITE_PREFIX = "sqlite:///"


class DatabaseLock:
    """The lock of one SQLite database, held until :meth:`release` or the end of the process.

    Args:
        path: the lock file.
        fd: its descriptor, locked.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Give the lock up (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor releases the flock
            self._fd = None


def lock_file(database_url: str) -> Path | None:
    """The lock file of an SQLite database URL (``<database>.lock``); None for other databases."""
    if not database_url.startswith(SQLITE_PREFIX):
        return None
    database = database_url.removeprefix(SQLITE_PREFIX)
    if not database or database.startswith((":memory:", "file:")):
        return None
    resolved = Path(database).resolve()
    return resolved.with_name(resolved.name + ".lock")


def hold(database_url: str, holder: str) -> DatabaseLock | None:
    """Take the lock of an SQLite database for this process; None for other databases.

    Args:
        database_url: the database.
        holder: who takes it, for another process's refusal (``http://127.0.0.1:8989``).

    Raises:
        ConflictError: another process holds the lock (its pid and address in the message).
        StoreError: the lock file cannot be created.
    """
    path = lock_file(database_url)
    if path is None:
        return None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot create the lock file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = _read(fd)
        os.close(fd)
        by = f" ({other})" if other else ""
        database = path.with_name(path.name.removesuffix(".lock"))
        raise ConflictError(
            f"database {database} is in use by another mistral-core{by}: one server per SQLite database"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}, {holder}\n".encode(), 0)
    return DatabaseLock(path, fd)


def _read(fd: int) -> str:
    with contextlib.suppress(OSError):
        return os.pread(fd, 200, 0).decode(errors="replace").strip()
    return ""
