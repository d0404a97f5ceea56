"""Where ``serve``'s CPU goes, thread by thread, while one client starts chains one after another.

    .venv/bin/python benchmarks/thread_cpu.py                                  # the installed code
    .venv/bin/python benchmarks/thread_cpu.py --rev f0a2091 --rev installed --rounds 4 --statements

Scenario a's client (``run.py``) POSTs its executions one after another while the engine works, so
a workflow start pays for whatever its request shares the process with. Each run here starts
``mistral-core serve`` over a new SQLite file (``--rev REV``: the code of a git revision, as
``run.py --rev``; ``installed``: the code this virtualenv imports), starts 100 executions of a
10-task ``std.noop`` chain to warm it, then ``--executions`` more one after another on a keep-alive
connection, and waits until none is running. Every thread's CPU (utime + stime,
``/proc/<pid>/task/<tid>/stat``) is read before and after; per execution it prints the main thread
(the event loop's, where this version's requests run), the busiest other thread (the engine's),
all the others together (action threads, the HTTP server's own threads; 0.1.0's requests ran on
those), the total, and transitions/s. ``--statements`` also counts, per execution, the SQL
statements the server sent to SQLite by their first word (a ``sitecustomize`` module that sets
sqlite3's trace callback, put first on the server's ``PYTHONPATH``); the counts are written when the
server exits, so they cover the warm-up too and are divided by all the executions started (a few
one-off statements, the schema's and the workflow's, are among them). Runs of the revisions
alternate; the table shows medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcbench import proc, server
from mcbench.rest import Client
from mcbench.scenarios import chain_workflow

WARM_UP = 100
#: Where the traced server writes its statement counts (an environment variable it inherits).
COUNTS_VARIABLE = "MCBENCH_STATEMENT_COUNTS"
TRACER = textwrap.dedent(
    f'''
    """Counts the SQL statements this process sends to SQLite (benchmarks/thread_cpu.py)."""
    import atexit, collections, json, os, sqlite3

    _connect = sqlite3.connect
    _counts = collections.Counter()

    def _traced(*args, **kwargs):
        connection = _connect(*args, **kwargs)
        connection.set_trace_callback(lambda sql: _counts.update([sql.split(None, 1)[0].upper()]))
        return connection

    sqlite3.connect = _traced

    @atexit.register
    def _write():
        if _counts:  # not the short-lived helpers started with the same environment
            with open(os.environ["{COUNTS_VARIABLE}"], "w") as out:
                json.dump(_counts, out)
    '''
)


def main() -> int:
    """Run the rounds and print the table."""
    args = _parse()
    revisions = args.rev or [server.INSTALLED]
    figures: dict[str, list[dict[str, float]]] = {rev: [] for rev in revisions}
    for number in range(1, args.rounds + 1):
        for rev in revisions:
            run = _run(rev, args.executions, args.statements)
            figures[rev].append(run)
            print(
                f"round {number} {rev}: " + ", ".join(f"{k} {v:.3g}" for k, v in run.items()), file=sys.stderr
            )
    print(
        f"\nper execution (10 transitions), median of {args.rounds} runs; load average {proc.load_average()}"
    )
    keys = sorted({key for runs in figures.values() for run in runs for key in run}, key=_order)
    print(f"{'':<28}" + "".join(f"{rev:>14}" for rev in revisions))
    for key in keys:
        cells = [statistics.median(run.get(key, 0.0) for run in figures[rev]) for rev in revisions]
        print(f"{key:<28}" + "".join(f"{cell:>14.3f}" for cell in cells))
    return 0


def _order(key: str) -> tuple[int, str]:
    fixed = ["transitions/s", "main thread, ms", "busiest other, ms", "all others, ms", "total, ms"]
    return (fixed.index(key), key) if key in fixed else (len(fixed), key)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rev",
        action="append",
        help=f"a git revision to serve, or {server.INSTALLED!r} (repeat to compare)",
    )
    parser.add_argument("--executions", type=int, default=1000, help="executions measured per run [1000]")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each revision [3]")
    parser.add_argument("--statements", action="store_true", help="count SQL statements by kind too")
    return parser.parse_args()


def _run(rev: str, executions: int, statements: bool) -> dict[str, float]:
    scratch = Path(tempfile.mkdtemp(prefix="thread-cpu-"))
    counts = scratch / "counts.json"
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", COUNTS_VARIABLE)}
    if statements:
        (scratch / "sitecustomize.py").write_text(TRACER)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(scratch), saved["PYTHONPATH"]]))
        os.environ[COUNTS_VARIABLE] = str(counts)
    try:
        srv = server.start(revision=server.revision_of(rev))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    assert srv.pid is not None
    client = Client(srv.base)
    try:
        client.post("/v2/workflows", chain_workflow("chain", 10), "text/plain")
        _start(client, WARM_UP)
        before, started = _threads(srv.pid), time.monotonic()
        _start(client, executions)
        elapsed, after = time.monotonic() - started, _threads(srv.pid)
    finally:
        client.close()
        server.stop(srv)
    figures = _per_execution(srv.pid, before, after, executions)
    figures["transitions/s"] = executions * 10 / elapsed
    try:
        if statements:  # written at exit: the warm-up's executions count too (and a few one-off statements)
            if not counts.exists():
                raise RuntimeError("the server wrote no statement counts: did it exit cleanly?")
            spent = Counter(json.loads(counts.read_text()))
            figures.update({f"SQL {kind}": n / (WARM_UP + executions) for kind, n in spent.items()})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return figures


def _start(client: Client, executions: int) -> None:
    for _ in range(executions):
        client.post("/v2/executions", {"workflow_name": "chain"})
    while client.get("/v2/executions?state=RUNNING&limit=1")["executions"]:
        time.sleep(0.01)


def _threads(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of ``pid``."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def _per_execution(
    pid: int, before: dict[int, float], after: dict[int, float], executions: int
) -> dict[str, float]:
    spent = {tid: cpu - before.get(tid, 0.0) for tid, cpu in after.items()}
    main = spent.pop(pid, 0.0)
    busiest = max(spent.values(), default=0.0)
    others = sum(spent.values()) - busiest
    scale = 1e3 / executions
    return {
        "main thread, ms": main * scale,
        "busiest other, ms": busiest * scale,
        "all others, ms": others * scale,
        "total, ms": (main + busiest + others) * scale,
    }


if __name__ == "__main__":
    sys.exit(main())
