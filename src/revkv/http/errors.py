"""revkv's errors as HTTP answers: one table, resolved by class hierarchy.

Every error is JSON: `{"error": {"code": <class name>, "message": <for a person>, ...data}}`.
The Rainer routes keep Rainer's own bodies where pyrainer and its users expect them
(plain `Key not found`, the `{"conflict": ...}` object), unless the client asks for JSON.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from revkv.errors import (
    Compacted,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PrevalenceError,
    QuerySyntaxError,
    ReadOnly,
    RevkvError,
    StorageError,
    TxnConflict,
    Unauthorized,
    VersionConflict,
)

log = logging.getLogger(__name__)

STATUS: list[tuple[type[BaseException], int]] = [
    (NotFound, 404),
    (VersionConflict, 409),
    (TxnConflict, 409),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (QuerySyntaxError, 400),
    (InvalidRequest, 400),
    (Compacted, 410),
    (Unauthorized, 401),
    (Forbidden, 403),
    (ReadOnly, 503),
    (StorageError, 503),
    (PrevalenceError, 500),
    (RevkvError, 500),
]


def status_for(error: BaseException) -> int:
    for cls, status in STATUS:
        if isinstance(error, cls):
            return status
    return 500


def error_data(error: RevkvError) -> dict[str, Any]:
    data: dict[str, Any] = {"code": type(error).__name__, "message": error.message}
    for name in ("current_version", "expected_version", "oldest_rev", "position", "limit"):
        value = getattr(error, name, None)
        if value is not None:
            data[name] = value
    if isinstance(error, TxnConflict):
        data["failed"] = [
            {"namespace": ns, "key": k, "expected": e, "actual": a} for ns, k, e, a in error.failed
        ]
    return data


def json_error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status)


def error_response(error: RevkvError, headers: dict[str, str] | None = None) -> Response:
    status = status_for(error)
    if status >= 500:
        log.error("request failed: %s", error)
    return JSONResponse({"error": error_data(error)}, status, headers=headers)


def wants_json(request: Request) -> bool:
    return "json" in request.headers.get("accept", "")


async def revkv_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RevkvError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return error_response(exc, headers)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return json_error(500, "InternalError", "the server failed; this is a bug, see its log")


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
