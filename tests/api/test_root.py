"""``GET /`` and ``GET /v2``: the version documents, with links from the public URL."""

from __future__ import annotations

import pytest

from tests.api.support import PUBLIC_URL, Api


def test_versions_document_links_the_public_url(api: Api) -> None:
    result = api.get("/", headers={"Accept": "application/json"})

    assert result.status_code == 200
    assert result.headers["content-type"] == "application/json"
    assert result.json == {
        "versions": [
            {
                "id": "v2.0",
                "status": "CURRENT",
                "links": [{"href": f"{PUBLIC_URL}/v2", "target": "v2", "rel": "self"}],
            }
        ]
    }


@pytest.mark.parametrize("path", ["/v2", "/v2/"])
def test_v2_root_gives_its_uri(api: Api, path: str) -> None:
    result = api.get(path)

    assert result.status_code == 200
    assert result.json == {"uri": f"{PUBLIC_URL}/v2"}
