"""What the pages share: reading a posted form, the errors shown as pages."""

from __future__ import annotations

import falcon

from mistral_core.errors import InputError
from mistral_core.ui.forms import read_form

#: The largest form a page accepts (an approval's values and a few words).
MAX_FORM_BYTES = 65_536


def posted(req: falcon.Request, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The fields of the form ``req`` posts.

    Raises:
        InputError: a form larger than ``limit`` bytes, or not a form.
    """
    if req.content_length is not None and req.content_length > limit:
        raise InputError(f"A form is at most {limit} bytes")
    raw = req.bounded_stream.read(limit + 1)
    if len(raw) > limit:
        raise InputError(f"A form is at most {limit} bytes")
    return read_form(raw)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of the UI on this server (anything else: the inbox)."""
    if not target or not target.startswith("/ui") or target.startswith("//") or "\\" in target:
        return "/ui"
    if any(ord(c) < 0x20 for c in target) or len(target) > 2048:
        return "/ui"
    return target
