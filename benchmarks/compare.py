#!/usr/bin/env python3
"""Several deployments and revisions side by side: run.py against each, interleaved, over N rounds.

    .venv/bin/python benchmarks/compare.py                        # the default set below, 3 rounds
    .venv/bin/python benchmarks/compare.py --targets sqlite@f0a2091,sqlite --rounds 8 --scenarios ac
    .venv/bin/python benchmarks/compare.py --targets pg@f0a2091,split --a-executions 300

A target is ``KIND[@REV]`` or ``split[:NAME=VALUE...]`` (settings of the split's processes, e.g.
``split:executor_threads=64``): ``sqlite`` (``mistral-core serve`` over a new SQLite file), ``pg``
(``serve`` over PostgreSQL, one process), ``split`` (``mistral-core api`` under gunicorn, engines
and executors over RabbitMQ and PostgreSQL; see run.py ``--split``); ``@REV`` serves the code of
that git revision (``run.py --rev``; 0.1.0 is f0a2091; it has no split deployment). Every run
gets a fresh server: a new SQLite file, a new PostgreSQL schema, a new RabbitMQ vhost (made and
dropped here). Each round runs every target once (``run.py --repeat 1``), the order rotated from
round to round so that a drift of the machine falls on all alike; the table shows each figure's
median over the rounds, and its ratio to the first target over the same database (SQLite; or
PostgreSQL, one process or split: the split is compared with the first ``pg`` target).
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KINDS = ("sqlite", "pg", "split")
DEFAULT_TARGETS = "sqlite@f0a2091,sqlite,pg@f0a2091,pg,split"
#: (scenario, figure, label) of the table, in order.
FIGURES = (
    ("a", "transitions_per_s", "a: task transitions/s"),
    ("a", "server_cpu_ms_per_unit", "a: server CPU per execution (10 transitions), ms"),
    ("c", "round_trips_per_s", "c: round trips/s"),
    ("c", "put_to_success_p50_ms", "c: PUT -> SUCCESS p50, ms"),
    ("c", "put_to_success_p95_ms", "c: PUT -> SUCCESS p95, ms"),
    ("c", "server_cpu_ms_per_unit", "c: server CPU per round trip, ms"),
    ("b", "seconds", "b: seconds"),
    ("e", "ms_per_step", "e: ms per step"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", default=DEFAULT_TARGETS, help=f"KIND[@REV],... [{DEFAULT_TARGETS}]")
    p.add_argument("--rounds", type=int, default=3, help="runs of each target, interleaved [3]")
    p.add_argument("--scenarios", default="ac", help="scenarios of run.py [ac]")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test", help="PostgreSQL database")
    p.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672", help="RabbitMQ, without a vhost")
    p.add_argument("--workers", type=int, default=2, help="split: gunicorn workers [2]")
    p.add_argument("--engines", type=int, default=1, help="split: engine processes [1]")
    p.add_argument("--executors", type=int, default=1, help="split: executor processes [1]")
    p.add_argument("--out", type=Path, help="every run's figures and the medians as JSON")
    p.add_argument("--from", dest="saved", type=Path, help="print the tables of a run saved with --out")
    p.add_argument(
        "run_args", nargs="*", help="more options for run.py, after -- (e.g. -- --a-executions 300)"
    )
    args = p.parse_args(argv)
    args.target_list = [t.strip() for t in args.targets.split(",") if t.strip()]
    for target in args.target_list:
        kind, _, rev = target.split(":")[0].partition("@")
        if kind not in KINDS:
            p.error(f"a target is KIND[@REV] with KIND one of {', '.join(KINDS)}, not {target!r}")
        if kind == "split" and rev:
            p.error(f"{target}: a revision's split deployment is not supported (0.1.0 has none)")
    if args.rounds < 1 or not args.target_list:
        p.error("--rounds must be 1 or more, --targets must name at least one")
    return args


def log(text: str) -> None:
    """A progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def pg_schema(database: str) -> Iterator[str]:
    """The URL of a new schema of ``database`` (its search_path), dropped afterwards."""
    name = f"mc_bench_{uuid.uuid4().hex[:10]}"
    _psql(database, f'CREATE SCHEMA "{name}"')
    try:
        yield f"{database}?options=-csearch_path%3D{name}"
    finally:
        _psql(database, f'DROP SCHEMA "{name}" CASCADE')


