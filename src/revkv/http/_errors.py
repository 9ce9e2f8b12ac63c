"""revkv's errors as HTTP answers: one table, resolved by class hierarchy.

Every error is JSON: `{"error": {"code": <class name>, "message": <for a person>, ...data}}`.
The Rainer routes keep Rainer's own bodies where pyrainer and its users expect them
(plain `Key not found`, the `{"conflict": ...}` object), unless the client asks for JSON.
Starlette's own answers (no such route, method not allowed) get the same JSON shape; a
401 always says `WWW-Authenticate: Bearer`, whichever door raised it.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Match

from revkv.errors import (
    Busy,
    Compacted,
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RevkvError,
    RevNotReached,
    StorageError,
    Unauthorized,
    Unavailable,
    VersionPurged,
)
from revkv.http._json import JSONResponse

log = logging.getLogger(__name__)

#: HTTP status by error class; an error takes the entry of the nearest class in its MRO
#: (as Starlette finds exception handlers), so a new subclass inherits its parent's.
STATUS: dict[type[BaseException], int] = {
    RevkvError: 500,
    NotFound: 404,
    Conflict: 409,
    PreconditionFailed: 412,
    InvalidRequest: 400,
    PayloadTooLarge: 413,
    Compacted: 410,
    VersionPurged: 410,
    Unauthorized: 401,
    Forbidden: 403,
    Unavailable: 503,
    StorageError: 503,
}


def status_for(error: BaseException, table: dict[type[BaseException], int] = STATUS) -> int:
    """The status of the nearest class of `error` in `table` (500 if none)."""
    for cls in type(error).__mro__:
        status = table.get(cls)
        if status is not None:
            return status
    return 500


def error_data(error: RevkvError) -> dict[str, Any]:
    """`{"code", "message", ...fields}`: the class's declared fields, None ones left out."""
    data: dict[str, Any] = {"code": type(error).__name__, "message": error.message}
    for name, value in error.wire_fields().items():
        if value is not None:
            data[name] = value if isinstance(value, (int, float, str, bool, list)) else str(value)
    return data


def json_error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status)


CHALLENGE = {"WWW-Authenticate": 'Bearer realm="revkv"'}


def error_response(error: RevkvError, headers: dict[str, str] | None = None) -> Response:
    status = status_for(error)
    if status >= 500 and not isinstance(error, Unavailable):
        log.error("request failed: %s", error)
    if isinstance(error, Unauthorized):
        headers = {**CHALLENGE, **(headers or {})}
    elif isinstance(error, (Busy, DatabaseUnavailable, RevNotReached)):
        headers = {"Retry-After": str(max(1, round(error.retry_after))), **(headers or {})}
    return JSONResponse({"error": error_data(error)}, status, headers=headers)


def wants_json(request: Request) -> bool:
    return "json" in request.headers.get("accept", "")


async def revkv_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RevkvError)
    return error_response(exc)


HTTP_CODES = {404: "NoSuchRoute", 405: "MethodNotAllowed"}


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's routing errors (404, 405) in revkv's JSON shape."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message = f"no route for {request.url.path}; see /openapi.json"
    elif exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
        message = f"{request.method} is not allowed here; use {headers['Allow']}"
    else:
        message = exc.detail
    response = json_error(exc.status_code, HTTP_CODES.get(exc.status_code, "HTTPError"), message)
    response.headers.update(headers)
    return response


def allowed_methods(request: Request) -> str:
    """Every method some route takes on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def client_gone_handler(request: Request, exc: Exception) -> Response:
    """The client left, or took too long and was answered 408 (`_protocol`): no one to
    answer and nothing went wrong here, so nothing to log."""
    return Response(status_code=400)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ClientDisconnect):  # the /kv door's own guard comes here
        return await client_gone_handler(request, exc)
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return json_error(500, "InternalError", "the server failed; this is a bug, see its log")


EXCEPTION_HANDLERS = {
    RevkvError: revkv_error_handler,
    HTTPException: http_error_handler,
    ClientDisconnect: client_gone_handler,
    Exception: unexpected_error_handler,
}
