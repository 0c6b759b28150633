"""Logging: one configuration for the process, JSON lines in production, a request id on every
line (ADR 0018).

``configure(settings)`` installs one handler on the root logger (stderr) with
``MICROCRED_LOG_FORMAT`` (``json`` or ``text``; json by default in production) and
``MICROCRED_LOG_LEVEL``; calling it again replaces that handler, never anyone else's (pytest's
caplog keeps working). Uvicorn's loggers propagate to it; its access log stays off, the web
layer writes its own (``microcred.access``).

The request id lives in a context variable: the web middleware sets it, the formatters add it
to every record, and ``current_request_id()`` / ``request_context(rid)`` let a job started by a
request carry it into another thread or process.

Never log secrets: passwords, tokens, keys, cookies, ``Authorization`` headers, request bodies.
As a safety net the formatters mask any ``extra`` field whose name says it holds one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from microcred.config import Settings

_request_id: ContextVar[str | None] = ContextVar("microcred_request_id", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SECRET_NAME = re.compile(
    r"pass(word|phrase)?|secret|token|authori[sz]ation|cookie|session|(^|_)key$|kek|credentials",
    re.IGNORECASE,
)
MASK = "[redacted]"
# the attributes every LogRecord has; anything else on a record came from ``extra``
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "request_id", "color_message", "taskName"}
)
_HANDLER_NAME = "microcred"
_CHATTY = (
    "alembic.runtime.plugins",  # one INFO line per plugin, each time alembic starts
    "procrastinate",  # a line per job with its (sealed, long) arguments: microcred.jobs logs jobs
)


def current_request_id() -> str | None:
    """The id of the request this code runs for (``None`` outside a request or job)."""
    return _request_id.get()


def set_request_id(request_id: str | None) -> None:
    """Bind a request id to the current context (the web middleware does this per request)."""
    _request_id.set(request_id)


@contextmanager
def request_context(request_id: str | None) -> Iterator[None]:
    """Run a block (a job started by a request, say) under the request id it carries."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def sane_request_id(value: str | None) -> str | None:
    """A caller's ``X-Request-ID`` when it is safe to echo and log (≤ 64 of [A-Za-z0-9._-])."""
    return value if value and _SANE_ID.fullmatch(value) else None


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in record.__dict__.items():
        if name in _STANDARD or name.startswith("_"):
            continue
        fields[name] = MASK if _SECRET_NAME.search(name) else value
    return fields


def _record_request_id(record: logging.LogRecord) -> str | None:
    value = getattr(record, "request_id", None)
    return str(value) if value else current_request_id()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, pid, extras,
    exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _record_request_id(record),
            "pid": record.process,  # which of several processes on a host wrote it
        }
        for name, value in _extras(record).items():
            entry.setdefault(name, value)
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request id] message key=value …`` and the traceback below."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        fields = _extras(record)
        shown = logging.makeLogRecord(record.__dict__)
        shown.request_id = _record_request_id(record) or "-"
        line = super().format(shown)
        if fields:
            tail = " ".join(f"{k}={v}" for k, v in fields.items())
            head, sep, rest = line.partition("\n")
            line = f"{head} {tail}{sep}{rest}"
        return line


class _AlreadyLogged(logging.Filter):
    """Drop uvicorn's second traceback for an exception our error handler already logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and getattr(exc, "__microcred_logged__", False))


def mark_logged(exc: BaseException) -> None:
    """Note that ``exc`` was logged with its traceback (servers need not log it again)."""
    with suppress(AttributeError):  # exceptions with __slots__ stay unmarked
        exc.__microcred_logged__ = True  # type: ignore[attr-defined]


def uvicorn_log_config(settings: Settings) -> dict[str, Any]:
    """The same set-up as ``configure`` for uvicorn's ``log_config``: applied in every worker
    process before it imports the application, so its first lines are formatted too."""
    formatter = "json" if settings.log_format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": f"{__name__}.JsonFormatter"},
            "text": {"()": f"{__name__}.TextFormatter"},
        },
        "filters": {"already_logged": {"()": f"{__name__}._AlreadyLogged"}},
        "handlers": {
            _HANDLER_NAME: {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": [_HANDLER_NAME], "level": settings.log_level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"filters": ["already_logged"], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
            **{name: {"level": "WARNING"} for name in _CHATTY},
        },
    }


def configure(settings: Settings) -> None:
    """Install (or replace) microcred's handler on the root logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    formatter: logging.Formatter = (
        JsonFormatter() if settings.log_format == "json" else TextFormatter()
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # uvicorn's own loggers write through ours; its access log is replaced by microcred.access
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    access.disabled = True
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    error = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _AlreadyLogged) for f in error.filters):
        error.addFilter(_AlreadyLogged())


def log_refused_value(exc: BaseException) -> None:
    """A database refusal answered as bad input: one warning line, no parameters (the engine
    hides them), so the value itself never reaches the logs."""
    logging.getLogger("microcred.web").warning(
        "a value was refused by the database: %s", type(getattr(exc, "orig", exc)).__name__
    )
