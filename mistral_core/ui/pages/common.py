"""What the pages share: reading a posted form, the errors shown as pages."""

from __future__ import annotations

import falcon

from mistral_core.errors import InputError
from mistral_core.ui.forms import read_form

#: The largest form a page accepts (an approval's values and a few words).
MAX_FORM_BYTES = 65_536
#: The longest page to go back to after signing in.
MAX_NEXT = 2048


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
    """Where to go after signing in: a page of the UI on this server, as a relative path of printable
    ASCII (anything else, an absolute or scheme-relative URL above all: the inbox). No open redirect."""
    if not target or len(target) > MAX_NEXT or not (target == "/ui" or target.startswith(("/ui/", "/ui?"))):
        return "/ui"
    if "\\" in target or any(not 0x20 < ord(c) < 0x7F for c in target):
        return "/ui"
    return target
