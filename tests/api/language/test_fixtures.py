"""Every construct of the workflow language v2, each shown by a YAML fixture run through the REST API.

The fixtures are in ``fixtures/`` (see ``support.py`` for their format): upload the documents,
start the execution, push async results, skip tasks, pause and resume, then compare the end
state, output and task states with what the fixture expects.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.language.support import Fixture, case_params, fixtures, is_within, refusal, run_case

RUNNABLE = fixtures()
REFUSED = fixtures("invalid")


@pytest.mark.parametrize(("fixture", "case"), list(case_params(RUNNABLE)))
def test_case(fixture: Fixture, case: dict[str, Any]) -> None:
    run_case(fixture, case)


def refused_params(xfail_key: str) -> list[Any]:
    """The refused fixtures, xfail(strict) where ``xfail`` (or ``xfail_key``) says why."""
    params = []
    for fixture in REFUSED:
        reasons = [fixture.spec[k] for k in ("xfail", xfail_key) if k in fixture.spec]
        marks = [pytest.mark.xfail(strict=True, reason=reasons[0])] if reasons else []
        params.append(pytest.param(fixture, id=fixture.name, marks=marks))
    return params


@pytest.mark.parametrize("fixture", refused_params("xfail"))
def test_refused_at_upload_naming_a_path_and_a_line(fixture: Fixture) -> None:
    """A 400 saying ``line N: <path>: <problem>``, the path the offending value's or one above it."""
    expected = fixture.spec["refused"]
    found = refusal(fixture)
    assert is_within(expected["path"], found.path), found
    assert found.line <= expected["line"], found


@pytest.mark.parametrize("fixture", refused_params("exact_xfail"))
def test_refused_at_upload_naming_the_offending_line(fixture: Fixture) -> None:
    """The path and line are those of the offending value itself (not of the key holding it)."""
    expected = fixture.spec["refused"]
    found = refusal(fixture)
    assert (found.line, found.path) == (expected["line"], expected["path"]), found


def test_every_fixture_is_used() -> None:
    assert all(f.cases for f in RUNNABLE), [f.name for f in RUNNABLE if not f.cases]
    assert all("refused" in f.spec for f in REFUSED), [f.name for f in REFUSED if "refused" not in f.spec]
