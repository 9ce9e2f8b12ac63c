"""DaBroker's `json` codec (`application/x-dab-json`), the tree both ends walk.

A message is a JSON object; inside it every value is JSON, or a JSON object tagged
with `_o` naming what it stands for:

    [a, b] or (a, b)   {"_o": "LIST", "_d": [a, b]}            (every list and tuple)
    a key              {"_o": "Ref", "k": LIST[parts], "c": "<8-char code>"}
    an object          {"_o": "Obj", "k": …, "c": …, "f": {fields}, "r": {"_meta": Ref, name: Ref}}
    a meta             {"_o": "Info", "k": …, "c": …, "f": {"name", "fields", "refs",
                        "backrefs", "calls", "_dab_cached"}, "r": {"_meta": …}}
    the meta of metas  {"_o": "_ROOT"}
    an attribute       {"name": n, "_o": "_F" | "_R" | "_B" | "_C"}
    datetime           {"_o": "datetime", "t": unix seconds, "s": text}
    date               {"_o": "date", "d": proleptic ordinal, "s": "YYYY-MM-DD"}
    time, timedelta    {"_o": "time" | "timedelta", "t": seconds, "s": text}
    an error           {"_o": "exc", "_t": class name, "_r": repr, "msg": text}

A user's dict key that starts with `_o` gets a `_` inserted (`_ofoo` → `_o_foo`), so
tags never clash with data; a method call's target therefore travels as `_o_`.
Envelopes: `{"data": request}` for requests (a bare request object is accepted too),
`{"data": …, "msgid": N}` for replies and broadcasts, `{"error": exc, "tb": [...]}` for
failures. DaBroker's shared-object markers (`_oi`, `_or`) are neither
sent nor accepted. What an object, a key or a tag becomes is the business of the end
that walks the tree: `encode` and `decode` take hooks for it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

CONTENT_TYPE = "application/x-dab-json"

#: encode hook: (value, include) -> a tagged dict, or None when it is not an object
EncodeHook = Callable[[Any, bool | None], dict[str, Any] | None]
#: decode hook: (tag, fields) -> the value the tag stands for
DecodeHook = Callable[[str, dict[str, Any]], Any]

_SCALARS = (str, int, float, bool, type(None))


class CodecError(ValueError):
    """A message that is not DaBroker JSON (bad JSON, an unknown tag, a bad key)."""


def escape(key: str) -> str:
    return "_o_" + key[2:] if key.startswith("_o") else key


def unescape(key: str) -> str:
    if not key.startswith("_o"):
        return key
    if key[2:3] != "_":
        raise CodecError(f"unknown meta key {key!r} (user keys starting _o are sent as _o_…)")
    return "_o" + key[3:]


def encode(value: Any, hook: EncodeHook, include: bool | None = False) -> Any:
    """The JSON-ready tree of `value`. `include`: objects at the top (or directly in a
    top-level list) go whole; deeper ones, and all when False or None, as keys (None:
    keys without their access codes, for broadcasts)."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple)):
        return {"_o": "LIST", "_d": [encode(v, hook, include) for v in value]}
    if type(value) is dict:
        deeper = None if include is None else False
        return {_key_of(k): encode(v, hook, deeper) for k, v in value.items()}
    tagged = _encode_builtin(value)
    if tagged is None:
        tagged = hook(value, include)
    if tagged is None:
        raise CodecError(f"cannot send a {type(value).__name__}: {value!r}")
    return tagged


def _key_of(key: Any) -> str:
    if not isinstance(key, str):
        raise CodecError(f"dict keys are strings on the wire, not {key!r}")
    return escape(key)


def encode_dict(values: dict[str, Any], hook: EncodeHook, include: bool | None) -> dict[str, Any]:
    """A dict whose values keep `include` (an object's fields, a broadcast's body)."""
    return {_key_of(k): encode(v, hook, include) for k, v in values.items()}


def _encode_builtin(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dt.datetime):
        return {"_o": "datetime", "t": value.timestamp(), "s": value.isoformat(sep=" ")}
    if isinstance(value, dt.date):
        return {"_o": "date", "d": value.toordinal(), "s": value.isoformat()}
    if isinstance(value, dt.time):
        secs = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return {"_o": "time", "t": secs, "s": value.strftime("%H:%M:%S")}
    if isinstance(value, dt.timedelta):
        return {"_o": "timedelta", "t": value.total_seconds(), "s": str(value)}
    if isinstance(value, BaseException):
        return {"_o": "exc", "_t": type(value).__name__, "_r": repr(value), "msg": str(value)}
    return None


def decode(value: Any, hook: DecodeHook) -> Any:
    """The value a JSON tree stands for; tags other than the builtins go to `hook`."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list):
        return [decode(v, hook) for v in value]
    if not isinstance(value, dict):
        raise CodecError(f"not a JSON value: {value!r}")
    tag = value.get("_o")
    if tag == "LIST":
        items = value.get("_d")
        if not isinstance(items, list):
            raise CodecError("a LIST carries its items as a list in _d")
        return [decode(v, hook) for v in items]
    if "_oi" in value or "_or" in value:
        raise CodecError("shared objects (_oi/_or) are not supported")
    fields = {unescape(k): decode(v, hook) for k, v in value.items() if k != "_o"}
    if tag is None:
        return fields
    if not isinstance(tag, str):
        raise CodecError(f"a tag is a string, not {tag!r}")
    builtin = _DECODERS.get(tag)
    if builtin is not None:
        try:
            return builtin(fields)
        except (KeyError, TypeError, ValueError, OverflowError) as error:
            raise CodecError(f"bad {tag}: {error}") from None
    return hook(tag, fields)


def _datetime(f: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(f["t"]), dt.UTC)


def _time(f: dict[str, Any]) -> dt.time:
    secs = float(f["t"])
    return (dt.datetime.min + dt.timedelta(seconds=secs)).time()


_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "datetime": _datetime,
    "date": lambda f: dt.date.fromordinal(int(f["d"])),
    "time": _time,
    "timedelta": lambda f: dt.timedelta(seconds=float(f["t"])),
}


def dumps(message: dict[str, Any]) -> bytes:
    """The bytes of an encoded message."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def loads(body: bytes) -> dict[str, Any]:
    """The JSON object of a message body; `CodecError` when it is not one."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise CodecError(f"the message is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise CodecError("a message is a JSON object")
    return message
