"""Tables: our figures beside OpenStack Mistral 23's (reproduced in benchmarks/README.md) and the targets."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mcbench.stats import median, ratio

Figures = Mapping[str, Any]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

#: Sizes at which benchmarks.md measured Mistral 23.0 (a: executions, b: items, c: round trips,
#: d: pending actions, e: tasks).
MISTRAL_SIZES = {"a": 100, "b": 200, "c": 200, "d": 1000, "e": 100}

TITLES = {
    "a": "a. {n:,} executions x 10-task sequential std.noop chain (POSTed one after another)",
    "b": "b. one with-items task over {n:,} items of std.echo",
    "c": "c. {n:,} async round trips (create -> action RUNNING; PUT result -> execution SUCCESS)",
    "d": "d. memory and database with {n:,} pending async actions",
    "e": "e. one execution of a {n:,}-task sequential std.noop chain",
}


@dataclasses.dataclass(frozen=True)
class Target:
    """A goal of benchmarks.md: its text and the test of a figure against it."""

    text: str
    test: Callable[[float], bool]


def at_least(value: float, text: str | None = None) -> Target:
    """The figure must be ``value`` or more."""
    return Target(text or f">= {_number(value)}", lambda v: v >= value)


def at_most(value: float, text: str | None = None) -> Target:
    """The figure must be ``value`` or less."""
    return Target(text or f"<= {_number(value)}", lambda v: v <= value)


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of a table."""

    label: str
    value: float | str | None
    digits: int = 1
    mistral: str = "-"
    target: Target | None = None

    def ours(self) -> str:
        """Our figure, formatted."""
        if self.value is None:
            return "n/a"
        if isinstance(self.value, str):
            return self.value
        return _number(self.value, self.digits)

    def met(self) -> str:
        """``yes``, ``NO``, or ``-`` (no target) / ``n/a`` (no figure)."""
        if self.target is None:
            return "-"
        if not isinstance(self.value, int | float):
            return "n/a"
        return "yes" if self.target.test(self.value) else "NO"


def _number(value: float, digits: int | None = None) -> str:
    if digits is None:
        digits = 0 if float(value).is_integer() else 1
    return f"{value:,.{digits}f}"


def medians(runs: Sequence[Figures]) -> dict[str, Any]:
    """The median of every numeric figure over the runs that did not fail; texts of the first run."""
    good = [r for r in runs if "error" not in r]
    out: dict[str, Any] = {}
    for key in dict.fromkeys(k for r in good for k in r):
        values = [r.get(key) for r in good]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if numbers:
            out[key] = median(numbers)
        elif key == "not_supported":
            out[key] = next(v for v in values if v)
    return out


def _at(scenario: str, size: int, text: str) -> str:
    """Mistral's figure, with the size it was measured at when ours differs."""
    measured = MISTRAL_SIZES[scenario]
    return text if size == measured else f"{text} (at {measured:,})"


def rows_a(m: Figures, n: int) -> list[Row]:
    """Scenario a."""
    return [
        Row("task transitions/s", m.get("transitions_per_s"), 1, _at("a", n, "26.7"), at_least(2000)),
        Row("seconds, first POST -> all finished", m.get("seconds"), 3, _at("a", n, "37.5")),
        Row("seconds of POSTing", m.get("post_seconds"), 3),
        Row("server CPU per transition, ms", m.get("server_cpu_ms_per_transition"), 3),
    ]


def rows_b(m: Figures, n: int) -> list[Row]:
    """Scenario b: the target is linear, 0.1 s for 200 items (and 5 s for 10,000)."""
    limit = 0.0005 * n
    seconds = "not supported yet (below)" if m.get("not_supported") else m.get("seconds")
    return [
        Row(
            "seconds, POST -> execution finished",
            seconds,
            3,
            _at("b", n, "3.3"),
            at_most(limit, f"<= {limit:g} (0.5 ms/item)"),
        ),
        Row("items/s", m.get("items_per_s"), 0),
    ]


