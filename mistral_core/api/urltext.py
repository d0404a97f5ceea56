"""Paths and query strings must be UTF-8 text that can be stored: checked once, before routing.

Falcon decodes a path and a query string leniently (bytes that are not UTF-8 become
U+FFFD) and lets ``%00`` through as a NUL character, which PostgreSQL refuses in any
text it compares or stores. So every request's raw path and query string are checked
here, in one place, before any resource sees them: text that is not UTF-8 (an encoded
surrogate ``%ED%A0%80`` included) or a NUL is a 400 naming the part of the URL.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import falcon

from mistral_core.errors import InputError


class UrlTextCheck:
    """Falcon middleware: refuses a request whose path or query string is not storable text."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Check the raw path (as the server decoded it) and the raw query string.

        Raises:
            InputError: the path or the query string is not UTF-8, or holds a NUL (400).
        """
        path = req.env.get("PATH_INFO") or ""
        if not (path.isascii() and "\x00" not in path):
            # PEP 3333: PATH_INFO holds the decoded bytes as latin-1 characters.
            _check("path", path.encode("latin-1", "replace"))
        query = req.query_string
        if query and not (query.isascii() and "%" not in query and "\x00" not in query):
            _check("query string", unquote_to_bytes(query.encode("latin-1", "replace")))


def _check(part: str, raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"Invalid request: the {part} is not UTF-8 text") from None
    if "\x00" in text:
        raise InputError(f"Invalid request: the {part} holds a NUL character (%00)")
