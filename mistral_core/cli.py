"""The ``mistral-core`` command: serve, db, actions, keys; api, engine, executor (split deployment)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from mistral_core import splitcli
from mistral_core.config import Settings
from mistral_core.errors import InputError, MistralError
from mistral_core.keyadmin import keys
from mistral_core.metrics.logs import configure


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings.load(overrides)
    except MistralError as exc:
        raise click.ClickException(str(exc)) from None


def _logging(settings: Settings) -> None:
    configure(settings.log_level, settings.log_format)


@click.group()
@click.version_option(package_name="mistral-core")
def main() -> None:
    """mistral-core: workflows in Mistral's language v2, with asynchronous actions."""


@main.command()
@click.option("--host", default=None, help="Address to listen on [127.0.0.1; env MISTRAL_CORE_HOST].")
@click.option("--port", type=int, default=None, help="Port to listen on [8989; env MISTRAL_CORE_PORT].")
@click.option(
    "--database-url",
    default=None,
    help="sqlite:///file.db or postgresql://... [sqlite:///mistral-core.db; env MISTRAL_CORE_DATABASE_URL].",
)
@click.option("--public-url", default=None, help="Base URL third parties call back [http://HOST:PORT].")
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING, ERROR [INFO].")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines: text, or JSON with execution/task/action ids [text; env MISTRAL_CORE_LOG_FORMAT].",
)
@click.option(
    "--recover",
    type=click.Choice(["auto", "yes", "no"]),
    default=None,
    help="Re-run or fail what the last stop left unfinished [auto: on SQLite; env MISTRAL_CORE_RECOVER].",
)
@click.option(
    "--upgrade",
    is_flag=True,
    default=None,
    help="Upgrade a database whose schema is older first (else refuse to start) [env MISTRAL_CORE_UPGRADE].",
)
@click.option(
    "--auth",
    default=None,
    help="Credentials accepted: keys (see 'mistral-core keys'), oidc, or both comma-separated; "
    "empty: off [env MISTRAL_CORE_AUTH].",
)
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    default=None,
    help="Allow authentication off on an address other than loopback [env MISTRAL_CORE_INSECURE_NO_AUTH].",
)
def serve(
    host: str | None,
    port: int | None,
    database_url: str | None,
    public_url: str | None,
    log_level: str | None,
    log_format: str | None,
    recover: str | None,
    upgrade: bool | None,
    auth: str | None,
    insecure_no_auth: bool | None,
) -> None:
    """Run API, engine, executors and scheduler in this one process (the embedded default).

    An empty database gets the schema; an older one is refused unless --upgrade; a newer one always.
    """
    settings = _settings(
        host=host,
        port=port,
        database_url=database_url,
        public_url=public_url,
        log_level=log_level,
        log_format=log_format,
        recover=recover,
        upgrade=upgrade,
        auth=auth,
        insecure_no_auth=insecure_no_auth,
    )
    _logging(settings)
    from mistral_core import dblock, server
    from mistral_core.bootstrap import build_service

    address = f"{settings.host}:{settings.port}"
    # Refuse before touching anything: the database's lock, then the port; only then open
    # the database and recover what the last stop left unfinished.
    try:
        lock = dblock.hold(settings.database_url, f"http://{address}")
    except MistralError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        server.check_port_free(settings.host, settings.port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {address}: {exc}") from None
    try:
        service = build_service(settings)
    except MistralError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"mistral-core serving on http://{address} (database {settings.database_url})", err=True)
    if settings.transport:
        click.echo("event triggers: listening on the broker of the setting transport", err=True)
    limits = server.Limits(settings.request_threads(), settings.http_timeout, settings.max_body_bytes)
    try:
        server.serve(service.app, settings.host, settings.port, limits, on_stop=service.stop)
    except OSError as exc:  # taken between the check and granian's bind
        raise click.ClickException(f"cannot listen on {address}: {exc}") from None
    if lock is not None:
        lock.release()  # only now: the results of the last actions are applied


