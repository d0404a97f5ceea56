"""What Linux's /proc says about a process tree (memory, CPU) and about this machine."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import sqlite3
import subprocess
import sys
from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 onwards), or None."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants that are alive now (a scan of /proc)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if _stat_fields(pid) is None:
            continue
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _kib_field(path: Path, name: str) -> int | None:
    try:
        with path.open() as lines:
            for line in lines:
                if line.startswith(name):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclasses.dataclass(frozen=True)
class Memory:
    """Memory of a process tree: resident set (VmRSS) and proportional set (Pss), in KiB."""

    processes: int
    rss_kib: int
    pss_kib: int | None

    @property
    def rss_mib(self) -> float:
        """Resident MiB."""
        return self.rss_kib / 1024

    @property
    def pss_mib(self) -> float | None:
        """Proportional MiB (shared pages divided among their users), if the kernel tells."""
        return None if self.pss_kib is None else self.pss_kib / 1024


def memory(root: int) -> Memory | None:
    """VmRSS (/proc/<pid>/status) and Pss (/proc/<pid>/smaps_rollup) summed over the tree of ``root``."""
    pids = process_tree(root)
    if not pids:
        return None
    rss = 0
    pss: int | None = 0
    for pid in pids:
        rss += _kib_field(PROC / str(pid) / "status", "VmRSS:") or 0
        one_pss = _kib_field(PROC / str(pid) / "smaps_rollup", "Pss:")
        pss = None if pss is None or one_pss is None else pss + one_pss
    return Memory(len(pids), rss, pss)


def cpu_seconds(root: int) -> float | None:
    """utime + stime (/proc/<pid>/stat) of ``root`` and its descendants, all their threads included."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    found = False
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields is None:
            continue
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)
        found = True
    return total / ticks if found else None


def database_bytes(path: Path | None) -> int | None:
    """Size of an SQLite database file plus its ``-wal`` file, or None without a path."""
    if path is None:
        return None
    total = 0
    for one in (path, path.with_name(path.name + "-wal")):
        try:
            total += one.stat().st_size
        except FileNotFoundError:
            continue
    return total


def database_used_bytes(path: Path | None) -> int | None:
    """Bytes of the pages an SQLite database uses (its WAL included; free pages not), or None.

    Read through a read-only connection, so it counts what the file will hold once the
    WAL is checkpointed, whatever size the ``-wal`` file has reached meanwhile.
    """
    if path is None or not path.exists():
        return None
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        ) as db:
            page_size, pages, free = (
                db.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("page_size", "page_count", "freelist_count")
            )
    except sqlite3.Error:
        return None
    used: int = (pages - free) * page_size
    return used


def cpu_by_name(names: tuple[str, ...]) -> dict[str, float]:
    """CPU seconds so far of every process on the machine whose name (``comm``) is one of
    ``names``, summed per name (PostgreSQL's backends, RabbitMQ's ``beam.smp``)."""
    found = dict.fromkeys(names, 0.0)
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if name in found:
            fields = stat[stat.rindex(")") + 2 :].split()
            found[name] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages."""
    try:
        return [float(v) for v in (PROC / "loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def machine() -> dict[str, object]:
    """CPUs, memory, load, kernel and Python of this machine."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = None
    mem_kib = _kib_field(PROC / "meminfo", "MemTotal:")
    return {
        "nproc": usable or os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "memory_gib": None if mem_kib is None else round(mem_kib / 1024 / 1024, 1),
        "load_average": load_average(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
    }


def git_commit(directory: Path, revision: str | None = None) -> str | None:
    """``git rev-parse --short`` of ``revision``, or of HEAD with ``+dirty`` if tracked files changed."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", revision or "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        if revision is not None:
            return head
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")
