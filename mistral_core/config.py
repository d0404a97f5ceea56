"""Settings: defaults < config file (TOML) < environment < command-line flags.

The config file is ``$MISTRAL_CORE_CONFIG`` or ``./mistral-core.toml`` if it
exists; keys are the field names below (``port = 8989``). Environment variables
are ``MISTRAL_CORE_<FIELD>`` in capitals (``MISTRAL_CORE_DATABASE_URL``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tomllib
from pathlib import Path
from typing import Any

from mistral_core.errors import InputError

ENV_PREFIX = "MISTRAL_CORE_"
#: The kinds of credentials the ``auth`` setting may name.
AUTH_KINDS = ("keys", "oidc")
DEFAULT_CONFIG_FILE = "mistral-core.toml"
#: The highest TCP port (0: any free one).
MAX_PORT = 65535
#: Request threads of the embedded server on PostgreSQL (setting ``http_threads`` 0, automatic):
#: measured on 2 cores, scenario c gave 0.82 against 0.72 of 0.1.0's round trips/s with one thread.
PG_HTTP_THREADS = 8


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service can be told.

    Attributes:
        host: address the API listens on.
        port: port the API listens on (Mistral's 8989).
        database_url: ``sqlite:///mistral-core.db`` (embedded default) or ``postgresql://...``.
        public_url: the base URL third parties reach the API at (callback URLs); default
            ``http://<host>:<port>``.
        executor_threads: actions run at once in this process.
        http_threads: requests the embedded server's app serves at once; 0 (the default): 1 on
            SQLite, :data:`PG_HTTP_THREADS` on PostgreSQL (see :meth:`request_threads`). 1 runs them
            on the event loop's thread: Python runs one at a time anyway (the GIL), and handing each
            to a thread pool costs more CPU than the request itself on a small machine; on
            PostgreSQL a request mostly waits for its round trips, which a pool overlaps.
        http_timeout: seconds a client of the embedded server gets to send a request's headers,
            then its body, before the connection is closed (or 408 answered).
        max_body_bytes: largest request body accepted.
        log_level: DEBUG, INFO, WARNING, ERROR.
        recover: ``yes``, ``no`` or ``auto``: at start-up, re-run the actions the last stop left
            unstarted and fail those left in doubt. ``auto`` does it on SQLite (one process by
            construction) and not on PostgreSQL, where other engines may be running those actions
            right now; there, the actions of an engine that stopped heart-beating are taken over
            by another engine two minutes later, whatever this setting says.
        upgrade: at start-up, upgrade a database whose schema is older than this code
            (otherwise the server refuses to start and names ``mistral-core db upgrade``).
        field_size_limit: the largest stored value in bytes of JSON (an execution's input or
            output, a task's published variables, an action's input or result); over it the task
            (or the request) fails with a message naming this setting.
        with_items_limit: the most items of one with-items task.
        subworkflow_depth_limit: the deepest nesting of sub-workflows.
        max_extend_by: the most seconds one heartbeat may move its task's deadline by
            (``extend_by``).
        max_bulk_items: the most waits one ``POST /v2/waits/bulk`` may act on (more gets 400).
        expression_timeout: seconds one evaluation of expressions (a task's publish, input, a
            guard...) may run; past it the task fails. Expressions run while the engine holds
            its write lock, so this bounds how long one workflow can hold up every other.
        expression_max_size: characters (of JSON text, about) one evaluation of expressions may
            build, its result and each value on the way; past it the task fails.
        allowed_hosts: the ``Host`` names the API answers to (any port); others get 421, against
            DNS rebinding. Empty (default): on a loopback ``host``, localhost, 127.0.0.1 and [::1]
            plus the host of ``public_url``; on any other address, every name. ``*``: every name.
        allowed_origins: the browser origins (``https://ui.example:8443``) allowed to POST, PUT,
            PATCH or DELETE besides the service's own (``public_url``'s); a browser's cross-site
            write from any other gets 403, against CSRF. ``*``: every origin. Requests without
            ``Origin`` (the CLI, curl, services pushing results) are not concerned.
        auth: how clients authenticate, a list of ``keys`` (API keys, ``mistral-core keys``) and
            ``oidc`` (tokens of an OpenID Connect provider); empty (default): authentication is off
            and every request may do everything (see ``insecure_no_auth``).
        ui_secret: the secret that signs the links of approval pages and the UI's sessions;
            empty (default): the server makes one and keeps it in its database (``server_secrets``).
        respond_link_max_age: the longest, in seconds, a link to an approval page lives (it ends
            with its wait's deadline sooner); default a week.
        ui_session_max_age: how long, in seconds, a sign-in to the UI lasts; default 8 hours.
        insecure_no_auth: let ``serve`` listen on an address other than loopback with
            authentication off (anyone who reaches the port may do everything).
        callback_token_max_age: seconds the callback token of an asynchronous action execution is
            accepted after it was minted (default 2,592,000: 30 days, so that a wait of weeks is
            answered with its token; a task that waits longer needs more). With authentication off
            tokens are minted all the same, and ignored.
        notice_retry_for: seconds a cancel notice that fails (the third party's ``cancel_url``
            unreachable, a plugin's ``cancel()`` raising) is tried again, with backoff (5 s,
            15 s, 60 s, then every 5 minutes); default 86,400 (a day).
        notify: publishers every execution notifies, besides its own ``params.notify`` (sub-workflows
            too): a TOML list of tables (``[[notify]]``), or a JSON list in the environment
            (``MISTRAL_CORE_NOTIFY='[{"type": "webhook", "url": "https://..."}]'``). Not written
            into executions' params, so their headers and secrets are never shown.
        notify_retry_for: seconds a notification whose delivery fails is tried again (default
            86,400: a day); each try gives up after 3 s to connect and 15 s to answer.
        notify_backoff: seconds from a failed try to the next, by tries made (the last repeats;
            each stretched by up to 10% at random); empty: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
            14 h, 20 h, then daily (Standard Webhooks' example schedule).
        notify_threads: threads delivering notifications (apart from the actions' threads).
        report_max_entries: the most entries (workflow executions, tasks, action executions) one
            execution report (``GET /v2/executions/<id>/report``) may hold; a larger report is
            refused with a 400 that says how to narrow it, after reading at most this many.
        allow_action_execution_deletion: let ``DELETE /v2/action_executions/<id>`` delete finished
            action executions run outside any workflow (Mistral's ``[api]`` option of that name);
            off (default): 403.
        info_file: a JSON file holding an object, read at start-up, that ``GET /info`` answers
            (Mistral's ``[api] info_json_file_path`` with ``enable_info_endpoint``); empty (default):
            ``/info`` answers 400 ``Info endpoint disabled.``, as Mistral does by default.
        The lists are TOML lists, or comma-separated strings (in the environment).
        oidc_issuer: the OpenID Connect provider's issuer URL (the ``iss`` of its tokens).
        oidc_audience: the ``aud`` a token must carry to be accepted here (this API's identifier).
        oidc_jwks_url: where the provider's signing keys are; empty: the ``jwks_uri`` of
            ``<oidc_issuer>/.well-known/openid-configuration``.
        oidc_roles_claim: the claim holding the subject's roles (a dotted path:
            ``realm_access.roles``).
        oidc_role_map: ``idp-role=admin|operator|reader`` pairs (a list); empty: the roles named
            ``admin``, ``operator`` and ``reader`` themselves. The highest role found wins.
        oidc_project_claim: the claim holding the subject's project (dotted path); empty: every
            OIDC identity is in the default project.
        oidc_groups_claim: the claim holding the subject's groups (dotted path); empty: none.
        oidc_leeway: seconds of clock difference allowed on ``exp``, ``nbf`` and ``iat``.
        transport: the broker of the split deployment (``amqp://user:password@host:5672//``);
            used by ``mistral-core api``, ``engine``, ``executor`` and by ``mistral_core.wsgi``
            (then an API worker only); empty: ``serve`` and gunicorn workers are whole services.
        engine_lease: seconds after its last heartbeat before an engine or API worker is taken
            for dead and another engine takes over what it dispatched.
        executor_lease: seconds after its last heartbeat before an executor is taken for dead
            and an engine takes over what it claimed (safe actions run again, the others fail
            "in doubt").
        event_max_bytes: the largest message an event trigger reads (bytes); a larger one is
            dropped with a log line.
        event_poll: seconds between two looks of a listening process at the event triggers
            (a trigger created or deleted elsewhere is listened for, or not, within that time).
        event_remember_for: seconds the record of a message an event trigger took is kept (the
            same message sent again within that time starts nothing; after it, it starts again).
        event_queue_expires: seconds a trigger's queue lives with no consumer (a deleted
            trigger's queue, or every engine down that long) before the broker deletes it.
        oidc_ui_client_id: the client id the UI signs people in with, at the provider (the
            authorization code flow with PKCE; its redirect URI is ``<public_url>/ui/oidc/callback``);
            empty (default): the sign-in page offers no "Sign in with" button. Needs ``oidc`` in ``auth``.
        oidc_ui_client_secret: that client's secret (a confidential client); empty: a public client
            (PKCE only).
        oidc_ui_scopes: the scopes the UI asks for (``openid`` is always asked for).
        oidc_ui_provider_name: the provider's name on the button ("Sign in with Keycloak"); empty:
            "Sign in with your identity provider".
        dynamic_actions: DANGER — RUNS UPLOADED PYTHON IN THE EXECUTOR. Turns on
            ``/v2/code_sources`` and ``/v2/dynamic_actions`` (admins only): an admin uploads a
            Python module and names a class in it as an action; every executor that runs one
            executes that module with the executor's own rights (files, network, the process
            itself). Off (default): both collections answer 404 and no uploaded code runs. Set it
            on the API, engine *and* executor processes (an executor with it off fails such
            actions). Give the admin role only to people you would give a shell on the executors.
        dynamic_code_max_bytes: the largest code source accepted (UTF-8 bytes; default 65,536).
        log_format: ``text`` (default) or ``json``: one JSON object a line, with the ids of the
            execution, task and action execution a line is about (docs/operations.md, "Logs").
        metrics_port: the port an engine or executor of the split deployment serves ``/metrics``
            on (0, the default: none). The API serves its own ``/metrics`` on its port.
        metrics_host: the address that port listens on (default loopback: it has no credentials).
    """

    host: str = "127.0.0.1"
    port: int = 8989
    database_url: str = "sqlite:///mistral-core.db"
    public_url: str = ""
    executor_threads: int = 16
    http_threads: int = 0
    http_timeout: int = 30
    max_body_bytes: int = 1_048_576
    log_level: str = "INFO"
    recover: str = "auto"
    upgrade: bool = False
    field_size_limit: int = 1_048_576
    with_items_limit: int = 100_000
    subworkflow_depth_limit: int = 50
    max_extend_by: float = 7 * 24 * 3600.0
    max_bulk_items: int = 10_000
    expression_timeout: float = 2.0
    expression_max_size: int = 4 * 1024 * 1024
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    auth: tuple[str, ...] = ()
    insecure_no_auth: bool = False
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str = ""
    oidc_roles_claim: str = "roles"
    oidc_role_map: tuple[str, ...] = ()
    oidc_project_claim: str = ""
    oidc_groups_claim: str = ""
    oidc_leeway: float = 30.0
    oidc_ui_client_id: str = ""
    oidc_ui_client_secret: str = dataclasses.field(default="", repr=False)
    oidc_ui_scopes: tuple[str, ...] = ("openid",)
    oidc_ui_provider_name: str = ""
    callback_token_max_age: int = 30 * 24 * 3600
    notice_retry_for: int = 24 * 3600
    ui_secret: str = ""
    respond_link_max_age: float = 7 * 24 * 3600.0
    ui_session_max_age: float = 8 * 3600.0
    transport: str = ""
    engine_lease: float = 120.0
    executor_lease: float = 30.0
    event_max_bytes: int = 256 * 1024
    event_poll: float = 2.0
    event_queue_expires: int = 24 * 3600
    event_remember_for: int = 7 * 24 * 3600
    notify: tuple[dict[str, Any], ...] = ()
    notify_retry_for: int = 24 * 3600
    notify_backoff: tuple[float, ...] = ()
    notify_threads: int = 4
    dynamic_actions: bool = False
    dynamic_code_max_bytes: int = 65_536
    report_max_entries: int = 10_000
    allow_action_execution_deletion: bool = False
    info_file: str = ""
    log_format: str = "text"
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"

    @property
    def base_url(self) -> str:
        """``public_url``, or the listening address when it is not set."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Settings:
        """Settings from the config file, the environment and ``overrides`` (None values ignored).

        Raises:
            InputError: a value of the wrong type or an unknown key in the file.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        values.update(_from_file(env))
        values.update(_from_env(env))
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        settings = cls(**{k: _coerce(k, v) for k, v in values.items()})
        settings.check()
        return settings

    def check(self) -> None:
        """Raise InputError for a value that is not one of the allowed ones."""
        self._check_server()
        allowed = {
            "recover": ("auto", "yes", "no"),
            "log_level": ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
            "log_format": ("text", "json"),
        }
        for name, choices in allowed.items():
            value = getattr(self, name)
            if (value.upper() if name == "log_level" else value) not in choices:
                raise InputError(f"setting {name} must be one of {', '.join(choices)}, not {value!r}")
        for name in (
            "field_size_limit",
            "with_items_limit",
            "subworkflow_depth_limit",
            "max_bulk_items",
            "callback_token_max_age",
            "notice_retry_for",
            "notify_retry_for",
            "dynamic_code_max_bytes",
            "report_max_entries",
            "event_max_bytes",
            "event_queue_expires",
            "event_remember_for",
        ):
            if getattr(self, name) < 1:
                raise InputError(f"setting {name} must be at least 1, not {getattr(self, name)}")
        unknown = [kind for kind in self.auth if kind not in AUTH_KINDS]
        if unknown:
            raise InputError(
                f"setting auth takes {', '.join(AUTH_KINDS)}, not {', '.join(map(repr, unknown))}"
            )
        self._check_split()
        self._check_ui_client()
        for name in (
            "expression_timeout",
            "expression_max_size",
            "max_extend_by",
            "respond_link_max_age",
            "ui_session_max_age",
        ):
            if not getattr(self, name) > 0:
                raise InputError(f"setting {name} must be above 0, not {getattr(self, name)!r}")
        self._check_notify()

    def _check_server(self) -> None:
        if not 0 <= self.port <= MAX_PORT:
            raise InputError(f"setting port must be 0 to {MAX_PORT}, not {self.port}")
        for name in ("http_timeout", "notify_threads"):
            if getattr(self, name) < 1:
                raise InputError(f"setting {name} must be at least 1, not {getattr(self, name)!r}")
        if self.http_threads < 0:
            raise InputError(f"setting http_threads must be 0 (automatic) or more, not {self.http_threads!r}")

    def request_threads(self) -> int:
        """The embedded server's request threads: ``http_threads``, or when it is 0 (automatic) 1 on
        SQLite and :data:`PG_HTTP_THREADS` on PostgreSQL."""
        if self.http_threads:
            return self.http_threads
        return PG_HTTP_THREADS if self.database_url.startswith("postgresql") else 1

    def _check_notify(self) -> None:
        """The notification settings (the publishers of ``notify`` are checked by the notifiers)."""
        if not all(0 < delay <= 7 * 24 * 3600 for delay in self.notify_backoff):
            raise InputError("setting notify_backoff takes delays above 0 and at most a week (604800 s)")

    def _check_split(self) -> None:
        if not 0 <= self.metrics_port <= 65535:
            raise InputError(f"setting metrics_port must be a port number (0: none), not {self.metrics_port}")
        if self.transport and not self.transport.startswith("amqp://"):
            raise InputError(f"setting transport must be an amqp:// URL, not {self.transport[:40]!r}")
        if not 0.05 <= self.event_poll <= 3600:
            raise InputError(
                f"setting event_poll must be between 0.05 and 3600 seconds, not {self.event_poll!r}"
            )
        for name in ("engine_lease", "executor_lease"):
            if not getattr(self, name) >= 3:
                raise InputError(f"setting {name} must be at least 3 seconds, not {getattr(self, name)!r}")

    def _check_ui_client(self) -> None:
        if self.oidc_ui_client_secret and not self.oidc_ui_client_id.strip():
            raise InputError("setting oidc_ui_client_secret needs oidc_ui_client_id")
        client_id = self.oidc_ui_client_id.strip()
        if client_id and "oidc" not in self.auth:
            raise InputError("setting oidc_ui_client_id needs oidc in the setting auth")
        if client_id and client_id == self.oidc_audience.strip():
            raise InputError(
                "setting oidc_ui_client_id must not be oidc_audience: the UI's ID tokens (aud: its "
                "client id) would pass for access tokens of the API"
            )

    @property
    def recovers(self) -> bool:
        """Whether this process recovers unfinished actions at start-up."""
        return self.recover == "yes" or (self.recover == "auto" and self.database_url.startswith("sqlite"))


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _from_file(env: Any) -> dict[str, Any]:
    path = Path(env.get(ENV_PREFIX + "CONFIG", DEFAULT_CONFIG_FILE))
    if not path.is_file():
        if ENV_PREFIX + "CONFIG" in env:
            raise InputError(f"config file {path} not found")
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise InputError(f"cannot read config file {path}: {exc}") from None
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise InputError(f"unknown setting(s) in {path}: {', '.join(unknown)}")
    return data


