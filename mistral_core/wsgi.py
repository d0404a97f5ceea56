"""The WSGI entry point for gunicorn: ``gunicorn mistral_core.wsgi:app``.

Settings come from the environment and the config file (see :mod:`mistral_core.config`).
Each gunicorn worker builds its own service (engine, executors, scheduler) when it
imports this module; with the setting ``transport`` (``MISTRAL_CORE_TRANSPORT``) a worker is
an API worker of the split deployment only (engines and executors run elsewhere). A service
that cannot be built (a database schema older than the code without
``MISTRAL_CORE_UPGRADE``, say) stops gunicorn with its one-line reason.
Without ``MISTRAL_CORE_PUBLIC_URL``, the public URL (callback URLs, links) is taken
from the address gunicorn binds, not from the default port; the
setting ``host`` is always that address (it decides whether ``Host`` names are checked).
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import Any

from gunicorn.errors import AppImportError

from mistral_core.bootstrap import build_service
from mistral_core.config import Settings
from mistral_core.errors import MistralError
from mistral_core.metrics.logs import configure


def _gunicorn_bind() -> tuple[str, str] | None:
    """``(host, port)`` of the first address gunicorn was told to bind, if it can be read."""
    try:
        from gunicorn.config import Config

        config = Config()
        argv = shlex.split(os.environ.get("GUNICORN_CMD_ARGS", "")) + sys.argv[1:]
        args = config.parser().parse_known_args(argv)[0]
        binds = getattr(args, "bind", None) or ["127.0.0.1:8000"]
    except Exception:  # not started by gunicorn's command line: keep the settings
        return None
    host, _, port = str(binds[0]).rpartition(":")
    if not host or host.startswith("unix") or not port.isdigit():
        return None
    return host.strip("[]"), port


def _settings() -> Settings:
    settings = Settings.load()
    bind = _gunicorn_bind() if "gunicorn" in sys.argv[0] else None
    if bind is None:
        return settings
    host, port = bind
    # The address gunicorn listens on decides whether Host names are checked (api/browsers.py).
    learned: dict[str, str] = {"host": host}
    if not settings.public_url:
        public = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        learned["public_url"] = f"http://{f'[{public}]' if ':' in public else public}:{port}"
    return Settings.load(learned)


_SETTINGS = _settings()
configure(_SETTINGS.log_level, _SETTINGS.log_format)
try:
    if _SETTINGS.transport:  # the split deployment: this worker is an API worker only
        from mistral_core.deployment import build_api

        service: Any = build_api(_SETTINGS)
    else:
        service = build_service(_SETTINGS)
except MistralError as exc:
    # gunicorn prints this error's message alone (no traceback) and stops: "App failed to load".
    raise AppImportError(str(exc)) from None
app = service.app
#: The settings this worker was built with.
settings: Settings = _SETTINGS
