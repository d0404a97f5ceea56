"""The ids of new records: version 7 UUIDs, in the order they were made (to the millisecond)."""

from __future__ import annotations

import time
import uuid

from mistral_core.model.ids import new_id
from mistral_core.testing import TestEngine


def test_an_id_is_a_version_7_uuid_in_its_usual_text_form() -> None:
    text = new_id()
    parsed = uuid.UUID(text)
    assert str(parsed) == text and len(text) == 36
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_an_id_begins_with_the_millisecond_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid.UUID(new_id()).int >> 80
    after = time.time_ns() // 1_000_000
    assert before <= made <= after


def test_ids_made_later_sort_after_earlier_ones() -> None:
    first = new_id()
    time.sleep(0.002)
    assert new_id() > first


def test_ids_do_not_repeat_within_a_millisecond() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    random_parts = {uuid.UUID(i).int & ((1 << 62) - 1) for i in ids}
    assert len(random_parts) == len(ids)


def test_the_engine_gives_its_records_such_ids() -> None:
    test = TestEngine()
    test.engine.definitions.create_workflows(
        "version: '2.0'\nwf:\n  tasks:\n    one:\n      action: std.noop\n"
    )
    ex = test.engine.executions.start("wf")
    test.runner.drain()
    (task,) = test.store.task_executions_of(ex.id)
    assert uuid.UUID(ex.id).version == 7
    assert uuid.UUID(task.id).version == 7
