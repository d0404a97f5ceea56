"""``mistral-core keys``: create, list and revoke API keys, straight in the database.

The commands open the database the server uses (``--database-url`` or the setting): keys can be
made before the first ``serve`` (an empty database gets the schema) and while servers run (a
revocation reaches them within a second, see :mod:`mistral_core.auth.keys`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import click

from mistral_core.auth.keys import REVALIDATE_SECONDS, create_key
from mistral_core.config import Settings
from mistral_core.errors import MistralError
from mistral_core.model import ApiKey

_DATABASE_HELP = "The database [env MISTRAL_CORE_DATABASE_URL]."


@contextlib.contextmanager
def _store(database_url: str | None) -> Iterator[Any]:
    """The store of ``database_url`` (or the setting's), closed afterwards; errors as one line."""
    from mistral_core.persistence.sql import open_serving_store

    try:
        store = open_serving_store(Settings.load({"database_url": database_url}).database_url)
        try:
            yield store
        finally:
            store.close()
    except MistralError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def keys() -> None:
    """API keys: `serve --auth keys` accepts their secrets (X-Auth-Token or Authorization: Bearer)."""


@keys.command("create")
@click.option("--name", required=True, help="Unique: 1-64 letters, digits, '.', '_', '@', '-'.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "operator", "reader"], case_sensitive=False),
    help="reader: reads; operator: also runs and completes executions; admin: everything.",
)
@click.option("--project", default=None, help="Its project [the default project: its admins see all].")
@click.option("--database-url", default=None, help=_DATABASE_HELP)
def create(name: str, role: str, project: str | None, database_url: str | None) -> None:
    """Make a key; its secret is printed once, on the last line (only its hash is kept)."""
    with _store(database_url) as store:
        key, secret = create_key(store, name, role, project)
    click.echo(f"created key {key.name} (role {key.role}, project {key.project_id}); its secret:")
    click.echo(secret)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--database-url", default=None, help=_DATABASE_HELP)
def list_keys(as_json: bool, database_url: str | None) -> None:
    """List every key, revoked ones included (never their secrets)."""
    with _store(database_url) as store:
        found: list[ApiKey] = store.list_api_keys()
    rows = [_row(key) for key in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    header = {"name": "NAME", "role": "ROLE", "project": "PROJECT", "created": "CREATED"}
    header |= {"last_used": "LAST USED", "revoked": "REVOKED"}
    table = [header, *({k: v or "-" for k, v in row.items()} for row in rows)]
    widths = {column: max(len(line[column]) for line in table) for column in header}
    for line in table:
        click.echo("  ".join(f"{line[c]:<{widths[c]}}" for c in header).rstrip())


@keys.command("revoke")
@click.argument("name")
@click.option("--database-url", default=None, help=_DATABASE_HELP)
def revoke(name: str, database_url: str | None) -> None:
    """Revoke key NAME: it stops working on every server within a second (its name stays taken)."""
    with _store(database_url) as store:
        was_revoked = store.get_api_key(name).revoked
        key: ApiKey = store.revoke_api_key(name)
    if was_revoked:
        click.echo(f"key {key.name} was revoked already, at {_when(key.revoked_at)}")
        return
    click.echo(f"revoked key {key.name}: servers refuse it within {REVALIDATE_SECONDS:g} s")


def _row(key: ApiKey) -> dict[str, str | None]:
    return {
        "name": key.name,
        "role": key.role,
        "project": key.project_id,
        "created": _when(key.created_at),
        "last_used": _when(key.last_used_at),
        "revoked": _when(key.revoked_at),
    }


def _when(at: dt.datetime | None) -> str | None:
    """A time as ``2026-12-06 16:43:02Z`` (UTC), or None."""
    return None if at is None else at.replace(microsecond=0).isoformat(" ") + "Z"
