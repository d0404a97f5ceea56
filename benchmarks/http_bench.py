"""The server's CPU per HTTP request: keep-alive GETs and result PUTs, one client thread.

    .venv/bin/python benchmarks/http_bench.py                       # this virtualenv's server
    .venv/bin/python benchmarks/http_bench.py --command .venv/bin/mistral-core \\
        --command ../v010/.venv/bin/mistral-core --rounds 5        # two servers, runs interleaved

Each run starts ``mistral-core serve`` (COMMAND) on a free port over a new SQLite file,
creates ``--puts`` executions of a one-task ``std.async_noop`` workflow and waits until
the server is quiet. Then, on ONE keep-alive connection:

- ``GET /v2/executions?limit=1`` ``--gets`` times: the cheapest request (a one-row query);
- ``PUT /v2/action_executions/<id>`` with a SUCCESS result for each waiting action: each
  completes its task and its workflow in the request's transaction.

The figure is the server's CPU (utime + stime of every thread, /proc/<pid>/stat) from
just before the first request until the server is quiet again, divided by the number of
requests. A PUT costs the engine's work as well as HTTP's: compare servers, not the two
figures. The client's CPU is not counted; it shares the machine, so wall-clock figures
are printed only as a hint. Runs are interleaved (A B A B ...); the table shows medians.
The client side is standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcbench import proc

WORKFLOW = "---\nversion: '2.0'\nhttp_bench:\n  tasks:\n    t1:\n      action: std.async_noop\n"
HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


def main() -> int:
    """Run the rounds and print the table."""
    args = _parse()
    commands = args.command or [Path(sys.executable).parent / "mistral-core"]
    figures: dict[str, list[dict[str, float]]] = {str(c): [] for c in commands}
    for round_no in range(1, args.rounds + 1):
        for command in commands:
            run = _run(Path(command).absolute(), args.gets, args.puts)
            figures[str(command)].append(run)
            print(
                f"round {round_no} {command}: " + ", ".join(f"{k} {v:.1f}" for k, v in run.items()),
                file=sys.stderr,
            )
    print(f"\nserver CPU per request, median of {args.rounds} runs (µs); load average {proc.load_average()}")
    print(f"{'server':<50} {'GET cpu':>8} {'PUT cpu':>8} {'GET wall':>9} {'PUT wall':>9}")
    for command, runs in figures.items():
        medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(
            f"{command:<50} {medians['get_cpu_us']:>8.0f} {medians['put_cpu_us']:>8.0f} "
            f"{medians['get_wall_us']:>9.0f} {medians['put_wall_us']:>9.0f}"
        )
    return 0


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--command",
        action="append",
        type=Path,
        help="a mistral-core command to measure (repeat to compare) [beside this Python]",
    )
    parser.add_argument("--gets", type=int, default=10_000, help="GET requests per run [10000]")
    parser.add_argument("--puts", type=int, default=1_000, help="PUT requests per run, at most 1000 [1000]")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each command [3]")
    args = parser.parse_args()
    if not 1 <= args.puts <= 1000:
        parser.error("--puts must be from 1 to 1000 (one page of the API lists them all)")
    return args


def _run(command: Path, gets: int, puts: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="http-bench-"))
    port = _free_port()
    argv = [str(command), "serve", "--port", str(port), "--database-url", f"sqlite:///{workdir / 'b.db'}"]
    with (workdir / "server.log").open("wb") as log:
        server = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        _wait_ready(connection, server)
        waiting = _prepare(connection, puts)
        _wait_quiet(server.pid)
        get_cpu, get_wall = _measure(
            server.pid, lambda: [_call(connection, "GET", "/v2/executions?limit=1") for _ in range(gets)]
        )
        get_cpu, get_wall = get_cpu / gets, get_wall / gets
        body = json.dumps({"state": "SUCCESS", "output": 1})
        put_cpu, put_wall = _measure(
            server.pid,
            lambda: [_call(connection, "PUT", f"/v2/action_executions/{i}", body) for i in waiting],
        )
        put_cpu, put_wall = put_cpu / len(waiting), put_wall / len(waiting)
    finally:
        connection.close()
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "get_cpu_us": get_cpu * 1e6,
        "put_cpu_us": put_cpu * 1e6,
        "get_wall_us": get_wall * 1e6,
        "put_wall_us": put_wall * 1e6,
    }


def _measure(pid: int, work: object) -> tuple[float, float]:
    """Server CPU seconds and wall seconds of ``work()`` (CPU counted until the server is quiet)."""
    before = proc.cpu_seconds(pid) or 0.0
    started = time.perf_counter()
    work()  # type: ignore[operator]
    wall = time.perf_counter() - started
    _wait_quiet(pid)
    return (proc.cpu_seconds(pid) or 0.0) - before, wall


def _prepare(connection: http.client.HTTPConnection, count: int) -> list[str]:
    """Create the workflow and ``count`` executions; the ids of their waiting action executions."""
    connection.request("POST", "/v2/workflows", WORKFLOW, {"Content-Type": "text/plain"})
    connection.getresponse().read()
    for _ in range(count):
        _call(connection, "POST", "/v2/executions", json.dumps({"workflow_name": "http_bench"}))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        page = _call(connection, "GET", f"/v2/action_executions?state=RUNNING&limit={count}&fields=id,state")
        ids = [a["id"] for a in page["action_executions"]]
        if len(ids) == count:
            return ids
        time.sleep(0.2)
    raise RuntimeError(f"only {len(ids)} of {count} actions are waiting after 120 s")


def _call(
    connection: http.client.HTTPConnection, method: str, path: str, body: str | None = None
) -> dict[str, Any]:
    connection.request(method, path, body, HEADERS)
    response = connection.getresponse()
    raw = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path} -> {response.status} {raw[:300]!r}")
    return json.loads(raw) if raw else {}


def _wait_ready(connection: http.client.HTTPConnection, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            _call(connection, "GET", "/v2")
            return
        except OSError:
            connection.close()
            time.sleep(0.05)
    raise RuntimeError("the server did not answer within 60 s")


def _wait_quiet(pid: int, window: float = 0.25, busy_share: float = 0.02) -> None:
    before = proc.cpu_seconds(pid) or 0.0
    for _ in range(240):
        time.sleep(window)
        after = proc.cpu_seconds(pid) or 0.0
        if after - before < busy_share * window:
            return
        before = after


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
