#!/usr/bin/env python3
"""Scenarios a-e of the team's benchmark plan against mistral-core over REST, beside Mistral's figures.

The scenarios and the reference figures are described in benchmarks/README.md.

    .venv/bin/python benchmarks/run.py                      # start a server, run a-e 3 times
    .venv/bin/python benchmarks/run.py --scenarios ce --repeat 5 --out results.json
    .venv/bin/python benchmarks/run.py --scale10            # also at 10x the sizes: is the cost linear?
    python3 benchmarks/run.py --base http://127.0.0.1:8989 --pid 1234 --db ./mistral-core.db

Without --base it starts ``mistral-core serve`` (the one beside this Python) on a
free port (or --port) with a new SQLite file in a temporary directory, and stops it with
SIGTERM at the end. The client side is standard library only. See README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from mcbench import proc, report, server, split
from mcbench.rest import Client
from mcbench.scenarios import SCENARIOS, Context, one_line

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = {"a": 100, "b": 200, "c": 200, "d": 1000, "e": 100}
SIZE_OPTIONS = {"a": "a_executions", "b": "b_items", "c": "c_executions", "d": "d_pending", "e": "e_tasks"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenarios", default="abcde", help="which scenarios, in order [abcde]")
    p.add_argument("--repeat", type=int, default=3, help="runs of each scenario; tables show medians [3]")
    p.add_argument("--poll", type=float, default=0.002, help="seconds between status polls [0.002]")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds any one wait may take [600]")
    p.add_argument("--a-executions", type=int, default=DEFAULT_SIZES["a"], help="a: executions [100]")
    p.add_argument("--b-items", type=int, default=DEFAULT_SIZES["b"], help="b: with-items items [200]")
    p.add_argument("--c-executions", type=int, default=DEFAULT_SIZES["c"], help="c: round trips [200]")
    p.add_argument("--c-concurrency", type=int, default=8, help="c and d: client threads [8]")
    p.add_argument(
        "--d-pending", type=int, default=DEFAULT_SIZES["d"], help="d: pending async actions [1000]"
    )
    p.add_argument("--e-tasks", type=int, default=DEFAULT_SIZES["e"], help="e: tasks in the chain [100]")
    p.add_argument(
        "--scale10",
        action="store_true",
        help="after the sizes above, run every scenario again at 10x its size and "
        "compare the cost per unit (it must not grow)",
    )
    p.add_argument("--out", type=Path, help="write every raw figure as JSON to this file")
    p.add_argument("--base", help="an already running server (http://host:port) instead of starting one")
    p.add_argument("--pid", type=int, help="with --base: the server's process id (memory and CPU figures)")
    p.add_argument("--db", type=Path, help="with --base: its SQLite file (database growth figures)")
    p.add_argument(
        "--database-url",
        help="a database for the server started here instead of a new SQLite "
        "file (e.g. postgresql://...); no database growth figures then",
    )
    p.add_argument(
        "--no-keepalive",
        action="store_true",
        help="a new connection for every request (as urllib does) instead of one per client thread",
    )
    p.add_argument(
        "--rev",
        help="serve the code of this git revision (e.g. HEAD: the last commit, without uncommitted edits) "
        "instead of the working tree the virtualenv has installed",
    )
    p.add_argument(
        "--auth-keys",
        action="store_true",
        help="serve with --auth keys and send the key of an admin made first (X-Auth-Token)",
    )
    p.add_argument("--token", help="with --base: an API key (or token) to send as X-Auth-Token")
    p.add_argument(
        "--port", type=int, help="the port of the server started here (default: a free one); 1 to 65535"
    )
    p.add_argument(
        "--split",
        action="store_true",
        help="start the split deployment (api under gunicorn, engines, executors) instead of serve; "
        "needs --database-url (PostgreSQL) and --transport",
    )
    p.add_argument("--transport", help="with --split: the broker, amqp://...")
    p.add_argument("--workers", type=int, default=2, help="with --split: gunicorn workers of the api [2]")
    p.add_argument("--engines", type=int, default=1, help="with --split: engine processes [1]")
    p.add_argument("--executors", type=int, default=1, help="with --split: executor processes [1]")
    p.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --split: a setting of every process (MISTRAL_CORE_NAME), e.g. executor_threads=64",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server log)")
    args = p.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown or not args.scenarios:
        p.error(f"--scenarios takes letters of abcde, not {args.scenarios!r}")
    if args.pid is not None and args.base is None:
        p.error("--pid needs --base")
    if args.token and not args.base:
        p.error("--token is for a server named by --base (the server started here gets one with --auth-keys)")
    if args.base and args.auth_keys:
        p.error("--auth-keys is for the server started here; with --base, pass --token")
    if args.base and (args.rev or args.database_url or args.port):
        p.error("--rev, --database-url and --port are for the server started here, not with --base")
    if args.port is not None and not 1 <= args.port <= 65535:
        p.error(f"--port must be 1 to 65535, not {args.port}")
    _check_split(p, args)
    if args.repeat < 1:
        p.error("--repeat must be 1 or more")
    return args


def _check_split(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The options of --split."""
    if args.split and not (args.database_url and args.transport):
        p.error("--split needs --database-url and --transport")
    if args.split and (args.base or args.auth_keys or args.port):
        p.error("--split starts its own processes: no --base, --auth-keys nor --port")
    if args.setting and not args.split:
        p.error("--setting is for --split")
    if any("=" not in setting for setting in args.setting):
        p.error("--setting takes NAME=VALUE")
    if min(args.workers, args.engines, args.executors) < 1:
        p.error("--workers, --engines and --executors must be 1 or more")