def rows_c(m: Figures, n: int) -> list[Row]:
    """Scenario c."""
    return [
        Row(
            "round trips/s",
            m.get("round_trips_per_s"),
            1,
            _at("c", n, "13.75"),
            at_least(1000, ">= 1,000 completions/s"),
        ),
        Row(
            "PUT -> execution SUCCESS p50, ms",
            m.get("put_to_success_p50_ms"),
            2,
            _at("c", n, "276"),
            at_most(5),
        ),
        Row(
            "PUT -> execution SUCCESS p95, ms",
            m.get("put_to_success_p95_ms"),
            2,
            _at("c", n, "420"),
            at_most(20),
        ),
        Row("PUT request p50, ms", m.get("put_p50_ms"), 2),
        Row("PUT request p95, ms", m.get("put_p95_ms"), 2),
        Row("create -> action RUNNING p50, ms", m.get("create_to_running_p50_ms"), 2),
        Row("create -> action RUNNING p95, ms", m.get("create_to_running_p95_ms"), 2),
        Row("POST execution request p50, ms", m.get("create_p50_ms"), 2),
        Row("HTTP requests per round trip (polls included)", m.get("requests_per_unit"), 1),
        Row("server CPU per round trip, ms", m.get("server_cpu_ms_per_unit"), 2),
        Row("server CPU use, cores (one process: the GIL caps it near 1)", m.get("server_cpu_cores"), 2),
    ]


def rows_d(m: Figures, n: int) -> list[Row]:
    """Scenario d: the memory targets are set at 100,000 pending; growth is scaled to ``n``."""
    growth_limit = 10 * n / 100_000
    return [
        Row("server processes", m.get("pending_processes"), 0, "6 (+ RabbitMQ)", at_most(1, "1")),
        Row("RSS idle, MiB", m.get("idle_rss_mib"), 1, "819 (+125 RabbitMQ)"),
        Row("PSS idle, MiB", m.get("idle_pss_mib"), 1),
        Row(
            f"RSS with {n:,} pending, MiB",
            m.get("pending_rss_mib"),
            1,
            _at("d", n, "833"),
            at_most(100, "<= 100 (at 100,000)"),
        ),
        Row(
            f"RSS growth idle -> {n:,} pending, MiB",
            m.get("rss_growth_mib"),
            2,
            _at("d", n, "+14"),
            at_most(growth_limit, f"<= {growth_limit:g} (10 per 100,000)"),
        ),
        Row(
            "RSS growth per pending action, bytes",
            m.get("rss_growth_bytes_per_pending"),
            0,
            "~14,700",
            at_most(10 * 1024 * 1024 / 100_000, "<= 105"),
        ),
        Row("PSS growth, MiB", m.get("pss_growth_mib"), 2),
        Row(
            "RSS at 100,000 pending (linear projection), MiB",
            m.get("rss_projected_100k_mib"),
            1,
            "-",
            at_most(100),
        ),
        Row(
            "database growth per pending action (pages in use), bytes",
            m.get("db_used_bytes_per_pending"),
            0,
            "-",
            at_most(2000, "<= 2,000"),
        ),
        Row("database files growth per pending action (+ -wal), bytes", m.get("db_bytes_per_pending"), 0),
        Row(f"seconds to POST {n:,} executions (4 clients)", m.get("post_seconds"), 2),
        Row("completions/s (PUT all -> all SUCCESS)", m.get("completions_per_s"), 1, "-", at_least(1000)),
    ]


def rows_e(m: Figures, n: int) -> list[Row]:
    """Scenario e."""
    return [
        Row("engine time per step p50, ms", m.get("ms_per_step"), 3, "-", at_most(2)),
        Row("server CPU per transition, ms", m.get("server_cpu_ms_per_transition"), 3, _at("e", n, "~38")),
        Row("seconds, POST -> execution finished", m.get("seconds"), 3),
    ]


ROWS: dict[str, Callable[[Figures, int], list[Row]]] = {
    "a": rows_a,
    "b": rows_b,
    "c": rows_c,
    "d": rows_d,
    "e": rows_e,
}

#: Cost per unit of size: flat from 1x to 10x when the cost is linear.
UNIT_COSTS: dict[str, list[tuple[str, str]]] = {
    "a": [
        ("ms_per_transition", "wall ms per transition"),
        ("server_cpu_ms_per_transition", "server CPU ms per transition"),
    ],
    "b": [("ms_per_item", "wall ms per item"), ("server_cpu_ms_per_unit", "server CPU ms per item")],
    "c": [
        ("ms_per_round_trip", "wall ms per round trip"),
        ("put_to_success_p50_ms", "PUT -> SUCCESS p50, ms"),
        ("server_cpu_ms_per_unit", "server CPU ms per round trip"),
    ],
    "d": [
        ("rss_growth_bytes_per_pending", "RSS bytes per pending action"),
        ("db_used_bytes_per_pending", "database bytes per pending action"),
        ("ms_per_completion", "ms per completion"),
    ],
    "e": [("ms_per_step", "ms per step"), ("server_cpu_ms_per_transition", "server CPU ms per transition")],
}

