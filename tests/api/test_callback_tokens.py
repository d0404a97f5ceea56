"""The callback token of an async action execution, through the API with authentication on.

The real engine over the in-memory store, actions run inline, a manual clock (expiry and task
timeouts are driven by moving it), keys made as ``mistral-core keys create`` makes them. The
async test action keeps the context it was given, so the test holds the token exactly as a
third party would receive it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar

import falcon
import falcon.testing
import pytest

from mistral_core.actions.base import Action, ActionContext
from mistral_core.actions.registry import ActionRegistry
from mistral_core.api import create_app, errors
from mistral_core.auth.callbacks import CallbackAuthenticator
from mistral_core.auth.credentials import digest
from mistral_core.auth.keys import KeyAuthenticator, create_key
from mistral_core.auth.middleware import AuthMiddleware
from mistral_core.executor import Executor
from mistral_core.model import State
from mistral_core.persistence.memory import MemoryStore
from mistral_core.scheduler import CronTab, Scheduler
from mistral_core.services.engine import Engine
from mistral_core.services.history import HISTORY_LIMIT
from mistral_core.testing import InlineRunner, ManualClock
from tests.api.support import PUBLIC_URL, assert_fault

WAITS = """---
version: '2.0'
waits:
  tasks:
    wait:
      action: hand.off
      timeout: 3600
"""
TWO_WAITS = """---
version: '2.0'
two_waits:
  tasks:
    first:
      action: hand.off
    second:
      action: hand.off
"""
SYNC = """---
version: '2.0'
sync_only:
  tasks:
    quick:
      action: quick
