"""The role table names every endpoint of the API: a new route cannot be forgotten."""

from __future__ import annotations

from mistral_core.api.routes import endpoints
from mistral_core.auth.policy import CALLBACK_ROUTES, REQUIRED


def test_every_endpoint_has_a_role_and_only_the_entry_points_are_public() -> None:
    named = {(path, method) for path, method, _ in endpoints()}

    assert named == set(REQUIRED), "add the new route and method to mistral_core.auth.policy.REQUIRED"
    token = ("/realms/{realm}/protocol/openid-connect/token", "POST")  # a key's name and secret, as a form
    assert {key for key, role in REQUIRED.items() if role is None} == {("/", "GET"), ("/v2", "GET"), token}
    assert named >= CALLBACK_ROUTES
