"""Every language fixture run on mistral-core and on Mistral 23; every difference reported.

A case passes when the two servers show the same end state, output, task states, published
variables and results (see ``compare.py``), or when each difference is declared deliberate in
``deliberate.yaml`` (and in docs/api.md's table of differences).
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.language.support import Fixture, fixtures
from tests.differential.compare import compare
from tests.differential.harness import FixtureRun, Observation, Server
from tests.differential.report import Report, load_deliberate, reason_for

RUNNABLE = fixtures()
REFUSED = fixtures("invalid")
_pool = ThreadPoolExecutor(2, thread_name_prefix="differential")


class Uploaded:
    """The fixture uploaded on both servers now (cases of one fixture share its uploads)."""

    current: tuple[str, FixtureRun, FixtureRun] | None = None

    @classmethod
    def runs(cls, fixture: Fixture, ours: Server, theirs: Server) -> tuple[FixtureRun, FixtureRun]:
        if cls.current is None or cls.current[0] != fixture.name:
            cls.clean()
            runs = FixtureRun(ours, fixture), FixtureRun(theirs, fixture)
            list(_pool.map(lambda run: run.upload(), runs))
            cls.current = (fixture.name, *runs)
        return cls.current[1], cls.current[2]

    @classmethod
    def clean(cls) -> None:
        if cls.current is not None:
            list(_pool.map(lambda run: run.clean(), cls.current[1:]))
            cls.current = None


def case_params() -> list[Any]:
    return [pytest.param(f, c, id=f"{f.name}:{c['id']}") for f in RUNNABLE for c in f.cases]


def _check(case_id: str, ours: Observation, theirs: Observation, report: Report) -> None:
    differences = compare(case_id, ours, theirs)
    report.add(case_id, differences, {"ours": dataclasses.asdict(ours), "theirs": dataclasses.asdict(theirs)})
    declared = load_deliberate()
    undeclared = [d for d in differences if reason_for(d, declared) is None]
    assert not undeclared, "\n".join(
        f"{d.where}: mistral-core {d.short(d.ours)} / Mistral {d.short(d.theirs)}" for d in undeclared
    )


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize(("fixture", "case"), case_params())
def test_case(fixture: Fixture, case: dict[str, Any], servers: tuple[Server, Server], report: Report) -> None:
    ours_run, theirs_run = Uploaded.runs(fixture, *servers)
    ours, theirs = _pool.map(lambda run: run.run_case(case), (ours_run, theirs_run))
    _check(f"{fixture.name}:{case['id']}", ours, theirs, report)


@pytest.mark.integration
@pytest.mark.parametrize("fixture", [pytest.param(f, id=f.name) for f in REFUSED])
def test_refused(fixture: Fixture, servers: tuple[Server, Server], report: Report) -> None:
    """An invalid document: both servers accept or refuse each upload alike."""
    Uploaded.clean()
    runs = FixtureRun(servers[0], fixture), FixtureRun(servers[1], fixture)
    try:
        list(_pool.map(lambda run: run.upload(), runs))
    finally:
        list(_pool.map(lambda run: run.clean(), runs))
    ours, theirs = (Observation(run.server.name, uploads=run.upload_statuses) for run in runs)
    _check(f"{fixture.name}:upload", ours, theirs, report)
