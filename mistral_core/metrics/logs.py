"""Log lines for operators: text (the default) or one JSON object a line (``log_format = json``).

A JSON line carries the time, level, logger and message, the traceback if any, and the ids of
the execution, task and action execution the line is about, when the code that logs runs for
one: :func:`log_context` sets them (the executor, for the action it runs; the API, for the ids
in a request's path). Standard library only, so that any part may use it.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
from collections.abc import Iterator

#: The formats of the setting ``log_format``.
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: The ids a log line may carry, as they are named in the JSON.
ID_FIELDS = ("execution_id", "task_id", "action_execution_id")
_IDS: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "mistral_core_log_ids", default=None
)


@contextlib.contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Lines logged inside the block (in this thread or task) carry these ids (None ones left out)."""
    token = _IDS.set({**(_IDS.get() or {}), **{k: v for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _IDS.reset(token)


def set_ids(**ids: str | None) -> contextvars.Token[dict[str, str] | None]:
    """Set ids until :func:`reset_ids` with the token returned (for middleware, where a ``with``
    cannot span the request)."""
    return _IDS.set({k: v for k, v in ids.items() if v})


def reset_ids(token: contextvars.Token[dict[str, str] | None]) -> None:
    """Undo :func:`set_ids`."""
    _IDS.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    ``exception`` (a traceback, if any) and the ids of :func:`log_context`, or given as
    ``extra={"execution_id": ...}``."""

    def format(self, record: logging.LogRecord) -> str:
        """The line of ``record``."""
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_IDS.get() or {})
        for field in ID_FIELDS:
            value = record.__dict__.get(field)
            if value:
                line[field] = str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str)


def configure(level: str, log_format: str = "text") -> None:
    """Set up the root logger of this process: ``level``, text or JSON lines on stderr (as
    ``logging.basicConfig``: nothing if the root logger has a handler already)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[handler])
