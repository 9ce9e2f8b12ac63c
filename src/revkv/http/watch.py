"""Live changes over HTTP: Server-Sent Events, or a long poll (Consul's blocking query).

    GET /watch/{ns}?prefix=&since=REV           text/event-stream, resumable (Last-Event-ID)
    GET /watch/{ns}?since=REV&wait=30s          JSON: the changes after REV, waiting up to 30 s
    GET /watch                                  the same over every namespace

Each SSE event has `id: <rev>`, `event: put|delete|expire|reset` and a JSON `data` line;
a comment line every `watch_keepalive` seconds keeps proxies from closing an idle
stream. A client that asks for a rev older than the retained history gets `410 Gone`
with the oldest rev it can resume from, unless it asked for `resync=true`: then a
`reset` event with the current state comes first. On shutdown each stream gets a final
`event: shutdown` and ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from revkv.errors import InvalidRequest
from revkv.http.admin import event_dict
from revkv.http.rainer import parse_bool
from revkv.http.requests import principal_of, service_of
from revkv.hub import Watch

MAX_WAIT = 300.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")


def parse_wait(raw: str) -> float:
    """`30s`, `1.5m`, `500ms` or plain seconds, at most five minutes."""
    match = _DURATION.match(raw)
    if not match:
        raise InvalidRequest(f"wait must be a duration such as 30s, 2m or 500ms, not {raw!r}")
    value = float(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[match.group(2)]
    return min(value, MAX_WAIT)


def _since(request: Request) -> int | None:
    raw = request.query_params.get("since") or request.headers.get("last-event-id")
    if raw is None or raw == "":
        return None
    if not raw.strip().isdigit():
        raise InvalidRequest(f"since must be a rev (a whole number), not {raw!r}")
    return int(raw)


async def watch(request: Request) -> Response:
    namespace = request.path_params.get("ns")
    principal_of(request, namespace, write=False)
    params = request.query_params
    resync = parse_bool(params.get("resync"), "resync")
    payloads = parse_bool(params.get("payloads"), "payloads")
    service = service_of(request)
    since = _since(request)
    if "wait" in params:
        return await _long_poll(request, since, parse_wait(params["wait"]), payloads, resync)
    stream = service.watch(since, namespace, params.get("prefix") or None, resync)
    keepalive = request.app.state.settings.watch_keepalive
    return StreamingResponse(
        _events(stream, keepalive, payloads),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(stream: Watch, keepalive: float, payloads: bool) -> AsyncIterator[bytes]:
    try:
        yield f": watching from rev {stream.cursor}\n\n".encode()
        while True:
            event = await stream.anext(timeout=keepalive)
            if event is not None:
                data = json.dumps(event_dict(event, payloads), separators=(",", ":"))
                yield f"id: {event.rev}\nevent: {event.type}\ndata: {data}\n\n".encode()
            elif stream.hub.closed:
                yield b"event: shutdown\ndata: {}\n\n"
                return
            else:
                yield b": keep-alive\n\n"
    finally:
        stream.close()


async def _long_poll(
    request: Request, since: int | None, wait: float, payloads: bool, resync: bool
) -> Response:
    service = service_of(request)
    namespace = request.path_params.get("ns")
    start = service.rev if since is None else since
    stream = service.watch(start, namespace, request.query_params.get("prefix") or None, resync)
    try:
        events = []
        first = await stream.anext(timeout=wait)
        if first is not None:
            events.append(first)
            while (more := await stream.anext(timeout=0)) is not None and len(events) < 1000:
                events.append(more)
    finally:
        stream.close()
    rev = max([e.rev for e in events] + [start, stream.cursor])
    body = {"rev": rev, "events": [event_dict(e, payloads) for e in events]}
    return JSONResponse(body, headers={"X-Revkv-Index": str(rev)})
