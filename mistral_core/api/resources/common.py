"""What responders share: the list envelope with its ``next`` link, the ``?namespace=&scope=`` of
uploads, and the answer of the ``validate`` endpoints."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import falcon

from mistral_core.api.media import bounded_name
from mistral_core.api.querying import ListRequest
from mistral_core.api.serializers import View
from mistral_core.errors import InputError, LanguageError
from mistral_core.model import Query

SCOPES = ("private", "public")

R = TypeVar("R")


def envelope(key: str, items: list[dict[str, Any]], request: ListRequest) -> dict[str, Any]:
    """``{key: items}``, plus ``"next"`` when the page is full."""
    document: dict[str, Any] = {key: items}
    link = request.next_link(items)
    if link is not None:
        document["next"] = link
    return document


def list_view(request: ListRequest, default: View[R], full: View[R]) -> View[R]:
    """The view a page is shown in: ``default``, or ``full`` narrowed to the ``fields`` asked."""
    return default if request.fields is None else full.only(request.fields)


def projected(query: Query, view: View[Any]) -> Query:
    """``query`` asking the store for only the record fields ``view`` shows (when it says which):
    a list of executions asked for ``fields=id,state`` reads two columns, not their contexts."""
    columns = view.columns
    return query if columns is None else dataclasses.replace(query, columns=columns)


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
    return envelope(key, list_view(request, default, full).render_all(records), request)


def scope_value(value: str | None, name: str = "scope") -> str:
    """A ``scope`` (``private`` when not given).

    Raises:
        InputError: not ``private`` nor ``public``.
    """
    scope = value or "private"
    if scope not in SCOPES:
        raise InputError(f"Invalid value for {name}: '{scope}'; choose from {', '.join(SCOPES)}")
    return scope


def namespace_and_scope(req: falcon.Request) -> tuple[str, str]:
    """``?namespace=&scope=`` of an upload (defaults ``""`` and ``private``).

    Raises:
        InputError: an unknown scope, a namespace over 255 characters.
    """
    namespace = bounded_name(req.get_param("namespace") or "", "parameter namespace")
    return namespace, scope_value(req.get_param("scope"), "parameter scope")


def validation_report(validate: Callable[[str], object], text: str) -> dict[str, Any]:
    """``{"valid": true}``, or ``{"valid": false, "error": ...}`` when ``validate`` raises LanguageError."""
    # An invalid document is the answer of a validate endpoint, not an error of the request.
    try:
        validate(text)
    except LanguageError as exc:
        return {"valid": False, "error": exc.message}
    return {"valid": True}
