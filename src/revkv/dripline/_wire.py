"""dripline wp1 messages: what travels in an AMQP body, and revkv's errors as retcodes.

A message is one JSON object (``content_encoding: application/json``) or the same as
msgpack (``application/msgpack``) in the body of an AMQP message::

    request  (msgtype 3) on exchange `requests`, routing key = target ("peaches",
             "peaches.log_interval", "broadcast.ping"), reply_to + correlation_id set
        {"msgtype": 3, "msgop": 1, "timestamp": "2015-12-05T01:25:03Z",
         "sender_info": {"package", "exe", "version", "commit", "hostname", "username"},
         "payload": {"values": [...], ...named arguments},
         "lockout_key": "hex"}                                   (optional)
    reply    (msgtype 2) on exchange `requests`, routing key = the request's reply_to,
             same correlation_id
        {"msgtype": 2, "retcode": 0, "return_msg": "", "payload": {...}, "timestamp", "sender_info"}
    alert    (msgtype 4) on exchange `alerts`, routing key "sensor_value.<endpoint>"
        {"msgtype": 4, "payload": {"value_raw": "0.75", "value_cal": 1.5}, ...}

msgop: 0 set, 1 get, 6 config, 7 send, 8 run, 9 cmd. A reply's payload is always an
object: a bare result `x` travels as ``{"values": [x]}``.

Numbers stay exact: JSON floats are decoded as `Decimal` (so ``1.79`` is 1.79, not
1.79000000000000003552713678800500929355621337890625), msgpack doubles through their
shortest repr; `Decimal`s are encoded back as JSON numbers.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
import time
from decimal import Decimal
from enum import IntEnum
from typing import Any

import msgspec

from revkv.errors import (
    Compacted,
    Conflict,
    Forbidden,
    InvalidRequest,
    InvalidValue,
    Locked,
    MalformedMessage,
    NotFound,
    RevkvError,
    StorageError,
    TimedOut,
    Unauthorized,
    Unavailable,
    Unroutable,
    UnsupportedOperation,
)

JSON = "application/json"
MSGPACK = "application/msgpack"
PROTOCOL_VERSION = "wp1.4.0"


class MsgType(IntEnum):
    REPLY = 2
    REQUEST = 3
    ALERT = 4
    INFO = 5


class MsgOp(IntEnum):
    SET = 0
    GET = 1
    CONFIG = 6
    SEND = 7
    RUN = 8
    CMD = 9


#: dripline's return codes by revkv error class; an error takes the entry of the
#: nearest class in its MRO, as HTTP statuses do (`revkv.http._errors.STATUS`).
RETCODE: dict[type[BaseException], int] = {
    RevkvError: 300,  # internal error
    Unroutable: 102,
    MalformedMessage: 302,
    InvalidRequest: 303,  # payload error
    InvalidValue: 304,
    TimedOut: 305,
    UnsupportedOperation: 306,
    Forbidden: 307,
    Unauthorized: 307,
    Locked: 307,
    NotFound: 304,  # a key deleted or expired through another door has no value
    Conflict: 400,
    Compacted: 400,
    Unavailable: 400,  # the database cannot do this now
    StorageError: 400,
}
UNHANDLED = 999

#: What a retcode means, for people (dripline's names).
RETCODE_NAMES = {
    0: "success",
    1: "no action taken",
    100: "AMQP error",
    101: "AMQP connection error",
    102: "AMQP routing key error",
    200: "hardware error",
    300: "internal error",
    301: "no message encoding",
    302: "decoding error",
    303: "payload error",
    304: "value error",
    305: "timeout",
    306: "method not supported",
    307: "access denied",
    308: "invalid key",
    400: "database error",
    999: "unhandled exception",
}

#: A reply's retcode back to an error class (what `revkv.dripline.Interface` raises).
ERROR_FOR_RETCODE: dict[int, type[RevkvError]] = {
    102: Unroutable,
    302: MalformedMessage,
    303: InvalidRequest,
    304: InvalidValue,
    305: TimedOut,
    306: UnsupportedOperation,
    307: Locked,
    400: Unavailable,
}


def retcode_for(error: BaseException) -> int:
    """The retcode of the nearest class of `error` in `RETCODE` (999: not revkv's)."""
    for cls in type(error).__mro__:
        code = RETCODE.get(cls)
        if code is not None:
            return code
    return UNHANDLED


def timestamp(now: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


def sender_info(username: str | None = None) -> dict[str, str]:
    """Who sends: dripline's `sender_info`, naming revkv as the package."""
    from revkv import __version__

    try:
        user = username or getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {
        "package": "revkv",
        "exe": sys.argv[0] if sys.argv else "revkv",
        "version": PROTOCOL_VERSION,
        "commit": f"revkv-{__version__}",
        "hostname": socket.gethostname(),
        "username": user,
    }


def _enc_hook(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


_json_encoder = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number")
_json_decoder = msgspec.json.Decoder(float_hook=Decimal)
_msgpack_encoder = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
_msgpack_decoder = msgspec.msgpack.Decoder()


def encode(message: dict[str, Any], encoding: str = JSON) -> bytes:
    """A message as bytes in `encoding` (JSON unless msgpack is asked for)."""
    if encoding == MSGPACK:
        return _msgpack_encoder.encode(_floats(message))
    return _json_encoder.encode(message)


def _floats(value: Any) -> Any:
    """msgpack has no decimal: exact values travel as the double nearest them."""
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value


def decode(body: bytes, encoding: str | None) -> dict[str, Any]:
    """A message from bytes; `MalformedMessage` for anything but an object in JSON or
    msgpack. A missing content_encoding is read as JSON, as dripline does."""
    try:
        if encoding == MSGPACK:
            message = _exact(_msgpack_decoder.decode(body))
        elif encoding in (None, "", JSON, "json"):
            message = _json_decoder.decode(body)
        else:
            raise MalformedMessage(
                f"unknown content_encoding {encoding!r}: send {JSON} or {MSGPACK}"
            )
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise MalformedMessage(f"cannot decode the message body as {encoding}: {error}") from None
    if not isinstance(message, dict):
        raise MalformedMessage(f"a message is an object, not {type(message).__name__}")
    return message


def _exact(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value


def reply(
    retcode: int, return_msg: str, payload: Any, *, sender: dict[str, str] | None = None
) -> dict[str, Any]:
    """A reply message; a payload that is not an object is wrapped as ``{"values": [x]}``."""
    if payload is None:
        payload = {}
        return_msg = return_msg or ("operation completed silently" if retcode == 0 else "")
    elif not isinstance(payload, dict):
        payload = {"values": [payload]}
    return {
        "msgtype": MsgType.REPLY,
        "retcode": retcode,
        "return_msg": return_msg,
        "payload": payload,
        "timestamp": timestamp(),
        "sender_info": sender or sender_info(),
    }


def request(
    msgop: MsgOp,
    payload: dict[str, Any],
    *,
    lockout_key: str | None = None,
    username: str | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "msgtype": MsgType.REQUEST,
        "msgop": int(msgop),
        "timestamp": timestamp(),
        "sender_info": sender_info(username),
        "payload": payload,
    }
    if lockout_key:
        message["lockout_key"] = lockout_key
    return message


def alert(payload: dict[str, Any], *, sender: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "msgtype": MsgType.ALERT,
        "timestamp": timestamp(),
        "sender_info": sender or sender_info(),
        "payload": payload,
    }
