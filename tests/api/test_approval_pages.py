"""The pages of approvals through the app (in memory): the signed link, GET that changes nothing,
the form and its errors, quorums, expiry, CSRF, sign-in with a key, the inbox, the execution page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit

import falcon.testing
import pytest

from mistral_core.api import create_app
from mistral_core.approvals.wiring import HumanWaits
from mistral_core.auth.keys import KeyAuthenticator, create_key
from mistral_core.auth.policy import LINK_PAGES, UI_PAGES
from mistral_core.testing import TestEngine
from mistral_core.ui.routes import endpoints

PUBLIC_URL = "http://127.0.0.1:8989"
FORM = "application/x-www-form-urlencoded"
WF = """\
version: '2.0'
release:
  input:
    - approvals: 1
    - assignees: []
  output:
    decision: <% $.decision %>
  tasks:
    ask:
      action: std.approval
      timeout: 3600
      input:
        title: Ship it?
        description: "Notes: **bold** <script>alert(1)</script> [x](javascript:alert(1))"
        form:
          type: object
          required: [reason]
          properties:
            reason: {type: string, title: Why, minLength: 3}
            risk: {type: integer, title: Risk, minimum: 1, maximum: 5}
        required_approvals: <% $.approvals %>
        assignees: <% $.assignees %>
      publish:
        decision: <% task().result.decision %>
"""


class Pages:
    """The app over a test engine, with the pages' helpers."""

    def __init__(self, auth: bool = False) -> None:
        self.t = TestEngine()
        self.t.engine.definitions.create_workflows(WF)
        self.human = HumanWaits.build(self.t.engine, PUBLIC_URL, clock=self.t.clock)
        authenticators = [KeyAuthenticator(self.t.store)] if auth else []
        app = create_app(
            self.t.engine, public_url=PUBLIC_URL, authenticators=authenticators, human=self.human
        )
        self.client = falcon.testing.TestClient(app)

    def start(self, **wf_input: Any) -> tuple[str, str]:
        ex = self.t.run("release", wf_input)
        return ex.id, self.t.running_action(ex.id, "ask")

    def link(self, wait_id: str, **headers: str) -> str:
        document = self.client.simulate_get(f"/v2/action_executions/{wait_id}", headers=headers).json
        url: str = document["links"]["respond"]
        assert url.startswith(f"{PUBLIC_URL}/ui/respond/{wait_id}?exp=")
        parts = urlsplit(url)
        return f"{parts.path}?{parts.query}"

    def get(self, path: str, cookie: str = "") -> falcon.testing.Result:
        return self.client.simulate_get(path, headers={"Cookie": cookie} if cookie else {})

    def post(
        self, path: str, fields: dict[str, str], cookie: str = "", **headers: str
    ) -> falcon.testing.Result:
        all_headers = {**headers, **({"Cookie": cookie} if cookie else {})}
        result = self.client.simulate_post(
            path, body=urlencode(fields), content_type=FORM, headers=all_headers
        )
        self.t.runner.drain()
        return result

    def answer(self, path: str, decision: str, cookie: str = "", **fields: str) -> falcon.testing.Result:
        page = self.get(path, cookie)
        assert page.status_code == 200, page.text
        return self.post(path, {"csrf": csrf(page.text), "decision": decision, **fields}, cookie)

    def sign_in(self, name: str, role: str = "operator") -> str:
        _, secret = create_key(self.t.store, name, role)
        result = self.post("/ui/login", {"secret": secret, "next": "/ui"})
        assert result.status_code == 303, result.text
        cookie = result.cookies["mistral_core_session"]
        assert cookie.http_only and cookie.same_site == "Strict" and cookie.path == "/ui"
        assert secret not in cookie.value
        return f"mistral_core_session={cookie.value}"


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


@pytest.fixture
def pages() -> Pages:
    return Pages()


def test_every_page_is_in_the_policy() -> None:
    assert set(endpoints()) == set(UI_PAGES) | LINK_PAGES


def test_the_link_opens_a_page_and_a_get_changes_nothing(pages: Pages) -> None:
    ex_id, wait_id = pages.start()
    path = pages.link(wait_id)

    for _ in range(3):  # a mail scanner, a preview, the person
        page = pages.get(path)
        assert page.status_code == 200
    html = page.text
    assert "<h1>Ship it?</h1>" in html
    assert "<strong>bold</strong>" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert 'href="javascript:' not in html  # left as text, never a link
    assert '<label for="field-0">Why <span class="required">(required)</span></label>' in html
    assert 'name="decision" value="approve"' in html and 'name="decision" value="reject"' in html
    assert page.headers["referrer-policy"] == "same-origin"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert pages.human.approvals.wait(wait_id).responses == ()
    assert pages.t.execution(ex_id).state.value == "RUNNING"


