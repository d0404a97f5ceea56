#!/usr/bin/env python3
"""Scenarios a and e of the team's benchmark plan (benchmarks/README.md) on the engine alone.

No HTTP, no polling.

    .venv/bin/python benchmarks/engine_bench.py
    .venv/bin/python benchmarks/engine_bench.py --stores sqlite --repeat 5 --scale10
    .venv/bin/python benchmarks/engine_bench.py --rest-results results.json   # beside run.py's figures
    .venv/bin/python benchmarks/engine_bench.py --notify noop   # every event told to a noop publisher

Stores (each a fresh service in this process):
  sqlite  build_service() over a new SQLite file: engine thread, executor pool, SQL store
          (what ``mistral-core serve`` runs, minus the HTTP server)
  memory  build_service() over the in-memory store: the same threads, no database
  inline  mistral_core.testing.TestEngine: memory store, actions run inline in this thread

a: N executions of a 10-task std.noop chain started one after another with
Engine.start_workflow, then wait until every action was applied
(transport.wait_idle()); e: one execution of a T-task chain. CPU is this
process's (all threads). Comparing with run.py's figures shows what the HTTP
layer (requests, polling) costs.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcbench.report import render
from mcbench.scenarios import CHAIN_LENGTH_A, chain_workflow
from mcbench.stats import median

from mistral_core.bootstrap import build_service
from mistral_core.config import Settings
from mistral_core.persistence.memory import MemoryStore
from mistral_core.services.engine import Engine
from mistral_core.testing import TestEngine

STORES = ("sqlite", "memory", "inline")


class Harness:
    """An engine, a way to wait until it has nothing left to do, and a way to read a state back."""

    def __init__(self, engine: Engine, wait: Callable[[], None], state_of: Callable[[str], str]) -> None:
        self.engine = engine
        self.wait = wait
        self.state_of = state_of
        self._names = 0
        #: The params of every execution started (``--notify``: a publisher told of every event).
        self.params: dict[str, Any] = {}

    def workflow(self, length: int) -> str:
        """Upload a new chain of ``length`` std.noop tasks; return its name."""
        self._names += 1
        name = f"engine_bench_{length}_{self._names}"
        self.engine.definitions.create_workflows(chain_workflow(name, length))
        return name


@contextmanager
def harness(store: str, timeout: float) -> Iterator[Harness]:
    """A fresh engine over ``store``; stopped (and its files removed) afterwards."""
    if store == "inline":
        test = TestEngine()

        def drain() -> None:
            test.runner.drain()

        yield Harness(test.engine, drain, lambda ex_id: test.store.get_workflow_execution(ex_id).state.value)
        return
    workdir = Path(tempfile.mkdtemp(prefix="mistral-core-engine-bench-"))
    settings = Settings(database_url=f"sqlite:///{workdir / 'engine.db'}")
    service = build_service(settings, store=MemoryStore() if store == "memory" else None)

    def wait_idle() -> None:
        if not service.transport.wait_idle(timeout):
            raise TimeoutError(f"the engine was still busy after {timeout:.0f} s")

    try:
        yield Harness(
            service.engine, wait_idle, lambda ex_id: service.store.get_workflow_execution(ex_id).state.value
        )
    finally:
        service.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def scenario_a(h: Harness, executions: int) -> dict[str, Any]:
    """N chains of 10 started one after another; time until all applied."""
    name = h.workflow(CHAIN_LENGTH_A)
    cpu0, t0 = time.process_time(), time.perf_counter()
    ids = [h.engine.executions.start(name, params=dict(h.params)).id for _ in range(executions)]
    t_started = time.perf_counter()
    h.wait()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    transitions = executions * CHAIN_LENGTH_A
    return {
        "size": executions,
        "seconds": seconds,
        "start_seconds": t_started - t0,
        "transitions_per_s": transitions / seconds,
        "ms_per_transition": seconds * 1000 / transitions,
        "cpu_ms_per_transition": cpu * 1000 / transitions,
        "final_states": dict(Counter(map(h.state_of, ids))),
    }


def scenario_e(h: Harness, tasks: int) -> dict[str, Any]:
    """One chain of ``tasks``; time per step."""
    name = h.workflow(tasks)
    cpu0, t0 = time.process_time(), time.perf_counter()
    ex_id = h.engine.executions.start(name, params=dict(h.params)).id
    h.wait()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {
        "size": tasks,
        "seconds": seconds,
        "ms_per_step": seconds * 1000 / tasks,
        "cpu_ms_per_transition": cpu * 1000 / tasks,
        "final_states": {h.state_of(ex_id): 1},
    }


def headline(figures: dict[str, Any]) -> str:
    """One line about one run."""
    if "transitions_per_s" in figures:
        text = f"{figures['transitions_per_s']:,.0f} transitions/s"
    else:
        text = f"{figures['ms_per_step']:.3f} ms per step"
    cpu = figures["cpu_ms_per_transition"]
    return f"{text}, {cpu:.3f} ms CPU per transition, states {figures['final_states']}"


def log(text: str) -> None:
    """A progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stores", default=",".join(STORES), help=f"comma list of {', '.join(STORES)} [all]")
    p.add_argument("--repeat", type=int, default=3, help="runs of each scenario; medians are shown [3]")
    p.add_argument("--a-executions", type=int, default=100, help="a: executions [100]")
    p.add_argument("--e-tasks", type=int, default=100, help="e: tasks in the chain [100]")
    p.add_argument("--scale10", action="store_true", help="run at 10x the sizes instead")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the engine [600]")
    p.add_argument("--rest-results", type=Path, help="run.py's --out file: show its figures beside these")
    p.add_argument("--out", type=Path, help="write the raw figures as JSON to this file")
    p.add_argument("--notify", metavar="TYPE", help="every execution tells a TYPE (noop) publisher of all")
    args = p.parse_args(argv)
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    bad = [s for s in args.stores if s not in STORES]
    if bad or not args.stores:
        p.error(f"--stores takes {', '.join(STORES)}, not {bad or args.stores}")
    return args