@main.group()
def db() -> None:
    """The database's schema: its version, its upgrade."""


@db.command()
@click.option("--database-url", default=None, help="The database [env MISTRAL_CORE_DATABASE_URL].")
def upgrade(database_url: str | None) -> None:
    """Create the schema of an empty database, or apply the steps an older one lacks (safe to repeat)."""
    from mistral_core.persistence.sql import open_store

    settings = _settings(database_url=database_url)
    try:
        store = open_store(settings.database_url)
        try:
            done = store.upgrade()
        finally:
            store.close()
    except MistralError as exc:
        raise click.ClickException(str(exc)) from None
    for line in done.lines():
        click.echo(line)


@db.command()
@click.option("--database-url", default=None, help="The database [env MISTRAL_CORE_DATABASE_URL].")
def version(database_url: str | None) -> None:
    """Print the database's schema version and the steps `db upgrade` would apply."""
    from mistral_core.persistence.migrations import LATEST_VERSION, STEPS
    from mistral_core.persistence.sql import open_store

    settings = _settings(database_url=database_url)
    try:
        store = open_store(settings.database_url)
        try:
            current = store.schema_version()
        finally:
            store.close()
    except MistralError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"database schema version {current or 'none (empty)'}; this mistral-core's: {LATEST_VERSION}")
    for step in STEPS[current:]:
        click.echo(f"pending step {step.version}: {step.description}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def actions(as_json: bool) -> None:
    """List the installed actions with is_sync and their parameters."""
    from mistral_core.actions.registry import ActionRegistry

    descriptors = ActionRegistry.from_entry_points().list()
    rows: list[dict[str, Any]] = [
        {
            "name": d.name,
            "is_sync": d.is_sync,
            "input": ", ".join(
                p.name if p.required else f"{p.name}={json.dumps(p.default)}" for p in d.params
            ),
            "description": d.description,
        }
        for d in descriptors
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for row in rows:
        click.echo(f"{row['name']:<{width}}  {'sync ' if row['is_sync'] else 'async'}  {row['input']}")


@main.command()
@click.argument("workflow_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--input", "input_json", default=None, help="The workflow's input, a JSON object: '{\"x\": 1}'."
)
@click.option("--workflow", default=None, help="Which workflow of the file (when it has several).")
@click.option(
    "--database-url",
    default=None,
    help="Keep the execution in this database [a throwaway SQLite file, deleted at the end].",
)
@click.option("--port", type=int, default=0, help="Loopback port of the API that completes waits [any free].")
def run(
    workflow_file: Path, input_json: str | None, workflow: str | None, database_url: str | None, port: int
) -> None:
    """Run a workflow to its end in this process, showing its progress; print its output (JSON).

    Exit status: 0 SUCCESS, 1 ERROR, 3 CANCELLED, 2 not run (a file or input that is not valid),
    130 interrupted. Progress goes to the standard error (plain lines when it is not a terminal).
    """
    from mistral_core.localrun import Exit, run_file

    # Errors only: a failing action's traceback (a warning of the executor) would bury the progress,
    # which shows its one-line message.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    err = sys.stderr
    try:
        wf_input = _json_object(input_json)
        code = run_file(
            workflow_file,
            wf_input,
            workflow=workflow,
            database_url=database_url,
            port=port,
            out=sys.stdout,
            err=err,
            terminal=err.isatty(),
        )
    except MistralError as exc:
        click.echo(f"Error: {exc}", err=True)
        code = Exit.NOT_RUN
    sys.exit(int(code))


def _json_object(text: str | None) -> dict[str, Any]:
    """The ``--input`` object (none: empty).

    Raises:
        InputError: not a JSON object.
    """
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputError(f"--input is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InputError(f"--input must be a JSON object, not {type(value).__name__}")
    return value


main.add_command(keys)
for _command in (splitcli.api, splitcli.engine, splitcli.executor):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
