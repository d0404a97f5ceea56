"""The commands of the split deployment: ``mistral-core api``, ``engine``, ``executor``.

Each takes ``--transport`` (the broker) and, but for executors, ``--database-url``; see
docs/operations.md, "The split deployment".
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import click

from mistral_core.config import Settings
from mistral_core.errors import MistralError
from mistral_core.metrics.logs import configure

#: prometheus_client's multiprocess directory (kept here: importing prometheus_client before
#: the variable is set would choose single-process values for gunicorn's workers).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LOG = logging.getLogger(__name__)

_database = click.option(
    "--database-url", default=None, help="postgresql://... [env MISTRAL_CORE_DATABASE_URL]."
)
_transport = click.option(
    "--transport",
    default=None,
    help="The broker: amqp://user:password@host:5672// [env MISTRAL_CORE_TRANSPORT].",
)
_log_level = click.option("--log-level", default=None, help="DEBUG, INFO, WARNING, ERROR [INFO].")
_log_format = click.option(
    "--log-format", type=click.Choice(["text", "json"]), default=None, help="Log lines: text or JSON [text]."
)
_metrics_port = click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve Prometheus /metrics on this port [0: none; setting metrics_port, metrics_host].",
)
_public_url = click.option("--public-url", default=None, help="Base URL third parties call back.")


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings.load(overrides)
    except MistralError as exc:
        raise click.ClickException(str(exc)) from None


def _logging(settings: Settings) -> None:
    configure(settings.log_level, settings.log_format)


def _alone() -> None:
    """Keep this process's metrics to itself: an environment shared with the API's gunicorn (a
    systemd ``EnvironmentFile``) must not make it write to the API workers' multiprocess files."""
    os.environ.pop(MULTIPROC_ENV, None)


def _run_until_signal(build: Callable[[], Any], what: str) -> None:
    """Build the process, then wait for SIGTERM or SIGINT and stop it gracefully."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        process = build()
    except MistralError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"mistral-core {what} running ({process.ident})", err=True)
    stop.wait()
    click.echo(f"mistral-core {what} stopping", err=True)
    process.stop()


@click.command()
@_database
@_transport
@_log_level
@_log_format
@_metrics_port
@click.option("--upgrade", is_flag=True, default=None, help="Upgrade an older database schema first.")
@click.option(
    "--recover",
    type=click.Choice(["auto", "yes", "no"]),
    default=None,
    help="Re-run or fail at start-up what the last stop left unfinished [auto: on SQLite only].",
)
def engine(
    database_url: str | None,
    transport: str | None,
    log_level: str | None,
    log_format: str | None,
    metrics_port: int | None,
    upgrade: bool | None,
    recover: str | None,
) -> None:
    """Run an engine: apply executors' results, answer their claims, fire timers (no HTTP)."""
    settings = _settings(
        database_url=database_url,
        transport=transport,
        log_level=log_level,
        log_format=log_format,
        metrics_port=metrics_port,
        upgrade=upgrade,
        recover=recover,
    )
    _logging(settings)
    _alone()
    from mistral_core.deployment import build_engine_process

    _run_until_signal(lambda: build_engine_process(settings), "engine")


@click.command()
@_transport
@_log_level
@_log_format
@_metrics_port
@_public_url
@click.option("--target", "targets", multiple=True, help="Also run the actions of tasks with this target.")
@click.option("--targets-only", is_flag=True, help="Only the targets' actions, not those without a target.")
@click.option("--threads", type=int, default=None, help="Actions run at once [16; setting executor_threads].")
def executor(
    transport: str | None,
    log_level: str | None,
    log_format: str | None,
    metrics_port: int | None,
    public_url: str | None,
    targets: tuple[str, ...],
    targets_only: bool,
    threads: int | None,
) -> None:
    """Run an executor: run actions from the broker (never opens the database)."""
    settings = _settings(
        transport=transport,
        log_level=log_level,
        log_format=log_format,
        metrics_port=metrics_port,
        public_url=public_url,
        executor_threads=threads,
    )
    _logging(settings)
    _alone()
    if targets_only and not targets:
        raise click.ClickException("--targets-only needs at least one --target")
    from mistral_core.deployment import build_executor

    _run_until_signal(lambda: build_executor(settings, targets, not targets_only), "executor")


@click.command()
@click.option("--host", default=None, help="Address to listen on [127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [8989].")
@_database
@_transport
@_log_level
@_log_format
@_public_url
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes.")
@click.option(
    "--threads",
    type=int,
    default=None,
    help="Requests each worker serves at once [asgi: 1, on its event loop; gthread: 8].",
)
@click.option(
    "--worker-class",
    type=click.Choice(["asgi", "gthread"]),
    default="asgi",
    show_default=True,
    help="gunicorn's worker: asgi reads requests on an event loop; gthread on threads.",
)
@click.option("--auth", default=None, help="Credentials accepted: keys, oidc (see serve).")
def api(
    host: str | None,
    port: int | None,
    database_url: str | None,
    transport: str | None,
    log_level: str | None,
    log_format: str | None,
    public_url: str | None,
    workers: int,
    threads: int | None,
    worker_class: str,
    auth: str | None,
) -> None:
    """Run the REST API under gunicorn (extra gunicorn): WORKERS processes, no actions run here."""
    settings = _settings(
        host=host,
        port=port,
        database_url=database_url,
        transport=transport,
        log_level=log_level,
        log_format=log_format,
        public_url=public_url,
        auth=auth,
    )
    if not settings.transport:
        raise click.ClickException("mistral-core api needs a broker: --transport amqp://…")
    if threads is None:
        threads = 1 if worker_class == "asgi" else 8
    if workers < 1 or threads < 1:
        raise click.ClickException("--workers and --threads must be at least 1")
    try:
        from mistral_core.gunicornapp import run_gunicorn
    except ImportError:
        raise click.ClickException(
            "mistral-core api needs gunicorn: pip install 'mistral-core[gunicorn]'"
        ) from None
    # The workers read their settings as every gunicorn worker does: from the environment.
    for name, value in (
        ("DATABASE_URL", settings.database_url),
        ("TRANSPORT", settings.transport),
        ("LOG_LEVEL", settings.log_level),
        ("LOG_FORMAT", settings.log_format),
        ("PUBLIC_URL", settings.base_url),
        ("HOST", settings.host),
        ("PORT", str(settings.port)),
        ("AUTH", ",".join(settings.auth)),
    ):
        os.environ[f"MISTRAL_CORE_{name}"] = value
    made = _multiprocess_dir()
    try:
        run_gunicorn(f"{settings.host}:{settings.port}", workers, threads, worker_class)
    finally:
        if made:
            shutil.rmtree(made, ignore_errors=True)


def _multiprocess_dir() -> str | None:
    """Give gunicorn's workers prometheus_client's multiprocess directory: the one the environment
    names, emptied (files of an earlier run would add to its counters), else a new one (returned:
    it is removed when gunicorn stops)."""
    path = os.environ.get(MULTIPROC_ENV, "")
    if not path:
        made = tempfile.mkdtemp(prefix="mistral-core-metrics-")
        os.environ[MULTIPROC_ENV] = made
        return made
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))
    return None
