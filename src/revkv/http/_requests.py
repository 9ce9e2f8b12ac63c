"""Reading what a request says: its capped body, author, TTL, preconditions, principal."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.types import Scope

from revkv._auth import Principal
from revkv._model import DEFAULT, DEFAULT_MAX_PAYLOAD, Default
from revkv._service import Service
from revkv.errors import InvalidRequest, PayloadTooLarge
from revkv.http._numbers import is_whole, parse_whole
from revkv.http._rainer import from_header


def header(request: Request, name: str, default: str | None = None) -> str | None:
    """A request header by its lower-case name.

    The headers are made a dict once per request: Starlette's `Headers.get` scans and
    decodes the raw list on every call, and a write reads a dozen headers.
    """
    return headers_of(request.scope).get(name, default)


def headers_of(scope: Scope) -> dict[str, str]:
    """The request's headers as a dict by lower-case name, made once per request (the
    last of repeated headers wins)."""
    headers: dict[str, str] | None = scope.get("revkv.headers")
    if headers is None:
        headers = scope["revkv.headers"] = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
        }
    return headers


def param(request: Request, name: str) -> str | None:
    """A query parameter; a request without a query string never parses one."""
    if not request.scope.get("query_string"):
        return None
    return request.query_params.get(name)


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def principal_of(request: Request, namespace: str | None, write: bool) -> Principal:
    """Authenticate the request and check it may read (or write) `namespace`."""
    service = service_of(request)
    principal = service.principal(header(request, "authorization"))
    service.authorize(principal, namespace, write)
    return principal


async def payload_limit(service: Service, namespace: str) -> int:
    """The namespace's `max_payload`, to refuse a body before reading it; without a
    query on the event loop (`Service.aget_namespace`)."""
    try:
        return (await service.aget_namespace(namespace)).max_payload
    except KeyError:
        return DEFAULT_MAX_PAYLOAD


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit`."""
    declared = header(request, "content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise InvalidRequest("Content-Length must be a number")
        if not is_whole(declared) or int(declared) > limit:
            raise PayloadTooLarge(
                f"the body of {declared[:40]} bytes is over this namespace's limit of {limit}",
                limit,
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"the body is over this namespace's limit of {limit} bytes", limit
            )
        chunks.append(chunk)
    return b"".join(chunks)


def author_and_comment(request: Request) -> tuple[str | None, str | None]:
    """`X-Revkv-Author`/`-Comment` (or Rainer's); absent ones are the Service's to fill."""
    author = from_header(header(request, "x-revkv-author") or header(request, "x-rainer-author"))
    comment = from_header(header(request, "x-revkv-comment") or header(request, "x-rainer-comment"))
    return author, comment


def ttl_of(request: Request) -> float | Default | None:
    """`X-Revkv-TTL: seconds` (or `?ttl=`); `never` for no expiry; absent: the default."""
    raw = header(request, "x-revkv-ttl") or param(request, "ttl")
    if raw is None or raw == "":
        return DEFAULT
    if raw.strip().lower() == "never":
        return None
    try:
        seconds = float(raw)
    except ValueError:
        raise InvalidRequest(f"TTL must be a number of seconds or 'never', not {raw!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidRequest(f"TTL must be a positive number of seconds, not {raw!r}")
    return seconds


def expires_of(request: Request) -> float | Default | None:
    """`X-Revkv-Expires`: when the write expires, as ISO 8601 (UTC if no zone) or epoch
    seconds, or `never`; absent: the default. Exact where a TTL depends on latency."""
    raw = header(request, "x-revkv-expires") or param(request, "expires")
    if raw is None or raw == "":
        return DEFAULT
    text = raw.strip()
    if text.lower() == "never":
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            f"X-Revkv-Expires must be an ISO 8601 time, epoch seconds or 'never', not {raw!r}"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def lifetime_of(request: Request) -> dict[str, Any]:
    """The `ttl=`/`expires=` arguments of a write; naming both is refused."""
    ttl, expires = ttl_of(request), expires_of(request)
    if not isinstance(ttl, Default) and not isinstance(expires, Default):
        raise InvalidRequest("give X-Revkv-TTL or X-Revkv-Expires, not both")
    return {"ttl": ttl, "expires": expires}


def int_param(request: Request, name: str, default: int | None = None, low: int = 0) -> Any:
    raw = param(request, name)
    if raw is None or raw == "":
        return default
    return parse_whole(raw, f"parameter {name!r}", low=low)


def if_none_match(request: Request, tag: str) -> bool:
    """Whether `If-None-Match` names `tag` (weakly compared) or is `*`: answer 304."""
    raw = header(request, "if-none-match")
    if raw is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in raw.split(",")}
    return "*" in tags or tag in tags


def etag(version: int) -> str:
    return f'"{version}"'
