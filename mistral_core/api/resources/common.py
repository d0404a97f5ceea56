"""What list responders share: Mistral's list envelope with its ``next`` link."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from mistral_core.api.querying import ListRequest
from mistral_core.api.serializers import View

R = TypeVar("R")


def envelope(key: str, items: list[dict[str, Any]], request: ListRequest) -> dict[str, Any]:
    """``{key: items}``, plus ``"next"`` when the page is full."""
    document: dict[str, Any] = {key: items}
    link = request.next_link(items)
    if link is not None:
        document["next"] = link
    return document


def page_document(
    key: str, records: Sequence[R], request: ListRequest, default: View[R], full: View[R]
) -> dict[str, Any]:
    """The envelope of one page of records.

    Args:
        key: the envelope's key (``executions``).
        records: the page.
        request: the parsed list request (its ``fields`` narrow ``full``).
        default: the view used when no ``fields`` were asked.
        full: every field of the resource.
    """
    view = default if request.fields is None else full.only(request.fields)
    return envelope(key, view.render_all(records), request)