"""


class HandOff(Action):
    """Hands the work off; keeps the context it was given (what a third party would be told)."""

    contexts: ClassVar[dict[str, Any]] = {}

    def run(self, context: ActionContext) -> None:
        HandOff.contexts[str(context.execution.action_execution_id)] = context.execution

    def is_sync(self) -> bool:
        return False


class Quick(Action):
    """Synchronous, and keeps its context too (it must get no token)."""

    def run(self, context: ActionContext) -> int:
        HandOff.contexts[str(context.execution.action_execution_id)] = context.execution
        return 1


class Server:
    """The app with authentication on (keys and callback tokens), and three keys."""

    def __init__(self, max_age: dt.timedelta = dt.timedelta(days=30), auth: bool = True) -> None:
        HandOff.contexts.clear()
        self.clock = ManualClock()
        self.store = MemoryStore(clock=self.clock)
        registry = ActionRegistry.from_classes({"hand.off": HandOff, "quick": Quick})
        self.runner = InlineRunner(Executor(registry, PUBLIC_URL))
        self.engine = Engine(
            self.store,
            registry,
            self.runner,
            clock=self.clock,
            cron=CronTab(),
            callback_token_max_age=max_age,
        )
        self.runner.engine = self.engine
        self.scheduler = Scheduler(self.store, self.engine.timers, clock=self.clock, heartbeat_every=None)
        authenticators = [KeyAuthenticator(self.store), CallbackAuthenticator(self.store, self.clock)]
        app = create_app(self.engine, public_url=PUBLIC_URL, authenticators=authenticators if auth else ())
        self.client = falcon.testing.TestClient(app)
        self.admin = create_key(self.store, "boss", "admin")[1]
        self.operator = create_key(self.store, "ops", "operator")[1]
        self.reader = create_key(self.store, "eyes", "reader")[1]
        for text in (WAITS, TWO_WAITS, SYNC):
            self.engine.definitions.create_workflows(text)

    def call(
        self, method: str, path: str, secret: str | None, body: Any = None, how: str = "X-Auth-Token"
    ) -> Any:
        headers = {}
        if secret is not None:
            headers = {"Authorization": f"Bearer {secret}"} if how == "bearer" else {how: secret}
        if body is not None:
            return self.client.simulate_request(method, path, headers=headers, json=body)
        return self.client.simulate_request(method, path, headers=headers)

    def start(self, workflow: str = "waits") -> list[str]:
        """Start a workflow; the ids of the action executions it started, in order."""
        answer = self.call("POST", "/v2/executions", self.operator, {"workflow_name": workflow})
        assert answer.status_code == 201, answer.text
        self.runner.drain()
        tasks = self.store.task_executions_of(answer.json["id"])
        return [a.id for t in tasks for a in self.store.action_executions_of(t.id)]

    def token(self, action_ex_id: str) -> str:
        token: str = HandOff.contexts[action_ex_id].callback_token
        return token

    def push(self, action_ex_id: str, secret: str | None, state: str = "SUCCESS", output: Any = 1) -> Any:
        return self.call(
            "PUT", f"/v2/action_executions/{action_ex_id}", secret, {"state": state, "output": output}
        )

    def history(self, action_ex_id: str) -> list[dict[str, Any]]:
        answer = self.call("GET", f"/v2/action_executions/{action_ex_id}/history", self.reader)
        assert answer.status_code == 200, answer.text
        entries: list[dict[str, Any]] = answer.json["history"]
        return entries

    def advance(self, seconds: float) -> None:
        """Move the clock; fire the timers that fell due."""
        self.clock.advance(seconds)
        while self.scheduler.run_once():
            self.runner.drain()


@pytest.fixture
def server() -> Server:
    return Server()


# -- minting ----------------------------------------------------------------------------------------


def test_each_async_action_gets_its_own_token_of_which_only_the_hash_is_stored(server: Server) -> None:
    first, second = server.start("two_waits")
    (quick,) = server.start("sync_only")

    tokens = {server.token(first), server.token(second)}
    assert len(tokens) == 2
    for action_ex_id in (first, second):
        token = server.token(action_ex_id)
        assert token.startswith("mcb_") and len(token) == 4 + 43  # 256 random bits
        stored = server.store.get_action_execution(action_ex_id)
        assert stored.callback_token_hash == digest(token)
        assert stored.callback_token_expires_at == server.clock.now() + dt.timedelta(days=30)
        assert token not in repr(stored) and token not in repr(HandOff.contexts[action_ex_id])
        assert server.store.action_execution_by_token(digest(token)) == stored
    assert HandOff.contexts[quick].callback_token is None
    assert server.store.get_action_execution(quick).callback_token_hash is None


# -- scope ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["Mistral-Callback-Token", "X-Auth-Token", "bearer"])
def test_the_token_reads_and_completes_its_own_action_and_nothing_else(server: Server, how: str) -> None:
    mine, other = server.start("two_waits")
    token = server.token(mine)

    own = server.call("GET", f"/v2/action_executions/{mine}", token, how=how)
    assert own.status_code == 200 and own.json["id"] == mine
    assert server.call("GET", f"/v2/action-executions/{mine}", token, how=how).status_code == 200
    for method, path in (
        ("GET", f"/v2/action_executions/{other}"),
        ("GET", f"/v2/action_executions/{mine}/history"),
        ("DELETE", f"/v2/action_executions/{mine}/token"),
        ("GET", "/v2/action_executions"),
        ("GET", "/v2/executions"),
        ("GET", "/v2/workflows"),
        ("POST", "/v2/executions"),
    ):
        answer = server.call(method, path, token, {"workflow_name": "waits"}, how=how)
        assert_fault(answer, 403, f"only for reading and completing action execution {mine}")
    refused = server.call("PUT", f"/v2/action_executions/{other}", token, {"state": "SUCCESS"}, how=how)
    assert_fault(refused, 403, mine)
    assert server.store.get_action_execution(other).state is State.RUNNING

    done = server.call(
        "POST", f"/v2/action-executions/{mine}", token, {"state": "SUCCESS", "output": 7}, how=how
    )
    assert done.status_code == 200, done.text
    assert json.loads(done.json["output"]) == {"result": 7}


def test_the_token_pushes_results_only_never_pauses_or_resumes(server: Server) -> None:
    (mine,) = server.start()

    refused = server.push(mine, server.token(mine), "PAUSED")

    assert_fault(refused, 403, "pushes its action's result only", "PAUSED")
    assert server.store.get_action_execution(mine).state is State.RUNNING
    assert [(e["outcome"], e["state"], e["by"]) for e in server.history(mine)] == [
        ("rejected", "PAUSED", "callback-token")
    ]


def test_a_garbage_or_unknown_token_is_401(server: Server) -> None:
    (mine,) = server.start()

    for secret in ("mcb_" + "A" * 43, "mcb_", "mcb_é"):
        answer = server.push(mine, secret)
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert server.history(mine) == []  # a secret nobody has says nothing about who sent it


# -- after the action ended -------------------------------------------------------------------------


def test_after_the_end_only_the_same_result_again_is_accepted(server: Server) -> None:
    (mine,) = server.start()
    token = server.token(mine)
    assert server.push(mine, token, "SUCCESS", {"sum": 3}).status_code == 200

    again = server.push(mine, token, "SUCCESS", {"sum": 3})
    other = server.push(mine, token, "SUCCESS", {"sum": 4})
    read = server.call("GET", f"/v2/action_executions/{mine}", token)
    paused = server.push(mine, token, "PAUSED")

    assert again.status_code == 200 and json.loads(again.json["output"]) == {"result": {"sum": 3}}
    assert_fault(other, 409, "already SUCCESS", "cannot be changed")
    assert_fault(read, 403, "is SUCCESS", "only push the same result again")
    assert_fault(paused, 403, "result only")
    outcomes = [(e["outcome"], e["state"], e["by"]) for e in server.history(mine)]
    assert outcomes == [
        ("accepted", "SUCCESS", "callback-token"),
        ("repeated", "SUCCESS", "callback-token"),
        ("rejected", "SUCCESS", "callback-token"),
        ("rejected", "PAUSED", "callback-token"),
    ]


# -- revocation and expiry --------------------------------------------------------------------------


def test_an_operator_revokes_a_token_and_it_is_refused_from_then_on(server: Server) -> None:
    (mine,) = server.start()
    token = server.token(mine)
    path = f"/v2/action_executions/{mine}/token"

    assert_fault(server.call("DELETE", path, server.reader), 403, "needs the role operator")
    revoked = server.call("DELETE", path, server.operator)
    assert revoked.status_code == 204 and not revoked.content
    assert server.call("DELETE", path, server.operator).status_code == 204  # idempotent
    assert_fault(server.call("DELETE", "/v2/action_executions/nope/token", server.operator), 404)

    refused = server.push(mine, token)
    assert_fault(refused, 401, f"callback token of action execution {mine} expired or was revoked")
    assert_fault(server.call("GET", f"/v2/action_executions/{mine}", token), 401)
    assert server.store.get_action_execution(mine).state is State.RUNNING
    (entry,) = server.history(mine)
    assert (entry["outcome"], entry["state"], entry["by"]) == ("rejected", "SUCCESS", "callback-token")
    assert "expired or was revoked" in entry["reason"]
    assert server.push(mine, server.operator).status_code == 200  # keys still complete it


def test_a_token_expires_at_its_maximum_age() -> None:
    server = Server(max_age=dt.timedelta(seconds=60))
    (mine,) = server.start()
    token = server.token(mine)
    assert server.call("GET", f"/v2/action_executions/{mine}", token).status_code == 200

    server.clock.advance(60)

    assert_fault(server.push(mine, token), 401, "expired or was revoked at 2030-01-01 12:01:00")
    assert server.store.get_action_execution(mine).state is State.RUNNING
    assert [e["outcome"] for e in server.history(mine)] == ["rejected"]


# -- the history ------------------------------------------------------------------------------------


def test_the_history_of_a_conflicting_push(server: Server) -> None:
    (mine,) = server.start()
    token = server.token(mine)

    assert server.push(mine, token, "SUCCESS", 1).status_code == 200
    assert server.push(mine, server.operator, "ERROR", "no").status_code == 409

    first, second = server.history(mine)
    assert set(first) == {"at", "outcome", "reason", "state", "by", "remote_addr"}
    assert (first["outcome"], first["state"], first["by"], first["reason"]) == (
        "accepted",
        "SUCCESS",
        "callback-token",
        None,
    )
    assert (second["outcome"], second["state"], second["by"]) == ("rejected", "ERROR", "ops")
    assert second["reason"] == f"Action execution {mine} is already SUCCESS; its result cannot be changed"
    assert first["remote_addr"] == second["remote_addr"] == "127.0.0.1"
    assert first["at"] == "2030-01-01 12:00:00.000"


def test_the_history_of_a_late_push_after_the_timeout(server: Server) -> None:
    (mine,) = server.start()
    token = server.token(mine)

    server.advance(3600)
    late = server.push(mine, token, "SUCCESS", 1)

    assert_fault(late, 409, "already ERROR")
    (entry,) = server.history(mine)
    assert (entry["outcome"], entry["state"], entry["by"]) == ("rejected", "SUCCESS", "callback-token")
    assert "already ERROR" in entry["reason"] and "timed out" in entry["reason"].lower()


def test_refusals_at_the_door_name_who_was_refused(server: Server) -> None:
    mine, other = server.start("two_waits")
    (quick,) = server.start("sync_only")

    assert server.push(mine, server.token(other)).status_code == 403  # another action's token
    assert server.push(mine, server.reader).status_code == 403  # a reader may not push
    assert server.push(quick, server.operator, "SUCCESS", 2).status_code == 409  # a finished sync action

    reasons = [(e["by"], e["state"], e["reason"]) for e in server.history(mine)]
    assert reasons == [
        (
            "callback-token",
            "SUCCESS",
            f"This callback token is only for reading and completing action execution {other}",
        ),
        (
            "eyes",
            "SUCCESS",
            "PUT /v2/action_executions/{action_ex_id} needs the role operator; eyes is reader",
        ),
    ]
    (sync,) = server.history(quick)
    assert (sync["outcome"], sync["by"]) == ("rejected", "ops") and "already SUCCESS" in sync["reason"]
    assert_fault(server.call("GET", "/v2/action_executions/nope/history", server.reader), 404)


def test_the_history_is_bounded_but_keeps_the_accepted_result(server: Server) -> None:
    (mine,) = server.start()
    stranger = server.token(server.start()[0])

    for _ in range(HISTORY_LIMIT + 20):
        assert server.push(mine, stranger).status_code == 403
    assert server.push(mine, server.token(mine), "SUCCESS", 5).status_code == 200
    assert server.push(mine, server.operator, "ERROR").status_code == 409

    entries = server.history(mine)
    assert len(entries) == HISTORY_LIMIT + 1
    assert {e["outcome"] for e in entries[:HISTORY_LIMIT]} == {"rejected"}
    assert (entries[-1]["outcome"], entries[-1]["by"]) == ("accepted", "callback-token")


# -- authentication off -----------------------------------------------------------------------------


def test_with_authentication_off_tokens_are_minted_sent_and_ignored() -> None:
    server = Server(auth=False)
    mine, other = server.start("two_waits")

    assert server.token(mine).startswith("mcb_")
    pushed = server.push(other, server.token(mine))  # the wrong token: ignored, like any credential

    assert pushed.status_code == 200, pushed.text
    (entry,) = server.history(other)
    assert (entry["outcome"], entry["by"]) == ("accepted", "anonymous")


def test_a_failing_refusal_listener_leaves_the_refusal_as_it_was(server: Server) -> None:
    (mine,) = server.start()

    def broken(*args: Any) -> None:
        raise RuntimeError("the history is on fire")

    app = falcon.App(middleware=[AuthMiddleware([CallbackAuthenticator(server.store, server.clock)], broken)])
    errors.install(app)
    app.add_route("/v2/action_executions/{action_ex_id}", object())
    client = falcon.testing.TestClient(app)

    answer = client.simulate_put(f"/v2/action_executions/{mine}", headers={"X-Auth-Token": "mcb_nobody"})

    assert answer.status_code == 401
