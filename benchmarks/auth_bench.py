#!/usr/bin/env python3
"""Scenarios a and c with authentication by API keys off and on, interleaved, in one run.

    .venv/bin/python benchmarks/auth_bench.py                  # 5 repeats of a and c, off and on
    .venv/bin/python benchmarks/auth_bench.py --repeat 9 --out auth.json

Starts two servers side by side from the same code, each over its own new SQLite file: one with
authentication off, one with ``--auth keys`` and an admin key (made with ``mistral-core keys
create``) that the client sends as ``X-Auth-Token`` on every request. Each repeat runs a, then c,
on both, the order flipping every repeat (off-on, on-off, ...) so that a drift of the machine
falls on both alike; the idle server waits for the busy one to be quiet first. Prints the medians
and the ratio on/off of each figure. Scenarios and figures are those of run.py (README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from mcbench import report, server
from mcbench.rest import Client
from mcbench.scenarios import Context
from mcbench.stats import median, ratio
from run import log, run_once

#: (scenario, figure, what it is, whether more is better)
FIGURES = (
    ("a", "transitions_per_s", "a: task transitions/s", True),
    ("a", "server_cpu_ms_per_unit", "a: server CPU ms per execution", False),
    ("c", "round_trips_per_s", "c: round trips/s", True),
    ("c", "put_p50_ms", "c: PUT p50 ms", False),
    ("c", "put_to_success_p50_ms", "c: PUT -> SUCCESS p50 ms", False),
    ("c", "create_p50_ms", "c: POST execution p50 ms", False),
    ("c", "server_cpu_ms_per_unit", "c: server CPU ms per round trip", False),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5, help="runs of each scenario on each server [5]")
    p.add_argument("--a-executions", type=int, default=100, help="a: executions [100]")
    p.add_argument("--c-executions", type=int, default=200, help="c: round trips [200]")
    p.add_argument("--c-concurrency", type=int, default=8, help="c: client threads [8]")
    p.add_argument("--poll", type=float, default=0.002, help="seconds between status polls [0.002]")
    p.add_argument("--out", type=Path, help="write every run's figures and the medians as JSON here")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be 1 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    """Start both servers, run the interleaved repeats, print the table."""
    args = parse_args(argv)
    sizes = {"a": args.a_executions, "c": args.c_executions}
    servers = {"off": server.start(), "on": server.start(auth_keys=True)}
    contexts = {
        mode: Context(Client(srv.base, token=srv.token), srv, poll=args.poll, concurrency=args.c_concurrency)
        for mode, srv in servers.items()
    }
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {m: {"a": [], "c": []} for m in servers}
    try:
        for rep in range(args.repeat):
            order = ("off", "on") if rep % 2 == 0 else ("on", "off")
            for scenario in "ac":
                for mode in order:
                    contexts["on" if mode == "off" else "off"].wait_quiet()
                    figures = run_once(contexts[mode], scenario, sizes[scenario])
                    runs[mode][scenario].append(figures)
                    headline = report.headline(scenario, figures)
                    log(f"{scenario} auth {mode} run {rep + 1}/{args.repeat}: {headline}")
    finally:
        for srv in servers.values():
            server.stop(srv)
    rows = _rows(runs)
    print()
    print(
        f"auth off vs auth on (keys), {args.repeat} interleaved runs each, medians; {time.strftime('%F %T')}"
    )
    print(report.render("scenarios a and c", ["figure", "auth off", "auth on", "on/off"], rows))
    if args.out:
        args.out.write_text(json.dumps({"runs": runs, "table": rows}, indent=1, default=str) + "\n")
    failed = [
        f for mode in runs.values() for s in mode.values() for f in s if f.get("error") or f.get("problems")
    ]
    return 1 if failed else 0


def _rows(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> list[list[str]]:
    rows = []
    for scenario, key, label, _ in FIGURES:
        off = median(f.get(key) for f in runs["off"][scenario])
        on = median(f.get(key) for f in runs["on"][scenario])
        share = ratio(on, off)
        rows.append([label, _fmt(off), _fmt(on), "n/a" if share is None else f"{share:.3f}"])
    return rows


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


if __name__ == "__main__":
    sys.exit(main())