def log(text: str) -> None:
    """A progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run_once(ctx: Context, scenario: str, size: int) -> dict[str, Any]:
    """One run of one scenario, with the server's and this client's CPU, never raising."""
    ctx.wait_quiet()
    cpu0, client0, t0 = ctx.cpu(), time.process_time(), time.perf_counter()
    requests0 = ctx.client.counts["requests"]
    try:
        figures = SCENARIOS[scenario](ctx, size)
    except Exception as exc:  # one failed run must not lose the others: recorded and shown in the table
        figures = {"size": size, "error": f"{type(exc).__name__}: {exc}"}
    wall = time.perf_counter() - t0
    cpu1 = ctx.cpu()
    figures.update(
        wall_seconds=wall, client_cpu_s=time.process_time() - client0, load_average=proc.load_average()
    )
    requests = ctx.client.counts["requests"] - requests0
    figures.update(requests=requests, requests_per_unit=requests / size)
    if cpu0 is not None and cpu1 is not None:
        figures.update(
            server_cpu_s=cpu1 - cpu0,
            server_cpu_cores=(cpu1 - cpu0) / wall,
            server_cpu_ms_per_unit=(cpu1 - cpu0) * 1000 / size,
        )
    return figures


def run_all(
    ctx: Context, args: argparse.Namespace, sizes: dict[str, int], results: dict[int, dict[str, list[Any]]]
) -> str | None:
    """Every scenario ``--repeat`` times (runs interleaved), at 1x and, with --scale10, at 10x.

    Fills ``results`` as it goes; returns why it stopped early (the server exited, Ctrl-C), or None.
    """
    for scale in (1, 10) if args.scale10 else (1,):
        results[scale] = {s: [] for s in args.scenarios}
        for rep in range(1, args.repeat + 1):
            for s in args.scenarios:
                size = sizes[s] * scale
                try:
                    figures = run_once(ctx, s, size)
                    results[scale][s].append(figures)
                    log(f"{s} size {size:,} run {rep}/{args.repeat}: {report.headline(s, figures)}")
                    ctx.check_alive()
                except (RuntimeError, KeyboardInterrupt) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                    log(f"stopped early: {reason}")
                    return reason
    return None


def connect(args: argparse.Namespace) -> server.Server:
    """The server under test: the one named by --base, or a new one."""
    if args.base:
        if args.pid is None:
            log("no --pid: memory and CPU figures will be n/a")
        return server.Server(args.base.rstrip("/").removesuffix("/v2"), args.pid, args.db)
    revision = (REPO, args.rev) if args.rev else None
    if args.split:
        srv = split.start(
            args.database_url,
            args.transport,
            args.workers,
            args.engines,
            args.executors,
            revision,
            settings={f"MISTRAL_CORE_{n.upper()}": v for n, _, v in (s.partition("=") for s in args.setting)},
        )
        log(f"started the split deployment (group pid {srv.pid}) on {srv.base}; files in {srv.workdir}")
        return srv
    srv = server.start(
        database_url=args.database_url,
        revision=revision,
        auth_keys=args.auth_keys,
        port=args.port,
    )
    log(
        f"started mistral-core serve (pid {srv.pid}) on {srv.base}; "
        f"code from {srv.code}; files in {srv.workdir}"
    )
    return srv


def main(argv: list[str] | None = None) -> int:
    """Run, print the tables, write the JSON."""
    args = parse_args(argv)
    sizes = {s: getattr(args, SIZE_OPTIONS[s]) for s in SCENARIOS}
    machine, commit = proc.machine(), proc.git_commit(REPO, args.rev)
    srv = connect(args)
    client = Client(
        srv.base,
        keepalive=not args.no_keepalive,
        timeout=max(args.timeout, 120.0),
        token=args.token or srv.token,
    )
    ctx = Context(client, srv, poll=args.poll, timeout=args.timeout, concurrency=args.c_concurrency)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    memory_at_start = ctx.memory()
    stopped: dict[str, object] = {}
    problems: list[tuple[int, str]] = []
    results: dict[int, dict[str, list[Any]]] = {}
    try:
        stopped_early = run_all(ctx, args, sizes, results)
    finally:
        problems = srv.log_problems()
        stopped = server.stop(srv, keep_files=args.keep)
        if stopped:
            log(f"stopped the server: {stopped}")
    machine["load_average_at_end"] = proc.load_average()

    print()
    print(
        f"mistral-core {commit or '(no git commit)'}  on {machine['nproc']} CPUs, "
        f"{machine['memory_gib']} GiB, "
        f"load average {machine['load_average']} at start, {machine['load_average_at_end']} at end"
    )
    print(
        f"server {srv.base} pid {srv.pid}; RSS at start "
        f"{f'{memory_at_start.rss_mib:.1f} MiB' if memory_at_start else 'n/a'}; poll {args.poll} s; "
        f"{'new connection per request' if args.no_keepalive else 'keep-alive connections'}; "
        f"{client.counts['requests']:,} requests, {client.counts['errors']} errors, "
        f"{client.counts['reconnects']} reconnects"
    )
    if stopped.get("exited_before_sigterm"):
        print(f"THE SERVER EXITED BY ITSELF (code {stopped['exit_code']}) before the runs ended")
    elif stopped.get("exit_code") not in (None, 0):
        print(f"THE SERVER EXITED WITH CODE {stopped['exit_code']} on SIGTERM")
    if stopped_early:
        print(f"STOPPED EARLY: {stopped_early} (the tables hold the runs done so far)")
    tables: dict[str, Any] = {}
    for scale, by_scenario in results.items():
        for s, runs in by_scenario.items():
            text, data = report.scenario_table(s, sizes[s] * scale, runs)
            tables[f"{s}@{scale}x"] = data
            print()
            print(text)
    if args.scale10 and 10 in results:
        text, data = report.linearity_table(results, sizes, args.scenarios)
        tables["linearity"] = data
        print()
        print(text)
    if problems:
        total = sum(n for n, _ in problems)
        print(f"\nTHE SERVER LOGGED {total:,} WARNING/ERROR RECORD(S) (see its log with --keep):")
        print("\n".join(f"  {n:>6,} x {one_line(text, 200)}" for n, text in problems[:10]))
    if args.out:
        document = {
            "started": started,
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "commit": commit,
            "machine": machine,
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "server": {
                "base": srv.base,
                "pid": srv.pid,
                "db": str(srv.db_path) if srv.db_path else None,
                "rss_mib_at_start": memory_at_start.rss_mib if memory_at_start else None,
                "log_problems": [{"count": n, "record": text} for n, text in problems],
                **stopped,
            },
            "stopped_early": stopped_early,
            "http": client.counts,
            "sizes": sizes,
            "runs": {f"{scale}x": by_scenario for scale, by_scenario in results.items()},
            "medians": {
                f"{s}@{scale}x": report.medians(runs)
                for scale, by_scenario in results.items()
                for s, runs in by_scenario.items()
            },
            "tables": tables,
        }
        args.out.write_text(json.dumps(document, indent=1, default=str) + "\n")
        print(f"\nwrote {args.out}")
    return 1 if stopped_early else 0


if __name__ == "__main__":
    sys.exit(main())