def _psql(database: str, sql: str) -> None:
    subprocess.run(["psql", "-q", database, "-c", sql], check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def vhost(amqp: str) -> Iterator[str]:
    """The URL of a new RabbitMQ vhost (guest may do everything there), deleted afterwards."""
    name = f"mc_bench_{uuid.uuid4().hex[:10]}"
    _ctl("add_vhost", name)
    try:
        _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"{amqp.rstrip('/')}/{name}"
    finally:
        _ctl("delete_vhost", name)


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def run_target(args: argparse.Namespace, target: str, out: Path) -> dict[str, Any]:
    """One run.py run of every scenario against a fresh deployment of ``target``; its JSON."""
    kind, _, rev = target.split(":")[0].partition("@")
    settings = [f"--setting={setting}" for setting in target.split(":")[1:]]
    argv = [sys.executable, str(HERE / "run.py"), "--repeat", "1", "--scenarios", args.scenarios]
    argv += ["--out", str(out), *(["--rev", rev] if rev else []), *args.run_args]
    with contextlib.ExitStack() as stack:
        if kind in ("pg", "split"):
            argv += ["--database-url", stack.enter_context(pg_schema(args.pg))]
        if kind == "split":
            argv += ["--split", "--transport", stack.enter_context(vhost(args.amqp))]
            argv += ["--workers", str(args.workers), "--engines", str(args.engines)]
            argv += ["--executors", str(args.executors), *settings]
        done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0 or not out.exists():
        log(f"{target}: run.py failed ({done.returncode}): {done.stdout[-800:]}{done.stderr[-800:]}")
        return {}
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def figures_of(result: dict[str, Any]) -> dict[tuple[str, str], float]:
    """(scenario, figure) -> value of a run.py result of one run per scenario."""
    found: dict[tuple[str, str], float] = {}
    for scenario, runs in result.get("runs", {}).get("1x", {}).items():
        for run in runs:
            for key, value in run.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    found[(scenario, key)] = float(value)
    return found


Figures = dict[tuple[str, str], float]


def table(args: argparse.Namespace, collected: dict[str, dict[int, Figures]]) -> str:
    """The medians of each figure per target, and each target's ratio to its base (:func:`_base_of`)."""
    targets = args.target_list
    medians = {t: _medians(list(runs.values())) for t, runs in collected.items()}
    pairs = _pairs(targets)
    header = ["figure (median)", *targets, *[f"{t} / {b}" for t, b in pairs]]
    rows = []
    for scenario, figure, label in _figures(args):
        key = (scenario, figure)
        values = [medians[t].get(key) for t in targets]
        ratios = [_ratio(medians[t].get(key), medians[b].get(key)) for t, b in pairs]
        rows.append([label, *[_fmt(v) for v in values], *ratios])
    rows.append(["runs", *[str(len(collected[t])) for t in targets], *[""] * len(pairs)])
    return _render(header, rows)


def round_ratios(args: argparse.Namespace, collected: dict[str, dict[int, Figures]]) -> str:
    """Each target's ratio to its base within each round (the two ran minutes apart, so a drift of
    the machine falls on both): the median of those ratios, and the lowest and highest."""
    pairs = _pairs(args.target_list)
    header = ["ratio within a round: median (lowest-highest)", *[f"{t} / {b}" for t, b in pairs]]
    rows = []
    for scenario, figure, label in _figures(args):
        key = (scenario, figure)
        cells = []
        for target, base in pairs:
            ratios = sorted(
                runs[key] / collected[base][rnd][key]
                for rnd, runs in collected[target].items()
                if key in runs and rnd in collected[base] and collected[base][rnd].get(key)
            )
            cells.append(
                f"{statistics.median(ratios):.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})" if ratios else "n/a"
            )
        rows.append([label, *cells])
    return _render(header, rows)


def _medians(runs: list[Figures]) -> dict[tuple[str, str], float]:
    return {key: statistics.median(v) for key in _keys(runs) if (v := [r[key] for r in runs if key in r])}


def _pairs(targets: list[str]) -> list[tuple[str, str]]:
    return [(t, b) for t in targets if (b := _base_of(t, targets)) != t]


def _figures(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    return [f for f in FIGURES if f[0] in args.scenarios]


def _render(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _base_of(target: str, targets: list[str]) -> str:
    """What ``target`` is compared with: the first target over the same database (SQLite; or
    PostgreSQL, one process or split)."""
    sqlite = target.startswith("sqlite")
    return next(t for t in targets if t.startswith("sqlite") == sqlite)


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}" if value is not None and base else "n/a"


def _keys(runs: list[Figures]) -> set[tuple[str, str]]:
    return {key for run in runs for key in run}


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3f}" if value < 10 else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    """Run the rounds (or read a saved run: ``--from``), print the tables."""
    args = parse_args(argv)
    if args.saved is not None:
        return _report_saved(args)
    targets = args.target_list
    collected: dict[str, dict[int, Figures]] = {t: {} for t in targets}
    raw: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
    rounds: dict[str, list[int]] = {t: [] for t in targets}
    load_start = _load()
    with tempfile.TemporaryDirectory(prefix="mc-compare-") as tmp:
        for rnd in range(args.rounds):
            order = targets[rnd % len(targets) :] + targets[: rnd % len(targets)]
            for target in order:
                out = Path(tmp) / f"{rnd}-{len(raw[target])}-{abs(hash(target))}.json"
                result = run_target(args, target, out)
                if result:
                    raw[target].append(result)
                    rounds[target].append(rnd)
                    collected[target][rnd] = figures_of(result)
                    heads = ", ".join(f"{label.split(':')[0]} {_fmt(v)}" for label, v in _headline(result))
                    log(f"round {rnd + 1}/{args.rounds} {target}: {heads}")
    loads = f"load average {' '.join(load_start)} at start, {' '.join(_load())} at end"
    print(f"\n{args.rounds} rounds, interleaved; {loads}")
    print(table(args, collected))
    print()
    print(round_ratios(args, collected))
    if args.out:
        saved = {
            "targets": targets,
            "runs": raw,
            "rounds": rounds,
            "scenarios": args.scenarios,
            "load": loads,
        }
        args.out.write_text(json.dumps(saved, indent=1, default=str) + "\n")
    return 0 if all(collected.values()) else 1


def _report_saved(args: argparse.Namespace) -> int:
    """Print the tables of a run saved with ``--out`` (its targets and scenarios, not the options')."""
    saved = json.loads(args.saved.read_text())
    args.target_list = saved["targets"]
    args.scenarios = saved.get("scenarios", args.scenarios)
    collected: dict[str, dict[int, Figures]] = {}
    for target, results in saved["runs"].items():
        numbers = saved.get("rounds", {}).get(target, range(len(results)))  # older files: none failed
        collected[target] = {rnd: figures_of(result) for rnd, result in zip(numbers, results, strict=True)}
    print(f"{args.saved}: {saved.get('load', '')}")
    print(table(args, collected))
    print()
    print(round_ratios(args, collected))
    return 0


def _load() -> list[str]:
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def _headline(result: dict[str, Any]) -> list[tuple[str, float]]:
    figures = figures_of(result)
    return [(label, figures[(s, f)]) for s, f, label in FIGURES[:1] + FIGURES[2:4] if (s, f) in figures]


if __name__ == "__main__":
    sys.exit(main())
