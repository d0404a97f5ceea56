"""gunicorn settings for mistral-core (see docs/operations.md, "gunicorn").

    MISTRAL_CORE_DATABASE_URL=postgresql://mistral@db.example.org/mistral \
    MISTRAL_CORE_PUBLIC_URL=https://mistral.example.org \
    gunicorn -c contrib/gunicorn.conf.py mistral_core.wsgi:app

Each worker process is a whole mistral-core service: API, engine thread, executor
threads and scheduler. Settings of mistral-core itself come from MISTRAL_CORE_*
environment variables or mistral-core.toml, as for ``mistral-core serve``; this
file only holds gunicorn's.
"""

import os
import sys

# Where to listen. Command-line -b/--bind overrides it.
bind = ["127.0.0.1:8989"]

# Each worker runs its own engine, executors and scheduler; several workers share the work
# through the database (row locks per execution, timers claimed once). On SQLite keep ONE
# worker: a worker that starts on SQLite recovers every unfinished action (setting recover,
# "auto"), including those another live worker is running. On PostgreSQL you may raise it
# (docs/operations.md, "Several engines"): a starting worker recovers nothing there, and the
# actions of a worker that died are taken over by another one two minutes later.
workers = 1

# Requests are served by threads inside each worker (the engine and the executors are
# threads too); the sync worker would serve one request at a time.
worker_class = "gthread"
threads = 16  # each thread that serves requests keeps one database connection

# Never build the service in the master: it starts threads, and threads do not survive
# fork(). Each worker builds its own when it imports mistral_core.wsgi.
preload_app = False

# Do not recycle workers: a recycled worker lets its running actions finish for 30 s only
# (see graceful_timeout); an action still running then is abandoned, and later run again or
# failed as "in doubt" by recovery (see docs/operations.md, "Restarts and crashes").
max_requests = 0

# A worker must stay responsive to gunicorn's heartbeat; long actions run on executor
# threads, not in the request, so the default is enough.
timeout = 30

# On SIGTERM a worker stops taking requests, lets running actions finish (up to 30 s)
# and applies their results. Give it that time before gunicorn kills it.
graceful_timeout = 45

keepalive = 5

# Logs: gunicorn's and mistral-core's (logger "mistral_core") on stderr, one line per
# request on stdout (set the level of "gunicorn.access" to "WARNING" to drop those).
# MISTRAL_CORE_LOG_LEVEL (DEBUG, INFO, WARNING, ERROR) sets mistral-core's level;
# MISTRAL_CORE_LOG_FORMAT=json makes mistral-core's lines JSON objects (with the ids of the
# execution, task and action execution they are about; docs/operations.md, "Logs").
_JSON_LOGS = os.environ.get("MISTRAL_CORE_LOG_FORMAT", "text").lower() == "json"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"mistral_core_json": {"()": "mistral_core.metrics.logs.JsonFormatter"}},
    "handlers": {
        "mistral_core_console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            **({"formatter": "mistral_core_json"} if _JSON_LOGS else {}),
        }
    },
    "root": {"level": "WARNING", "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "mistral_core": {
            "level": os.environ.get("MISTRAL_CORE_LOG_LEVEL", "INFO").upper(),
            "handlers": ["mistral_core_console" if _JSON_LOGS else "error_console"],
            "propagate": False,
        },
    },
}

# Metrics (GET /metrics, docs/operations.md, "Metrics"): every worker is a process of its own,
# so set PROMETHEUS_MULTIPROC_DIR to an empty directory that only these workers use, before
# gunicorn starts (e.g. Environment= and ExecStartPre= in the systemd unit): a scrape, whichever
# worker answers it, then shows the sums of all workers. child_exit below tells it when a worker
# is gone. Without the variable, each scrape shows the counters of the worker that answered.


def on_starting(server):
    """Without a public_url setting, derive it from the first TCP address bound.

    Callback URLs given to third parties (Mistral-Callback-URL, the action context)
    and the API's links are built from it. Behind a proxy or a load balancer, set
    MISTRAL_CORE_PUBLIC_URL (or public_url in mistral-core.toml) to the address
    third parties really reach.
    """
    from mistral_core.config import Settings  # settings only: this builds no service

    try:
        if Settings.load().public_url:
            return
    except Exception:  # a bad setting: the workers will report it
        return
    address = str(server.cfg.bind[0]) if server.cfg.bind else ""
    host, _, port = address.rpartition(":")
    if address.startswith(("unix:", "fd://")) or not port.isdigit():
        server.log.warning("set MISTRAL_CORE_PUBLIC_URL: it cannot be derived from bind %s", address)
        return
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    os.environ["MISTRAL_CORE_PUBLIC_URL"] = f"http://{host}:{port}"
    server.log.info("MISTRAL_CORE_PUBLIC_URL=%s (from bind)", os.environ["MISTRAL_CORE_PUBLIC_URL"])


def child_exit(server, worker):
    """A worker is gone: its files in PROMETHEUS_MULTIPROC_DIR stop counting as a live process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """Stop this worker's service: running actions finish and their results are applied."""
    wsgi = sys.modules.get("mistral_core.wsgi")  # never import it here: that would build a service
    if wsgi is not None:
        wsgi.service.stop()
        server.log.info("worker %s: mistral-core stopped", worker.pid)
