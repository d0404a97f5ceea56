"""Signing in to the inbox through a real OpenID Connect provider, in headless Chromium.

The provider (node-oidc-provider, tests/oidc) is at ``http://127.0.0.1:<port>``; the server's public
URL is ``http://localhost:<port>``: another site for the browser, as a real identity provider is, so
the provider's redirect back is a cross-site navigation (the flow's ``SameSite=Lax`` cookie must come
back with it, and the ``SameSite=Strict`` session must still be sent on the next page). The
approval is assigned to a group of the provider; the person signs in at the provider's login page,
lands back on the inbox, answers, and the action execution's history names the subject.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.integration.support import ProcessGroup, free_port, request, wait_until
from tests.oidc.support import (
    PASSWORD,
    PROVIDER_NAME,
    USERS,
    bearer,
    oidc_server,
    start_provider,
    ui_settings,
    user,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: A release manager: an operator of the provider, in the group the approval is assigned to.
OLGA = user(
    "olga",
    claims={"realm_access": {"roles": ["mistral-operator"]}, "project": "p1", "groups": ["release-managers"]},
    sub="5f0c6a2e-olga",
)

RELEASE = """\
version: '2.0'
release:
  output:
    decision: <% $.decision %>
  tasks:
    ask:
      action: std.approval
      timeout: 86400
      input:
        title: Ship 1.3 to production?
        description: The build passed.
        assignees: [release-managers]
        form:
          type: object
          required: [reason]
          properties:
            reason: {type: string, title: Reason, minLength: 3}
      publish:
        decision: <% task().result.decision %>
"""


def _h1(browser: WebDriver) -> str:
    try:
        return str(browser.find_element(By.TAG_NAME, "h1").text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def _field(browser: WebDriver, label: str) -> Any:
    found = browser.find_element(By.XPATH, f"//label[starts-with(normalize-space(.), '{label}')]")
    return browser.find_element(By.ID, found.get_attribute("for"))


def test_a_release_manager_signs_in_at_the_provider_and_answers_from_the_inbox(
    processes: ProcessGroup, browser: WebDriver, screenshot: Callable[[str], None]
) -> None:
    port = free_port()
    public_url = f"http://localhost:{port}"
    provider = start_provider(
        processes, users=(*USERS, OLGA), redirect_uris=[f"{public_url}/ui/oidc/callback"]
    )
    server = oidc_server(processes, provider, port=port, public_url=public_url, **ui_settings())
    admin = bearer(provider.token("ada"))
    uploaded = server.api.call(
        "POST", "/v2/workflows", headers={**admin, "Content-Type": "text/plain"}, data=RELEASE.encode()
    )
    assert uploaded.status == 201, uploaded.body
    started = server.api.call("POST", "/v2/executions", {"workflow_name": "release"}, headers=admin)
    assert started.status == 201, started.body
    ex_id = started.json()["id"]

    browser.get(f"{public_url}/ui")
    assert urlsplit(browser.current_url).path == "/ui/login"  # sent to sign in
    screenshot("sign-in")
    browser.find_element(By.LINK_TEXT, f"Sign in with {PROVIDER_NAME}").click()

    wait_until(lambda: _h1(browser) == "Sign in to mistral", "the provider's login page")
    assert browser.current_url.startswith(provider.issuer)
    _field(browser, "Username").send_keys("olga")
    _field(browser, "Password").send_keys(PASSWORD + Keys.ENTER)

    wait_until(lambda: _h1(browser) == "Inbox", "the inbox, back from the provider")
    assert browser.current_url == f"{public_url}/ui"
    assert "Signed in as 5f0c6a2e-olga (operator)" in browser.find_element(By.TAG_NAME, "header").text
    cookies = {c["name"]: c for c in browser.get_cookies()}
    assert "mistral_core_oidc" not in cookies  # the sign-in is spent
    assert cookies["mistral_core_session"]["sameSite"] == "Strict"
    assert cookies["mistral_core_session"]["httpOnly"]
    screenshot("inbox-oidc")

    browser.find_element(By.LINK_TEXT, "Ship 1.3 to production?").click()
    wait_until(lambda: _h1(browser) == "Ship 1.3 to production?", "the approval's page")
    _field(browser, "Reason").send_keys("Checked the canary")
    browser.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    wait_until(lambda: "Decision:" in browser.page_source, "the decision shown")

    wait_until(
        lambda: server.api.call("GET", f"/v2/executions/{ex_id}", headers=admin).json()["state"] == "SUCCESS",
        "the workflow to end",
    )
    tasks = server.api.call("GET", f"/v2/executions/{ex_id}/tasks", headers=admin).json()["tasks"]
    actions = server.api.call("GET", f"/v2/tasks/{tasks[0]['id']}/action_executions", headers=admin).json()[
        "action_executions"
    ]
    history = server.api.call(
        "GET", f"/v2/action_executions/{actions[0]['id']}/history", headers=admin
    ).json()["history"]
    accepted = [entry for entry in history if entry["outcome"] == "accepted"]
    assert [entry["by"] for entry in accepted] == ["5f0c6a2e-olga via the approval page"]
    assert request("GET", f"{server.base_url}/v2/executions/{ex_id}").status == 401  # auth is on
