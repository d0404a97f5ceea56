"""The harness's report: every difference, per fixture, in a markdown table; deliberate ones marked."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tests.differential.compare import Difference

DELIBERATE_FILE = Path(__file__).with_name("deliberate.yaml")


@dataclasses.dataclass(frozen=True)
class Deliberate:
    """A difference kept on purpose: which cases and fields (patterns, ``*`` any text), and why; with
    ``only_when``, only when the two values are exactly those (``{ours: ..., theirs: ...}``)."""

    case: str
    where: str
    reason: str
    only_when: dict[str, Any] | None = None

    def covers(self, difference: Difference) -> bool:
        """Whether this declaration covers ``difference``."""
        if self.only_when is not None and (difference.ours, difference.theirs) != (
            self.only_when.get("ours"),
            self.only_when.get("theirs"),
        ):
            return False
        return _matches(difference.case, self.case) and _matches(difference.where, self.where)


def _matches(text: str, pattern: str) -> bool:
    """``pattern`` with ``*`` for any text; everything else, brackets too, stands for itself."""
    return (
        re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), text, re.DOTALL) is not None
    )


def load_deliberate(path: Path = DELIBERATE_FILE) -> list[Deliberate]:
    """The declared differences (``deliberate.yaml``: a list of ``{case, where, reason, only_when}``)."""
    entries: list[dict[str, Any]] = yaml.safe_load(path.read_text()) or []
    return [Deliberate(e["case"], e.get("where", "*"), e["reason"], e.get("only_when")) for e in entries]


def reason_for(difference: Difference, declared: Iterable[Deliberate]) -> str | None:
    """Why the difference is deliberate, or None when it is not declared."""
    return next((d.reason for d in declared if d.covers(difference)), None)


@dataclasses.dataclass
class Report:
    """Differences collected over a run; written as markdown."""

    ours: str
    theirs: str
    cases: dict[str, list[Difference]] = dataclasses.field(default_factory=dict)
    #: What each server showed, per case (``MISTRAL_DIFF_OBSERVATIONS`` writes them as JSON).
    observations: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def add(self, case: str, differences: list[Difference], seen: dict[str, Any] | None = None) -> None:
        """Record a case and its differences (none is recorded too), and what the servers showed."""
        self.cases[case] = differences
        if seen is not None:
            self.observations[case] = seen

    def markdown(self, declared: list[Deliberate]) -> str:
        """The whole report."""
        fixtures: dict[str, dict[str, list[Difference]]] = {}
        for case, differences in self.cases.items():
            fixtures.setdefault(case.split(":", 1)[0], {})[case] = differences
        every = [d for ds in self.cases.values() for d in ds]
        undeclared = [d for d in every if reason_for(d, declared) is None]
        lines = [
            "# Differential report: mistral-core against Mistral 23",
            "",
            f"- mistral-core: `{self.ours}`; Mistral: `{self.theirs}`",
            f"- cases run: {len(self.cases)}; cases with a difference: "
            f"{sum(1 for ds in self.cases.values() if ds)}",
            f"- differences: {len(every)}; declared deliberate: {len(every) - len(undeclared)}; "
            f"**not declared: {len(undeclared)}**",
            "",
            "| fixture | cases | differing | differences | not declared |",
            "| --- | --- | --- | --- | --- |",
        ]
        for fixture, cases in sorted(fixtures.items()):
            diffs = [d for ds in cases.values() for d in ds]
            open_ = [d for d in diffs if reason_for(d, declared) is None]
            differing = sum(1 for ds in cases.values() if ds)
            lines.append(f"| {fixture} | {len(cases)} | {differing} | {len(diffs)} | {len(open_)} |")
        for fixture, cases in sorted(fixtures.items()):
            diffs = [d for ds in cases.values() for d in ds]
            if not diffs:
                continue
            lines += ["", f"## {fixture}", "", "| case | where | mistral-core | Mistral 23 | deliberate |"]
            lines.append("| --- | --- | --- | --- | --- |")
            for d in diffs:
                reason = reason_for(d, declared) or "**no**"
                cells = [d.case.split(":", 1)[1], d.where, d.short(d.ours), d.short(d.theirs), reason]
                lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
