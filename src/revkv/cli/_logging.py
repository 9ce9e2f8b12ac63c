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

No request waits for its log line to be written. Records are formatted where they are
logged and the lines written to stderr by one thread of their own (`LineWriter`): a
stderr that nobody reads (a pipe whose reader is busy or gone, a stuck terminal) then
holds up that thread only, never the event loop. Written from the loop, a 140 KB
traceback into a full 64 KB pipe froze every client, `/health` included, for as long
as the pipe stayed full. Lines that find the backlog full are counted and dropped (and
the count logged once there is room), so memory stays bounded too.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import click

__all__ = ["LOG_BACKLOG", "LineWriter", "announce", "close_logging", "configure_logging"]

ACCESS_LOGGER = "uvicorn.access"
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")

LOG_BACKLOG = 10_000
"""Lines waiting for stderr beyond which new ones are dropped (and counted)."""

CLOSE_WAIT = 5.0
"""Seconds a stopping server waits for its last lines to reach stderr."""


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


class LineWriter:
    """Writes lines to a stream on a thread of its own; `write` never waits for it.

    Once closed, lines are written at once by the caller, unless the thread is still
    stuck in a write: then they are dropped, as a blocked stream would only block the
    caller too.
    """

    def __init__(self, stream: Any, backlog: int = LOG_BACKLOG) -> None:
        self.stream = stream
        self._lines: queue.Queue[str | None] = queue.Queue(backlog)
        self._lock = threading.Lock()
        self._dropped = 0
        self._closed = False
        self.notice: Callable[[str], str] = lambda message: f"revkv: {message}"
        self._thread = threading.Thread(target=self._run, name="revkv-log", daemon=True)
        self._thread.start()

    def write(self, line: str) -> None:
        if self._closed:
            if not self._thread.is_alive():
                self._emit(line)
            return
        try:
            self._lines.put_nowait(line)
        except queue.Full:
            with self._lock:
                self._dropped += 1

    def close(self, timeout: float = CLOSE_WAIT) -> bool:
        """Wait up to `timeout` seconds for the lines written so far; True if they were."""
        self._closed = True
        try:
            self._lines.put(None, timeout=timeout)
        except queue.Full:
            return False
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while (line := self._lines.get()) is not None:
            with self._lock:
                dropped, self._dropped = self._dropped, 0
            if dropped:
                self._emit(self.notice(f"{dropped} log line(s) dropped: stderr was not read"))
            self._emit(line)

    def _emit(self, line: str) -> None:
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed or gone: nowhere left to say so
            pass


class _LineHandler(logging.Handler):
    """Formats a record here, on the logging thread, and hands the line to the writer."""

    def __init__(self, writer: LineWriter) -> None:
        super().__init__()
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.write(self.format(record))
        except Exception:
            self.handleError(record)


_writer: LineWriter | None = None


def configure_logging(level: str = "info", fmt: str = "text", access_log: bool = False) -> None:
    """Route every logger, uvicorn's too, to one stderr handler of the chosen format,
    written off the caller's thread (see the module's docstring) until `close_logging`.

    Call it again (SIGHUP does not; a restart does) to change it: it replaces the
    handlers it installed before, and keeps the one writer.
    """
    global _writer
    if _writer is None:
        _writer = LineWriter(sys.stderr)
    _writer.notice = lambda message: _announcement(message, fmt)
    handler = _LineHandler(_writer)
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


def close_logging(timeout: float = CLOSE_WAIT) -> None:
    """Let the last lines reach stderr (waiting `timeout` seconds at most, so a stderr
    nobody reads cannot keep a stopping server alive); later lines are written at once."""
    global _writer
    if _writer is not None:
        _writer.close(timeout)
        _writer = None


def announce(message: str, fmt: str = "text") -> None:
    """A line the server always prints, whatever the log level ("serving on ...",
    "stopped"): `revkv: message` as text, or a JSON line like the logs' in JSON. It
    goes through the log writer, so it keeps its place among the log lines."""
    line = _announcement(message, fmt)
    if _writer is None:
        click.echo(line, err=True)
    else:
        _writer.write(line)


def _announcement(message: str, fmt: str) -> str:
    if fmt == "json":
        record = logging.LogRecord("revkv", logging.INFO, "", 0, message, None, None)
        return JsonFormatter().format(record)
    return f"revkv: {message}"
