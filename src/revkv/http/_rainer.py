"""Rainer's wire format, and nothing else: what its servlet sends and pyrainer expects.

See reference/rainer-http.md: meta as JSON with Joda-style times (Rainer's answers only:
revkv's own verbs answer `Meta.to_dict`, revkv's one shape of a commit), `\\r\\n` after every
JSON body, booleans spelled yes/true/1 or no/false/0, `X-Rainer-*` headers on payloads,
the 409 conflict object, and `Key not found`.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import msgspec

from revkv._model import Commit, Meta, iso_time
from revkv.errors import InvalidRequest

JSON_TYPE = "application/json"
CRLF = b"\r\n"
NOT_FOUND = "Key not found"
_TRUE = {"yes", "true", "1"}
_FALSE = {"no", "false", "0"}


def meta_dict(meta: Meta) -> dict[str, Any]:
    """A commit's metadata exactly as Rainer's CommitMetadata.asMap writes it."""
    return {
        "key": meta.key,
        "version": meta.version,
        "author": meta.author,
        "comment": meta.comment,
        "mtime": iso_time(meta.mtime),
        "empty": meta.deleted,
    }


def json_body(data: Any) -> bytes:
    """Compact UTF-8 JSON and Rainer's `\r\n` (msgspec: the same bytes as json.dumps)."""
    return msgspec.json.encode(data) + CRLF


def list_entry(commit: Commit, payload_utf8: bool, payload_base64: bool) -> dict[str, Any]:
    entry = meta_dict(commit)
    if not commit.deleted:
        if payload_utf8:
            entry["payload_utf8"] = commit.payload.decode("utf-8", errors="replace")
        if payload_base64:
            entry["payload_base64"] = base64.b64encode(commit.payload).decode()
    return entry


def parse_bool(value: str | None, name: str, *, default: bool = False) -> bool:
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidRequest(f"Invalid '{name}' parameter (should be boolean)")


def payload_headers(meta: Meta, payload: bytes) -> dict[str, str]:
    return {
        "Content-Type": content_type(payload),
        "X-Rainer-Key": header_value(meta.key),
        "X-Rainer-Version": str(meta.version),
        "X-Rainer-Author": header_value(meta.author),
        "X-Rainer-Comment": header_value(meta.comment),
        "X-Rainer-Modified-Time": iso_time(meta.mtime),
        "X-Rainer-Empty": "Yes" if meta.deleted else "No",
    }


def content_type(payload: bytes) -> str:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain; charset=UTF-8"


def header_value(text: str) -> str:
    """Header values travel as raw UTF-8 (as Jetty sends them); newlines become spaces."""
    return text.replace("\r", " ").replace("\n", " ").encode().decode("latin-1")


def from_header(raw: str | None) -> str | None:
    """A header value back to text: raw UTF-8 if it decodes so, else latin-1."""
    if raw is None:
        return None
    data = raw.encode("latin-1", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def conflict_body(key: str, current_version: int, provided_version: int) -> bytes:
    return json_body(
        {
            "conflict": {
                "key": key,
                "expectedVersion": current_version + 1,
                "providedVersion": provided_version,
            }
        }
    )


def modified_time(value: str | None) -> float | None:
    """The commit time a client names (Rainer's X-Rainer-Modified-Time), as epoch seconds.

    A time without a zone is UTC, as Joda reads it on Rainer's servers.
    """
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequest("Malformed header: X-Rainer-Modified-Time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