def test_errors_are_shown_next_to_their_fields_then_an_answer_moves_the_workflow_on(pages: Pages) -> None:
    ex_id, wait_id = pages.start()
    path = pages.link(wait_id)

    refused = pages.answer(path, "approve", name="ana", **{"v.risk": "9"})

    assert refused.status_code == 400
    assert 'id="field-0-error">This field is required' in refused.text
    assert 'id="field-1-error">9 is greater than the maximum of 5' in refused.text
    assert 'aria-invalid="true"' in refused.text and 'value="9"' in refused.text  # kept as typed
    done = pages.answer(path, "approve", name="ana", **{"v.reason": "tested", "v.risk": "2"})
    assert done.status_code == 303 and done.headers["location"] == path
    assert pages.t.execution(ex_id).output == {"decision": "approve"}
    after = pages.get(path)
    assert (
        "Decision: <strong>approve</strong>" in after.text and "<strong>ana</strong>: approve" in after.text
    )
    assert 'name="decision"' not in after.text


def test_two_names_make_a_quorum_of_two_and_a_name_counts_once(pages: Pages) -> None:
    ex_id, wait_id = pages.start(approvals=2)
    path = pages.link(wait_id)

    assert pages.answer(path, "approve", name="ana", **{"v.reason": "one"}).status_code == 303
    again = pages.answer(path, "approve", name="ana", **{"v.reason": "one more"})
    assert again.status_code == 409 and "ana answered this approval already" in again.text
    assert "1 of 2 approvals so far" in pages.get(path).text
    assert pages.answer(path, "approve", name="bob", **{"v.reason": "two"}).status_code == 303
    assert pages.t.execution(ex_id).state.value == "SUCCESS"


def test_a_link_that_is_tampered_with_or_expired_opens_nothing(pages: Pages) -> None:
    _, wait_id = pages.start()
    path = pages.link(wait_id)
    other = pages.start()[1]

    assert pages.get(path.replace("sig=", "sig=x")).status_code == 403
    assert pages.get(path.replace(wait_id, other)).status_code == 403
    assert pages.get(f"/ui/respond/{wait_id}").status_code == 403
    pages.t.clock.advance(3601)  # the task's timeout: the link ends with the wait
    expired = pages.get(path)
    assert expired.status_code == 410 and "This link has expired" in expired.text
    assert pages.post(path, {"decision": "approve", "name": "x"}).status_code == 410


def test_a_post_needs_the_pages_token_and_a_cross_site_post_is_refused(pages: Pages) -> None:
    _, wait_id = pages.start()
    path = pages.link(wait_id)
    token = csrf(pages.get(path).text)

    forged = pages.post(path, {"decision": "approve", "name": "eve", "v.reason": "forged"})
    assert forged.status_code == 403 and "out of date" in forged.text
    cross = pages.post(
        path,
        {"csrf": token, "decision": "approve", "name": "eve", "v.reason": "x" * 5},
        Origin="https://evil.example",
    )
    assert cross.status_code == 403
    assert pages.human.approvals.wait(wait_id).responses == ()


def test_what_a_stranger_posts_is_bounded(pages: Pages) -> None:
    _, wait_id = pages.start()
    path = pages.link(wait_id)
    token = csrf(pages.get(path).text)

    too_big = pages.post(path, {"csrf": token, "decision": "approve", "v.reason": "x" * 70_000})
    assert too_big.status_code == 400 and "at most 65536 bytes" in too_big.text
    many = pages.post(path, {"csrf": token, **{f"f{i}": "1" for i in range(300)}})
    assert many.status_code == 400
    not_an_option = pages.post(path, {"csrf": token, "decision": "maybe", "name": "a", "v.reason": "fine"})
    assert not_an_option.status_code == 400 and "is not an option" in not_an_option.text
    assert pages.get("/ui/respond/nothing?exp=1&sig=x").status_code == 403


def test_without_auth_operators_see_the_link_and_the_inbox_lists_the_wait(pages: Pages) -> None:
    ex_id, wait_id = pages.start()

    inbox = pages.get("/ui")
    assert inbox.status_code == 200 and "Ship it?" in inbox.text
    assert f"/ui/respond/{wait_id}?exp=" in inbox.text
    execution = pages.get(f"/ui/executions/{ex_id}")
    assert execution.status_code == 200 and '<th scope="row">ask</th>' in execution.text
    assert pages.get("/ui/executions/nothing").status_code == 404
    assert pages.get("/ui/static/style.css").headers["content-type"].startswith("text/css")


@pytest.fixture
def keyed() -> Pages:
    return Pages(auth=True)


