"""What mistral-core run shows: a task that started and ended between two polls still shows both."""

from __future__ import annotations

import io

from mistral_core.progress import PlainView, Watcher, plain_line, watch
from mistral_core.testing import TestEngine

WF = """\
version: '2.0'
quick:
  tasks:
    items:
      with-items: i in <% [1, 2, 3] %>
      action: std.echo output=<% $.i %>
      on-success: [wait]
    wait:
      action: std.async_noop
"""


def test_a_task_seen_first_when_it_ended_shows_its_start_its_last_count_and_its_end() -> None:
    t = TestEngine()
    t.engine.definitions.create_workflows(WF)
    ex = t.run("quick")  # 'items' ran to its end before anyone looked
    watcher = Watcher(t.store, ex.id, lambda action_ex: [f"complete {action_ex.id}"])

    lines = [plain_line(change) for change in watcher.poll()]

    wait_id = t.running_action(ex.id, "wait")
    assert lines == [
        "task items RUNNING",
        "task items items 3/3",
        "task items SUCCESS",
        "task wait RUNNING",
        f"task wait waits: action execution {wait_id}",
    ]
    assert watcher.poll() == []  # nothing new


def test_watch_prints_plain_lines_until_the_workflow_ends() -> None:
    t = TestEngine()
    t.engine.definitions.create_workflows(WF)
    ex = t.run("quick")
    out = io.StringIO()
    wait_id = t.running_action(ex.id, "wait")

    final = watch(
        Watcher(t.store, ex.id, lambda a: ["complete it"]),
        PlainView(out),
        sleep=lambda seconds: t.push(wait_id, "SUCCESS", "done") and None,
    )

    assert final.state.value == "SUCCESS"
    assert out.getvalue().splitlines()[-3:] == [
        "  complete it",
        "task wait SUCCESS",
        "workflow quick SUCCESS",
    ]