def _from_env(env: Any) -> dict[str, Any]:
    return {name: env[ENV_PREFIX + name.upper()] for name in _FIELDS if ENV_PREFIX + name.upper() in env}


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _coerce(name: str, value: Any) -> Any:
    kind = _FIELDS[name].type
    if kind == "bool" and not isinstance(value, bool):
        word = value.strip().lower() if isinstance(value, str) else None
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise InputError(f"setting {name} must be true or false, not {value!r}")
    lists = _LISTS.get(str(kind))
    if lists is not None:
        return lists(name, value)
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise InputError(f"setting {name} must be a whole number, not {value!r}") from None
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, int | float)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"setting {name} must be a number, not {value!r}") from None
        if not math.isfinite(number):
            raise InputError(f"setting {name} must be a finite number, not {value!r}")
        return number
    return value


def _seconds(name: str, value: Any) -> tuple[float, ...]:
    """A list of durations: a list of numbers (TOML) or a comma-separated string (environment)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise InputError(f"setting {name} must be a list of seconds, not {value!r}")
    try:
        seconds = tuple(float(item) for item in items if not isinstance(item, str) or item.strip())
    except (TypeError, ValueError):
        raise InputError(f"setting {name} must be a list of seconds, not {value!r}") from None
    if any(isinstance(item, bool) for item in items) or not all(math.isfinite(s) for s in seconds):
        raise InputError(f"setting {name} must be a list of seconds, not {value!r}")
    return seconds


def _tables(name: str, value: Any) -> tuple[dict[str, Any], ...]:
    """A list of tables: a TOML list of tables, or a JSON list of objects (environment)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError as exc:
            raise InputError(f"setting {name} must be a JSON list of objects: {exc}") from None
    if not isinstance(value, list | tuple) or not all(isinstance(item, dict) for item in value):
        raise InputError(f"setting {name} must be a list of tables (objects), not {value!r}"[:300])
    return tuple(value)


def _names(name: str, value: Any) -> tuple[str, ...]:
    """A list setting: a list of strings (TOML) or a comma-separated string (environment)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise InputError(f"setting {name} must be a list of strings, not {value!r}")
    return tuple(item.strip() for item in items if item.strip())


#: The list settings' readers, by the field's type.
_LISTS = {"tuple[str, ...]": _names, "tuple[float, ...]": _seconds, "tuple[dict[str, Any], ...]": _tables}
