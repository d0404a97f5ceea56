"""Templates, Markdown and the headers of every page.

Markdown is rendered by markdown-it-py (CommonMark) with raw HTML turned off: a description's
``<script>`` is shown as text, never run, and links to ``javascript:`` and the like are not made.
Every page says ``Referrer-Policy: same-origin`` (a link in a description must not carry the
signed URL of the page to another site; ``no-referrer`` would also make the browser send
``Origin: null`` with the page's own form, which the browser-origin guard rightly refuses),
``Cache-Control: no-store``, and a Content Security Policy that allows nothing but this server's
stylesheet and forms posting back to it.
"""

from __future__ import annotations

from typing import Any

import falcon
import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("mistral_core.ui", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def markdown(text: str) -> Markup:
    """``text`` (Markdown) as safe HTML: raw HTML escaped, unsafe links left out."""
    return Markup(_MARKDOWN.render(text))


_ENV.filters["markdown"] = markdown


def page(resp: falcon.Response, template: str, status: int = 200, **values: Any) -> None:
    """Answer with the page ``template`` rendered with ``values``."""
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = "text/html; charset=utf-8"
    for name, value in HEADERS.items():
        resp.set_header(name, value)
    resp.text = _ENV.get_template(template).render(**values)


def see_other(resp: falcon.Response, location: str) -> None:
    """Answer 303: the browser GETs ``location`` (after a form's POST, or to sign in)."""
    resp.status = falcon.HTTP_303
    resp.set_header("Location", location)
    resp.set_header("Cache-Control", "no-store")
    resp.text = ""