#: Above this ratio of the 10x cost to the 1x cost, we call it not linear (noise is about 25% a run).
LINEAR_RATIO = 2.0


def headline(scenario: str, figures: Figures) -> str:
    """One line about one run, for the progress log."""
    if "error" in figures:
        return f"FAILED: {figures['error']}"
    if figures.get("not_supported"):
        return str(figures["not_supported"])
    lines = {
        "a": "{transitions_per_s:,.0f} transitions/s, {seconds:.3f} s",
        "b": "{seconds:.3f} s, {items_per_s:,.0f} items/s",
        "c": "{round_trips_per_s:,.0f} round trips/s, PUT->SUCCESS p50 {put_to_success_p50_ms:.1f} ms "
        "p95 {put_to_success_p95_ms:.1f} ms",
        "d": "{completions_per_s:,.0f} completions/s",
        "e": "{ms_per_step:.3f} ms per step",
    }
    text = lines[scenario].format(**figures)
    if scenario == "d" and figures.get("pending_rss_mib") is not None:
        text += (
            f", RSS idle {figures['idle_rss_mib']:.1f} MiB -> pending {figures['pending_rss_mib']:.1f} MiB, "
            f"DB {figures.get('db_bytes_per_pending') or 0:,.0f} B/pending"
        )
    problems = figures.get("problems") or []
    return text + (f"  PROBLEMS: {'; '.join(problems)}" if problems else "")


def render(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with a title line."""
    widths = [max(len(str(line[i])) for line in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([title, line(header), rule, *(line(r) for r in rows)])


def scenario_table(scenario: str, size: int, runs: Sequence[Figures]) -> tuple[str, list[dict[str, Any]]]:
    """The table of one scenario at one size, and its rows as data (for the JSON file)."""
    m = medians(runs)
    rows = ROWS[scenario](m, size)
    failed = [r["error"] for r in runs if "error" in r]
    title = TITLES[scenario].format(n=size) + f"  [median of {len(runs) - len(failed)} run(s)]"
    header = ["figure", "ours", "Mistral 23 here", "target", "met?"]
    cells = [[r.label, r.ours(), r.mistral, r.target.text if r.target else "-", r.met()] for r in rows]
    text = render(title, header, cells)
    notes = [f"  run failed: {e}" for e in failed]
    notes += [f"  problem: {p}" for r in runs for p in r.get("problems") or []]
    notes += [f"  {r['not_supported']}" for r in runs if r.get("not_supported")]
    if notes:
        unique = {_UUID.sub("<id>", note): note for note in reversed(notes)}
        text += "\n" + "\n".join(reversed(unique.values()))
    data = [
        {
            "figure": r.label,
            "ours": r.value,
            "mistral": r.mistral,
            "target": r.target.text if r.target else None,
            "met": r.met(),
        }
        for r in rows
    ]
    return text, data


def linearity_table(
    results: Mapping[int, Mapping[str, Sequence[Figures]]], sizes: Mapping[str, int], scenarios: str
) -> tuple[str, list[dict[str, Any]]]:
    """Cost per unit at 1x and 10x, and their ratio (about 1 when the cost grows linearly)."""
    rows: list[list[str]] = []
    data: list[dict[str, Any]] = []
    for s in scenarios:
        small, large = medians(results[1].get(s, [])), medians(results[10].get(s, []))
        for key, label in UNIT_COSTS[s]:
            one, ten = small.get(key), large.get(key)
            r = ratio(ten, one)
            verdict = "n/a" if r is None else ("yes" if r <= LINEAR_RATIO else "NO")
            rows.append(
                [
                    f"{s}. {label}",
                    "n/a" if one is None else _number(one, 3),
                    "n/a" if ten is None else _number(ten, 3),
                    "n/a" if r is None else f"{r:.2f}",
                    verdict,
                ]
            )
            data.append(
                {"scenario": s, "figure": label, "at_1x": one, "at_10x": ten, "ratio": r, "linear": verdict}
            )
    header = ["cost per unit", "at 1x", "at 10x", "10x / 1x", f"linear? (<= {LINEAR_RATIO:g})"]
    sized = ", ".join(f"{s} {sizes[s]:,}->{sizes[s] * 10:,}" for s in scenarios)
    return render(f"Linearity: the same scenarios at 10x their size ({sized})", header, rows), data