def test_with_auth_a_page_asks_to_sign_in_and_answers_as_the_key(keyed: Pages) -> None:
    ex_id, wait_id = keyed.start(assignees=["alice"])
    _, admin_secret = create_key(keyed.t.store, "root", "admin")
    path = keyed.link(wait_id, **{"X-Auth-Token": admin_secret})

    anonymous = keyed.get(path)
    assert anonymous.status_code == 200 and "Sign in to answer" in anonymous.text
    assert 'name="decision"' not in anonymous.text
    assert keyed.get("/ui").status_code == 303  # the inbox needs a session
    bob = keyed.sign_in("bob")
    assert "not among those who may answer" in keyed.get(path, bob).text
    alice = keyed.sign_in("alice")
    assert "Ship it?" in keyed.get("/ui", alice).text and "Ship it?" not in keyed.get("/ui", bob).text

    assert keyed.answer(path, "reject", alice, **{"v.reason": "not today"}).status_code == 303
    assert keyed.t.execution(ex_id).output == {"decision": "reject"}
    responders = keyed.human.approvals.wait(wait_id).result["responders"]  # type: ignore[index]
    assert [(r["by"], r["decision"]) for r in responders] == [("alice", "reject")]
    (pushed,) = [e for e in keyed.t.engine.history.of(wait_id)[1] if e.outcome == "accepted"]
    assert pushed.by == "alice via the approval page"  # the history names the approver


def test_readers_see_no_link_and_a_revoked_key_ends_its_session(keyed: Pages) -> None:
    _, wait_id = keyed.start()
    _, reader = create_key(keyed.t.store, "watcher", "reader")
    seen = keyed.client.simulate_get(
        f"/v2/action_executions/{wait_id}", headers={"X-Auth-Token": reader}
    ).json
    assert "links" not in seen

    cookie = keyed.sign_in("ops")
    assert keyed.get("/ui", cookie).status_code == 200
    keyed.t.store.revoke_api_key("ops")
    assert keyed.get("/ui", cookie).status_code == 303
    bad = keyed.post("/ui/login", {"secret": "mck_nope", "next": "/ui"})
    assert bad.status_code == 401 and "not valid" in bad.text
    assert keyed.post("/ui/login", {"secret": "x", "next": "https://evil.example"}).status_code == 401
    out = keyed.post("/ui/logout", {}, keyed.sign_in("other"))
    assert out.status_code == 303 and out.cookies["mistral_core_session"].value == ""


def test_a_session_cookie_that_is_not_ours_signs_nobody_in(keyed: Pages) -> None:
    cookie = keyed.sign_in("ops")
    value = cookie.split("=", 1)[1]
    body, signature = value.split(".")

    for forged in (f"{body}x.{signature}", f"{body}.{signature[::-1]}", "garbage", "." * 5000, f"{body}"):
        assert keyed.get("/ui", f"mistral_core_session={forged}").status_code == 303
    assert keyed.get("/ui", cookie).status_code == 200
    huge = keyed.post("/ui/login", {"secret": "mck_" + "x" * 20_000, "next": "/ui"})
    assert huge.status_code == 401


@pytest.mark.parametrize("auth", [False, True])
def test_without_a_provider_set_up_there_is_no_sign_in_through_one(auth: bool) -> None:
    pages = Pages(auth=auth)
    assert "Sign in with" not in pages.get("/ui/login").text

    for path in ("/ui/oidc/start?next=/ui", "/ui/oidc/callback?code=c&state=s"):
        answer = pages.get(path)
        assert answer.status_code == 404
        assert "Signing in through an identity provider is not set up on this server" in answer.text
        assert "mistral_core_session" not in answer.cookies


JSON_FIELD_WF = """\
version: '2.0'
settings:
  tasks:
    ask:
      action: std.approval
      input:
        title: Which settings?
        form: {type: object, properties: {settings: {type: object}}}
"""


@pytest.mark.parametrize(
    "text",
    ["[" * 3000 + "]" * 3000, '{"a": NaN}', '{"a": 1e999}', '{"a": Infinity}'],
    ids=["nested-3000-deep", "nan", "overflow", "infinity"],
)
def test_a_json_field_that_json_cannot_hold_is_an_error_next_to_it(pages: Pages, text: str) -> None:
    pages.t.engine.definitions.create_workflows(JSON_FIELD_WF)
    ex = pages.t.run("settings", {})
    path = pages.link(pages.t.running_action(ex.id, "ask"))

    refused = pages.answer(path, "approve", name="ana", **{"v.settings": text})

    assert refused.status_code == 400, refused.text
    assert 'id="field-0-error">not valid JSON' in refused.text
    assert pages.human.approvals.wait(pages.t.running_action(ex.id, "ask")).responses == ()