def rest_medians(path: Path | None, scale: int) -> tuple[str, dict[str, Any]]:
    """A column title and the scenario a and e medians of a run.py JSON file, at the same scale."""
    if path is None:
        return "", {}
    document = json.loads(path.read_text())
    medians: dict[str, Any] = document.get("medians", {})
    sizes = {s: document.get("sizes", {}).get(s, 0) * scale for s in "ae"}
    return f"REST (run.py: a {sizes['a']:,}, e {sizes['e']:,})", {
        s: medians.get(f"{s}@{scale}x", {}) for s in "ae"
    }


def _params(notify: str | None) -> dict[str, Any]:
    """The params of the executions: a publisher of type ``notify``, told of every event."""
    return {"notify": [{"type": notify}]} if notify else {}


def main(argv: list[str] | None = None) -> int:
    """Run every store's a and e, print one table."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    scale = 10 if args.scale10 else 1
    sizes = {"a": args.a_executions * scale, "e": args.e_tasks * scale}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for store in args.stores:
        runs[store] = {"a": [], "e": []}
        with harness(store, args.timeout) as h:
            h.params = _params(args.notify)
            for rep in range(1, args.repeat + 1):
                for s, scenario in (("a", scenario_a), ("e", scenario_e)):
                    figures = scenario(h, sizes[s])
                    runs[store][s].append(figures)
                    log(f"{store} {s} size {sizes[s]:,} run {rep}: {headline(figures)}")

    def m(store: str, s: str, key: str) -> float | None:
        return median(r.get(key) for r in runs[store][s])

    rest_title, rest = rest_medians(args.rest_results, scale)
    spec = [
        (
            "a",
            "transitions_per_s",
            f"a. {sizes['a']:,} x 10-task chain: task transitions/s",
            ">= 2,000",
            0,
            "transitions_per_s",
        ),
        ("a", "cpu_ms_per_transition", "a. CPU per transition, ms", "-", 3, "server_cpu_ms_per_transition"),
        (
            "e",
            "ms_per_step",
            f"e. {sizes['e']:,}-task chain: time per step p50, ms",
            "<= 2",
            3,
            "ms_per_step",
        ),
        ("e", "cpu_ms_per_transition", "e. CPU per transition, ms", "-", 3, "server_cpu_ms_per_transition"),
    ]
    header = ["figure", *args.stores, *([rest_title] if rest else []), "target"]
    rows = []
    for s, key, label, target, digits, rest_key in spec:
        cells = [label]
        for store in args.stores:
            value = m(store, s, key)
            cells.append("n/a" if value is None else f"{value:,.{digits}f}")
        if rest:
            value = rest[s].get(rest_key)
            cells.append("n/a" if value is None else f"{value:,.{digits}f}")
        rows.append([*cells, target])
    print()
    print(
        render(
            f"Engine alone, no HTTP [median of {args.repeat} run(s); "
            f"switch interval {sys.getswitchinterval()} s]",
            header,
            rows,
        )
    )
    failed = {
        (store, s): r["final_states"]
        for store in runs
        for s in "ae"
        for r in runs[store][s]
        if set(r["final_states"]) != {"SUCCESS"}
    }
    for (store, s), states in failed.items():
        print(f"  problem: {store} {s}: executions ended {states}")
    if args.out:
        args.out.write_text(json.dumps({"sizes": sizes, "runs": runs}, indent=1) + "\n")
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
