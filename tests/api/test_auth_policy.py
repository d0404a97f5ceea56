"""The role table names every endpoint of the API: a new route cannot be forgotten."""

from __future__ import annotations

from mistral_core.api.routes import endpoints
from mistral_core.auth.policy import CALLBACK_ROUTES, REQUIRED


def test_every_endpoint_has_a_role_and_only_the_entry_points_are_public() -> None:
    named = {(path, method) for path, method, _ in endpoints()}

    assert named == set(REQUIRED), "add the new route and method to mistral_core.auth.policy.REQUIRED"
    token = ("/realms/{realm}/protocol/openid-connect/token", "POST")  # a key's name and secret, as a form
    info = ("/info", "GET")  # public in Mistral too: what the deployment chose to publish (setting info_file)
    public = {("/", "GET"), ("/v2", "GET"), info, token}
    assert {key for key, role in REQUIRED.items() if role is None} == public
    assert named >= CALLBACK_ROUTES


def test_the_pages_have_their_own_table_and_only_a_waits_page_goes_by_its_link() -> None:
    from mistral_core.auth.policy import LINK_PAGES, UI_PAGES, is_ui
    from mistral_core.ui.routes import endpoints as pages

    assert set(pages()) == set(UI_PAGES) | LINK_PAGES, "name the new page in UI_PAGES (or LINK_PAGES)"
    assert not (set(UI_PAGES) | LINK_PAGES) & set(REQUIRED)
    assert all(is_ui(path) for path, _ in set(UI_PAGES) | LINK_PAGES)
    assert not any(is_ui(path) for path, _ in REQUIRED)
    assert {path for path, _ in LINK_PAGES} == {"/ui/respond/{action_ex_id}"}
