#!/usr/bin/env python3
"""CPU per task transition of each process of the split deployment, for before/after comparisons.

    .venv/bin/python benchmarks/split_cpu.py [--executions 300] [--rounds 3] [--scenario c --clients 8]

Each round starts one engine, one executor and ``mistral-core api`` (``--workers`` gunicorn
workers, 1 by default) over a new PostgreSQL schema and a new RabbitMQ vhost (as compare.py makes
them), warms them with 20 executions, then POSTs ``--executions`` executions of scenario a's
10-task ``std.noop`` chain and polls every 0.1 s (not every 2 ms as run.py does: the API's figure
is then the starts', not the polls') until none is unfinished. The figure of each process is its
CPU (utime + stime of its tree, from /proc) over those executions, divided by the transitions
(executions x 10): unlike wall-clock throughput on a shared machine, it barely moves with the
load. PostgreSQL and RabbitMQ are shown too (every ``postgres`` and ``beam.smp`` process of the
machine over the same time: run nothing else against them meanwhile), and the total: on a 2-core
machine, 2 s of CPU a second divided by it is the most transitions/s the deployment could do here.
``--scenario c`` measures scenario c instead (``--clients`` clients, each polling every 2 ms as
run.py's do): the CPU per round trip, round trips/s and the PUT -> SUCCESS p50. The code measured
is the one ``mistral-core`` imports; ``--rev REV`` (repeat it) measures the code of git revisions
instead (exported with ``git archive`` and put first on the processes' ``PYTHONPATH``, as
``run.py --rev`` does; ``installed``: the code this virtualenv imports), one round of each in turn,
and prints their medians side by side:

    .venv/bin/python benchmarks/split_cpu.py --rev HEAD~1 --rev installed --rounds 4 --executions 800
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import pg_schema, vhost
from mcbench import proc, scenarios, server
from mcbench.rest import Client
from mcbench.scenarios import chain_workflow

PROCESSES = ("engine", "executor", "api")
#: The servers' processes, by name (``comm``): PostgreSQL's, RabbitMQ's Erlang VM.
SERVERS = {"postgresql": "postgres", "rabbitmq": "beam.smp"}


def main() -> int:
    """Run the rounds and print each process's median CPU per transition."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--executions", type=int, default=300, help="executions measured per round [300]")
    p.add_argument("--rounds", type=int, default=3, help="rounds [3]")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test", help="PostgreSQL database")
    p.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672", help="RabbitMQ, without a vhost")
    p.add_argument(
        "--scenario", choices=("a", "c"), default="a", help="a (chains) or c (async round trips) [a]"
    )
    p.add_argument("--clients", type=int, default=8, help="c: clients at once [8]")
    p.add_argument("--workers", type=int, default=1, help="the API's gunicorn workers [1]")
    p.add_argument(
        "--rev",
        action="append",
        help=f"a git revision to measure, or {server.INSTALLED!r} (repeat to compare)",
    )
    args = p.parse_args()
    revisions = args.rev or [server.INSTALLED]
    _print(_measure(args, revisions), revisions, args)
    return 0


def _measure(args: argparse.Namespace, revisions: list[str]) -> dict[str, list[dict[str, float]]]:
    """The figures of every round of each revision (one round of each in turn)."""
    command = str(Path(sys.executable).parent / "mistral-core")
    runs: dict[str, list[dict[str, float]]] = {rev: [] for rev in revisions}
    for number in range(1, args.rounds + 1):
        for rev in revisions:
            with contextlib.ExitStack() as stack:
                database = stack.enter_context(pg_schema(args.pg))
                transport = stack.enter_context(vhost(args.amqp))
                workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="split-cpu-")))
                env = server.clean_env(server.revision_of(rev), workdir)
                run = _round(command, database, transport, args, env)
            label = f"round {number}" + (f" {rev}" if len(revisions) > 1 else "")
            print(f"{label}: " + ", ".join(f"{k} {v:.0f}" for k, v in run.items()), file=sys.stderr)
            runs[rev].append(run)
    return runs


