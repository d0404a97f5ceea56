"""The WSGI entry point for gunicorn: ``gunicorn mistral_core.wsgi:app``.

Settings come from the environment and the config file (see :mod:`mistral_core.config`).
Each gunicorn worker builds its own service (engine, executors) when it imports this module.
"""

from mistral_core.bootstrap import build_service
from mistral_core.config import Settings

service = build_service(Settings.load())
app = service.app
