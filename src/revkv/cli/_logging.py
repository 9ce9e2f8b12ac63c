"""The server's logs: one line per record on stderr, as text or JSON, uvicorn's included.

A log collector (journald, Docker, Loki) splits on newlines, so a record is one line
whatever it holds: a message's own newlines and a traceback are escaped (`\\n`) in text,
and are JSON strings in JSON. uvicorn's loggers (`uvicorn.error`, `uvicorn.access`)
propagate to the same root handler instead of having their own, so every line of the
process has one shape. Access lines (`access_log = true`) carry the client, method, path
and status as fields in JSON; with the access log off uvicorn never formats one (its
protocol checks once per connection whether the logger has a handler).

    2026-12-05T08:40:00.123Z INFO revkv.cli._serve: serving data on https://127.0.0.1:8443
    {"time": "2026-12-05T08:40:00.123Z", "level": "INFO", "logger": "uvicorn.access",
     "message": "127.0.0.1:50312 - \\"GET /health HTTP/1.1\\" 200", "client": "127.0.0.1:50312",
     "method": "GET", "path": "/health", "status": 200}      (one line in the log)
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import click

__all__ = ["announce", "configure_logging"]

ACCESS_LOGGER = "uvicorn.access"
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    """`TIME LEVEL LOGGER: message`, with newlines escaped so a record stays one line."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        text = text.replace("\\", "\\\\").replace("\n", "\\n")
        return f"{_timestamp(record)} {record.levelname} {record.name}: {text}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exception, and the
    fields of an access line)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        args = record.args
        if record.name == ACCESS_LOGGER and isinstance(args, tuple) and len(args) == 5:
            entry.update(zip(_ACCESS_FIELDS, args, strict=True))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "info", fmt: str = "text", access_log: bool = False) -> None:
    """Route every logger, uvicorn's too, to one stderr handler of the chosen format.

    Call it again (SIGHUP does not; a restart does) to change it: it replaces the
    handlers it installed before.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level.upper())
    access = logging.getLogger(ACCESS_LOGGER)
    access.handlers.clear()
    access.setLevel(logging.INFO)
    access.propagate = access_log  # off: no handler, so uvicorn does not even format it


def announce(message: str, fmt: str = "text") -> None:
    """A line the server always prints, whatever the log level ("serving on ...",
    "stopped"): `revkv: message` as text, or a JSON line like the logs' in JSON."""
    if fmt == "json":
        record = logging.LogRecord("revkv", logging.INFO, "", 0, message, None, None)
        line = JsonFormatter().format(record)
    else:
        line = f"revkv: {message}"
    click.echo(line, err=True)
