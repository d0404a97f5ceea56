"""Every construct of the workflow language v2, each shown by a YAML fixture run through the REST API.

The fixtures are in ``fixtures/`` (see ``support.py`` for their format): upload the documents,
start the execution, push async results, skip tasks, pause and resume, then compare the end
state, output and task states with what the fixture expects.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.language.support import Fixture, case_params, check_refused, fixtures, run_case

RUNNABLE = fixtures()
REFUSED = fixtures("invalid")


@pytest.mark.parametrize(("fixture", "case"), list(case_params(RUNNABLE)))
def test_case(fixture: Fixture, case: dict[str, Any]) -> None:
    run_case(fixture, case)


@pytest.mark.parametrize("fixture", REFUSED, ids=[f.name for f in REFUSED])
def test_refused_at_upload_naming_the_path_and_the_line(fixture: Fixture) -> None:
    check_refused(fixture)


def test_every_fixture_is_used() -> None:
    assert all(f.cases for f in RUNNABLE), [f.name for f in RUNNABLE if not f.cases]
    assert all("refused" in f.spec for f in REFUSED), [f.name for f in REFUSED if "refused" not in f.spec]