def _print(runs: dict[str, list[dict[str, float]]], revisions: list[str], args: argparse.Namespace) -> None:
    """Each figure's median, a column per revision."""
    unit = "task transition" if args.scenario == "a" else "round trip"
    print(f"\nCPU per {unit}, µs (median of {args.rounds}); load average {proc.load_average()}")
    first = runs[revisions[0]][0]
    names = (*PROCESSES, *SERVERS, "total", *first.keys() - {*PROCESSES, *SERVERS, "total"})
    if len(revisions) > 1:
        print(f"{'':<14}" + "".join(f"{rev:>14}" for rev in revisions))
    for name in names:
        cells = [statistics.median(r[name] for r in runs[rev]) for rev in revisions]
        print(f"{name:<14}" + "".join(f"{cell:>14.0f}" for cell in cells))


def _round(
    command: str, database: str, transport: str, args: argparse.Namespace, env: dict[str, str]
) -> dict[str, float]:
    subprocess.run(
        [command, "db", "upgrade", "--database-url", database], check=True, capture_output=True, env=env
    )
    port = _free_port()
    common = ["--database-url", database, "--transport", transport]
    argv = {
        "engine": [command, "engine", *common],
        "executor": [command, "executor", "--transport", transport],
        "api": [command, "api", *common, "--port", str(port), "--workers", str(args.workers)],
    }
    procs = {
        name: subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        for name, a in argv.items()
    }
    try:
        client = _connect(port)
        work, units = _workload(args, client, port)
        time.sleep(1.0)
        before = {name: proc.cpu_seconds(p.pid) or 0.0 for name, p in procs.items()}
        servers_before = proc.cpu_by_name(tuple(SERVERS.values()))
        started = time.monotonic()
        extra = work()
        elapsed = time.monotonic() - started
        time.sleep(1.5)  # the last acknowledgements and heartbeats
        after = {name: proc.cpu_seconds(p.pid) or 0.0 for name, p in procs.items()}
        servers_after = proc.cpu_by_name(tuple(SERVERS.values()))
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.wait(30)
    figures = {name: 1e6 * (after[name] - before[name]) / units for name in PROCESSES}
    for label, name in SERVERS.items():
        figures[label] = 1e6 * (servers_after[name] - servers_before[name]) / units
    figures["total"] = sum(figures.values())
    figures["transitions/s" if args.scenario == "a" else "round trips/s"] = units / elapsed
    return {**figures, **extra}


def _workload(
    args: argparse.Namespace, client: http.client.HTTPConnection, port: int
) -> tuple[Callable[[], dict[str, float]], int]:
    """Warm the deployment up; the measured work (returning figures of its own) and its units."""
    if args.scenario == "a":
        _call(client, "POST", "/v2/workflows", chain_workflow("chain", 10), "text/plain")
        _finish(client, 20)

        def chains() -> dict[str, float]:
            _finish(client, args.executions)
            return {}

        return chains, args.executions * 10
    base = f"http://127.0.0.1:{port}"
    ctx = scenarios.Context(Client(base), server.Server(base, None, None), concurrency=args.clients)
    scenarios.scenario_c(ctx, 20)

    def round_trips() -> dict[str, float]:
        result = scenarios.scenario_c(ctx, args.executions)
        return {"PUT->SUCCESS p50 ms": float(result["put_to_success_p50_ms"])}

    return round_trips, args.executions


def _finish(client: http.client.HTTPConnection, executions: int) -> None:
    """Start ``executions`` chains one after another, then poll until none is unfinished."""
    for _ in range(executions):
        _call(client, "POST", "/v2/executions", json.dumps({"workflow_name": "chain"}), "application/json")
    while _call(client, "GET", "/v2/executions?state=nin:CANCELLED,ERROR,SUCCESS&limit=1")["executions"]:
        time.sleep(0.1)


def _call(
    client: http.client.HTTPConnection, method: str, path: str, body: str = "", kind: str = ""
) -> dict[str, Any]:
    client.request(method, path, body=body or None, headers={"Content-Type": kind} if kind else {})
    response = client.getresponse()
    data = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
    return json.loads(data) if data else {}


def _connect(port: int) -> http.client.HTTPConnection:
    deadline = time.monotonic() + 60
    while True:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            _call(client, "GET", "/v2/executions?limit=1")
            return client
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
