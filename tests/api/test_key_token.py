"""The token endpoint: an API key's name and secret for an access token, as python-mistralclient's
keycloak-oidc auth type asks for one; and what the key then opens."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest

from mistral_core.auth.keys import KeyAuthenticator, create_key
from mistral_core.persistence import MemoryStore
from tests.api.support import Api
from tests.api.test_openapi import _json_schema

TOKEN = "/realms/some-project/protocol/openid-connect/token"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def keyed() -> Api:
    """The API with authentication by keys on."""
    return Api(authenticators=lambda store: [KeyAuthenticator(store)])


def _ask(api: Api, **fields: str) -> Any:
    return api.client.simulate_post(TOKEN, body=urlencode(fields), content_type=FORM)


def _grant(username: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password, "client_id": "mistral"}


def test_a_keys_name_and_secret_give_the_secret_as_a_bearer_token(keyed: Api) -> None:
    _, secret = create_key(keyed.store, "ci", "reader")

    answer = _ask(keyed, **_grant("ci", secret), scope="profile")

    assert answer.status_code == 200, answer.text
    assert answer.json == {"access_token": secret, "token_type": "Bearer", "scope": "profile"}
    assert answer.headers["cache-control"] == "no-store"
    token = answer.json["access_token"]
    assert keyed.get("/v2/workflows", headers={"X-Auth-Token": token, "X-Project-Id": "x"}).status_code == 200


def test_the_answer_is_what_the_document_says(keyed: Api) -> None:
    _, secret = create_key(keyed.store, "ci", "reader")
    document = keyed.get("/v2/openapi.json", headers={"X-Auth-Token": secret}).json
    operation = document["paths"]["/realms/{realm}/protocol/openid-connect/token"]["post"]
    components = _json_schema(document["components"])

    answer = _ask(keyed, **_grant("ci", secret))
    schema = _json_schema(operation["responses"]["200"]["content"]["application/json"]["schema"])
    jsonschema.Draft7Validator({**schema, "components": components}).validate(answer.json)
    form = operation["requestBody"]["content"][FORM]["schema"]
    jsonschema.Draft7Validator(form).validate(_grant("ci", secret))


def test_a_bad_pair_is_401_and_names_neither(keyed: Api) -> None:
    _, secret = create_key(keyed.store, "ci", "admin")
    _, other = create_key(keyed.store, "cd", "reader")

    for username, password in (("cd", secret), ("ci", other), ("ci", "mck_" + "x" * 43), ("ci", "guess")):
        answer = _ask(keyed, **_grant(username, password))
        assert answer.status_code == 401, (username, answer.text)
        assert password not in answer.text
    assert _ask(keyed, **_grant("cd", secret)).json["faultstring"] == "Invalid key name or secret"


def test_a_revoked_key_gets_no_token(keyed: Api) -> None:
    _, secret = create_key(keyed.store, "ci", "admin")
    keyed.store.revoke_api_key("ci")

    answer = _ask(keyed, **_grant("ci", secret))
    assert answer.status_code == 401
    assert answer.json["faultstring"] == "The API key ci was revoked"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"grant_type": "client_credentials", "username": "ci", "password": "p"}, "Unsupported grant_type"),
        ({"username": "ci", "password": "p"}, "Unsupported grant_type"),
        ({"grant_type": "password", "password": "p"}, "needs username"),
        ({"grant_type": "password", "username": "ci", "password": ""}, "needs username"),
    ],
)
def test_a_request_that_is_not_a_password_grant_is_400(
    keyed: Api, fields: dict[str, str], message: str
) -> None:
    answer = _ask(keyed, **fields)
    assert answer.status_code == 400
    assert message in answer.json["faultstring"]


def test_a_form_that_is_not_text_or_has_thousands_of_fields_is_400_at_once(keyed: Api) -> None:
    not_text = keyed.client.simulate_post(TOKEN, body=b"username=\xff\xfe", content_type=FORM)
    many = keyed.client.simulate_post(TOKEN, body="&".join(f"f{i}=1" for i in range(1000)), content_type=FORM)
    huge = keyed.client.simulate_post(TOKEN, body="a=" + "x" * 10_000, content_type=FORM)

    assert (not_text.status_code, many.status_code, huge.status_code) == (400, 400, 413)


def test_without_keys_there_is_no_token_to_get() -> None:
    api = Api()
    store = MemoryStore()
    _, secret = create_key(store, "ci", "admin")

    answer = _ask(api, **_grant("ci", secret))
    assert answer.status_code == 404
    assert "takes no API keys" in answer.json["faultstring"]
