"""Validating namespace settings before they become a command (and are journaled)."""

from __future__ import annotations

from typing import Any

from revkv._model import SETTINGS, check_ttl
from revkv.errors import InvalidRequest
from revkv.store._plain import check_plain

MAX_PAYLOAD_LIMIT = 64 * 1024 * 1024  # one record of the journal holds one payload
MAX_KEEP_VERSIONS = 2**31 - 1


def _positive_number(name: str, value: Any) -> float | None:
    return None if value is None else check_ttl(value, name)


def _positive_int(name: str, value: Any, upper: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(f"{name} must be a positive integer, not {value!r}")
    if upper is not None and value > upper:
        raise InvalidRequest(f"{name} can be at most {upper}, not {value}")
    return value


def check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as the namespace commands take them; unknown names are refused."""
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise InvalidRequest(
            f"unknown namespace setting(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(SETTINGS)}"
        )
    checked: dict[str, Any] = {}
    for name, value in settings.items():
        if name == "max_payload":
            if value is None:
                raise InvalidRequest("max_payload cannot be None")
            checked[name] = _positive_int(name, value, MAX_PAYLOAD_LIMIT)
        elif name in ("default_ttl", "keep_seconds"):
            checked[name] = _positive_number(name, value)
        elif name == "keep_versions":
            checked[name] = _positive_int(name, value, MAX_KEEP_VERSIONS)
        elif name == "content_type":
            if value is not None and (not isinstance(value, str) or len(value) > 255):
                raise InvalidRequest("content_type must be a media type string or None")
            checked[name] = check_plain(value, name)
        elif name == "json_objects_only":
            if not isinstance(value, bool):
                raise InvalidRequest("json_objects_only must be true or false")
            checked[name] = value
        elif name == "schema":
            if value is not None and not isinstance(value, dict):
                raise InvalidRequest("schema must be a mapping or None")
            checked[name] = check_plain(value, name)
    return checked
