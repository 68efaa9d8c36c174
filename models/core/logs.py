"""Structured logs: one JSON object per line, carrying the request's id and tenant when set.

Every long-running role (web, worker, clock) logs through `configure_logging`. Fields bound
with `bind_log_context` (request id, organization slug, token prefix) join every line logged
while the request runs, whichever module logs it. Secrets never reach a line: anything shaped
like a SCIM token or a webhook secret is masked before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

_context: ContextVar[dict[str, Any] | None] = ContextVar("scimgate_log_context", default=None)

# What `tokens.issue_token` and `webhooks.add_endpoint` hand out; the prefix after the marker is
# harmless, the rest is the secret.
_SECRET_PATTERN = re.compile(r"\b(scimgate_|whsec_)[A-Za-z0-9_-]{12,}")
_BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)\S+")
# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def bind_log_context(**fields: Any) -> Token[dict[str, Any] | None]:
    """Add fields to every line logged from here on in this thread (or task)."""
    return _context.set({**(_context.get() or {}), **fields})


def clear_log_context() -> None:
    _context.set(None)


def redact(text: str) -> str:
    """The text with anything shaped like a token or secret masked."""
    text = _SECRET_PATTERN.sub(lambda match: match.group(1) + "[redacted]", text)
    return _BEARER_PATTERN.sub(lambda match: match.group(1) + "[redacted]", text)


class JsonFormatter(logging.Formatter):
    """One line of JSON per record: time, level, logger, message, context and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update(_context.get() or {})
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """The same records for a person at a terminal, secrets masked all the same."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{key}={value}" for key, value in (_context.get() or {}).items())
        line = redact(super().format(record))
        return f"{line} [{context}]" if context else line


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time, not what it was when configured.

    Dramatiq points a worker process's `sys.stderr` at a pipe to its parent, which writes
    whole lines: looking the stream up late keeps lines from different processes unmangled.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    """Route every logger through one stderr handler with the chosen format."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        # Ours from an earlier call, or a plain one from `logging.basicConfig`; a test
        # runner's capturing handler (a subclass) stays.
        if type(handler) in (StderrHandler, logging.StreamHandler):
            root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic narrates every plugin it loads at INFO; operators only need its migrations.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # httpx logs every webhook request's full URL at INFO: a line per event batch, and a
    # receiver's URL may carry a credential in its query string.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
