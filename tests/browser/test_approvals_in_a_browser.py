"""Approvals in a real browser (headless Chromium) against real ``mistral-core serve`` processes.

Open the link an operator reads from the API, fill the form, see the validation errors next to
their fields, answer, and watch the workflow go on; a two-person quorum through sign-in with keys
and the inbox; a scanner-style GET that changes nothing; an expired link.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.integration.support import Api, ProcessGroup, ServerProcess, create_key, request, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RELEASE = """\
version: '2.0'
release:
  input:
    - approvals: 1
  output:
    decision: <% $.decision %>
    values: <% $.values %>
  tasks:
    build:
      action: std.echo output="built"
      on-success: [ask]
    ask:
      action: std.approval
      timeout: 86400
      input:
        title: Ship 1.2 to production?
        description: |
          The build **passed** on every platform.
          Read the [release notes](https://example.com/notes) before you decide.
        form:
          type: object
          required: [reason]
          properties:
            reason: {type: string, title: Reason, description: One line for the changelog., minLength: 3}
            risk: {type: integer, title: Risk from 1 to 5, minimum: 1, maximum: 5}
            canary: {type: boolean, title: Canary first}
        required_approvals: <% $.approvals %>
      publish:
        decision: <% task().result.decision %>
        values: <% task().result.values %>
      on-success: [announce]
    announce:
      action: std.echo output="announced"
"""


def _wait_link(api: Api, ex_id: str, token: str | None = None) -> tuple[str, str]:
    """The id of the execution's waiting approval and the link an operator reads of it."""
    headers = {"X-Auth-Token": token} if token else {}

    def waiting() -> tuple[str, str] | None:
        tasks = api.call("GET", f"/v2/executions/{ex_id}/tasks", headers=headers).json()["tasks"]
        ask = next((t for t in tasks if t["name"] == "ask"), None)
        if ask is None:
            return None
        actions = api.call("GET", f"/v2/tasks/{ask['id']}/action_executions", headers=headers).json()
        running = [a for a in actions["action_executions"] if a["state"] == "RUNNING"]
        if not running:
            return None
        one = api.call("GET", f"/v2/action_executions/{running[0]['id']}", headers=headers).json()
        return one["id"], one["links"]["respond"]

    return wait_until(waiting, "the approval to wait")


def _field(browser: WebDriver, label: str) -> Any:
    """The input a label names (as a screen reader finds it: by the label's ``for``)."""
    found = browser.find_element(By.XPATH, f"//label[starts-with(normalize-space(.), '{label}')]")
    return browser.find_element(By.ID, found.get_attribute("for"))


def _text(browser: WebDriver, tag: str) -> str:
    """The text of the page's first ``tag`` ("" while a new page loads)."""
    try:
        return str(browser.find_element(By.TAG_NAME, tag).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def _found(browser: WebDriver, css: str) -> Any:
    """The first element ``css`` selects, once the page shows one."""

    def find() -> Any:
        try:
            return browser.find_element(By.CSS_SELECTOR, css)
        except (NoSuchElementException, StaleElementReferenceException):
            return None

    return wait_until(find, f"the page to show {css}")


def _h1(browser: WebDriver) -> str:
    """The page's heading ("" while a new page loads)."""
    return _text(browser, "h1")


def _state(server: ServerProcess, ex_id: str, headers: dict[str, str]) -> str:
    return str(server.api.call("GET", f"/v2/executions/{ex_id}", headers=headers).json()["state"])


def _start(server: ServerProcess, token: str | None = None, **wf_input: Any) -> str:
    headers = {"X-Auth-Token": token} if token else {}
    started = server.api.call(
        "POST", "/v2/executions", {"workflow_name": "release", "input": wf_input}, headers=headers
    )
    assert started.status == 201, started.body
    ex_id: str = started.json()["id"]
    return ex_id


def test_open_the_link_see_errors_answer_and_the_workflow_goes_on(
    processes: ProcessGroup, browser: WebDriver, screenshot: Callable[[str], None]
) -> None:
    server = processes.server()
    server.api.create_workflows(RELEASE)
    ex_id = _start(server)
    _, link = _wait_link(server.api, ex_id)

    browser.get(link)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Ship 1.2 to production?"
    assert browser.find_element(By.CSS_SELECTOR, ".description strong").text == "passed"
    screenshot("approval-page")
    _field(browser, "Your name").send_keys("Ana")
    _field(browser, "Risk").send_keys("9")
    browser.find_element(By.CSS_SELECTOR, "button[value=approve]").click()

    summary = _found(browser, "[role=alert]")
    assert "There is a problem with your answer" in summary.text
    risk_error = browser.find_element(By.ID, "field-1-error").text
    assert "9 is greater than the maximum of 5" in risk_error
    assert browser.find_element(By.ID, "field-0-error").text == "This field is required"
    assert _field(browser, "Risk").get_attribute("aria-invalid") == "true"
    assert "field-1-error" in (_field(browser, "Risk").get_attribute("aria-describedby") or "")
    screenshot("approval-page-errors")

    summary.find_element(
        By.LINK_TEXT, "Reason: This field is required"
    ).click()  # the summary leads to the field
    reason = _field(browser, "Reason")
    assert browser.switch_to.active_element == reason
    reason.send_keys("All green")  # typed on the keyboard, then Tab through the form
    reason.send_keys(Keys.TAB)
    risk = browser.switch_to.active_element
    assert risk == _field(browser, "Risk")
    risk.clear()
    risk.send_keys("2")
    _field(browser, "Canary first").send_keys(Keys.SPACE)
    browser.find_element(By.CSS_SELECTOR, "button[value=approve]").send_keys(Keys.ENTER)

    wait_until(lambda: "Decision:" in _text(browser, "main"), "the decision shown")
    assert "Ana: approve" in browser.find_element(By.CSS_SELECTOR, ".outcome").text
    done = server.api.wait_finished(ex_id)
    assert done["state"] == "SUCCESS"
    assert server.api.output(ex_id) == {
        "decision": "approve",
        "values": {"reason": "All green", "risk": 2, "canary": True},
    }
    browser.get(f"{server.base_url}/ui/executions/{ex_id}")
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [row.find_element(By.TAG_NAME, "th").text for row in rows] == ["build", "ask", "announce"]
    assert all("SUCCESS" in row.text for row in rows)


def test_a_scanner_fetching_the_link_changes_nothing(processes: ProcessGroup, browser: WebDriver) -> None:
    server = processes.server()
    server.api.create_workflows(RELEASE)
    ex_id = _start(server)
    wait_id, link = _wait_link(server.api, ex_id)

    for agent in ("Microsoft Office/16.0 SafeLinks", "Barracuda Link Protection", "Slackbot-LinkExpanding"):
        fetched = request("GET", link, headers={"User-Agent": agent, "Accept": "text/html"})
        assert fetched.status == 200
    browser.get(link)  # a browser that renders it, follows nothing, clicks nothing
    request("HEAD", link)

    assert server.api.execution(ex_id)["state"] == "RUNNING"
    assert server.api.get(f"/v2/action_executions/{wait_id}")["state"] == "RUNNING"
    assert "Answers so far" not in browser.page_source


def test_two_people_sign_in_with_their_keys_and_make_a_quorum_from_the_inbox(
    processes: ProcessGroup, browser: WebDriver, screenshot: Callable[[str], None]
) -> None:
    server = processes.server(options=["--auth", "keys"])
    admin = create_key(server.database_url, "admin", "admin", processes.directory)
    secrets = {
        name: create_key(server.database_url, name, "operator", processes.directory)
        for name in ("alice", "bob")
    }
    as_admin = {"X-Auth-Token": admin}
    uploaded = server.api.call(
        "POST", "/v2/workflows", headers={**as_admin, "Content-Type": "text/plain"}, data=RELEASE.encode()
    )
    assert uploaded.status == 201, uploaded.body
    ex_id = _start(server, admin, approvals=2)
    _wait_link(server.api, ex_id, admin)

    for name in ("alice", "bob"):
        browser.delete_all_cookies()
        browser.get(f"{server.base_url}/ui")
        assert urlsplit(browser.current_url).path == "/ui/login"  # sent to sign in
        _field(browser, "API key").send_keys(secrets[name] + Keys.ENTER)
        wait_until(lambda: _h1(browser) == "Inbox", "the inbox")
        assert f"Signed in as {name}" in browser.find_element(By.TAG_NAME, "header").text
        assert all(secrets[name] not in c["value"] for c in browser.get_cookies())
        if name == "bob":
            screenshot("inbox")
        browser.find_element(By.LINK_TEXT, "Ship 1.2 to production?").click()
        _found(browser, "form.card")
        _field(browser, "Reason").send_keys(f"{name} checked")
        browser.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
        kept = "You answered this approval" if name == "alice" else "Decision:"
        wait_until(lambda: kept in browser.page_source, "the answer kept")  # noqa: B023 - used at once
        if name == "alice":
            assert "1 of 2 approvals so far" in browser.page_source
            assert _state(server, ex_id, as_admin) == "RUNNING"

    outcome = browser.find_element(By.CSS_SELECTOR, ".outcome").text
    assert "alice: approve" in outcome and "bob: approve" in outcome

    wait_until(lambda: _state(server, ex_id, as_admin) == "SUCCESS", "the workflow to end")


def test_an_expired_link_opens_nothing(processes: ProcessGroup, browser: WebDriver, tmp_path: Path) -> None:
    (processes.directory / "mistral-core.toml").write_text("respond_link_max_age = 2\n")
    server = processes.server()
    server.api.create_workflows(RELEASE)
    ex_id = _start(server)
    _, link = _wait_link(server.api, ex_id)
    browser.get(link)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Ship 1.2 to production?"

    time.sleep(2.5)  # the link's own time: it ends, the wait does not
    browser.get(link)

    assert browser.find_element(By.TAG_NAME, "h1").text == "Link expired"
    assert "This link has expired" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert request("GET", link).status == 410
    assert server.api.execution(ex_id)["state"] == "RUNNING"
    _, fresh = _wait_link(server.api, ex_id)  # an operator reads a new one
    browser.get(fresh)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Ship 1.2 to production?"
