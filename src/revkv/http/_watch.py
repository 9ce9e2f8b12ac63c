"""Live changes over HTTP: Server-Sent Events, or a long poll (Consul's blocking query).

    GET /watch/{ns}?prefix=&since=REV           text/event-stream, resumable (Last-Event-ID)
    GET /watch/{ns}?since=REV&wait=30s          JSON: the changes after REV, waiting up to 30 s
    GET /watch                                  the same over every namespace

Each SSE event is `event: put|delete|expire|reset` and a JSON `data` line; its `id: <rev>`
line is where a client resumes from. The commits of one transaction share a rev, so only
the last event of a rev carries the `id`: a client that reconnects with `Last-Event-ID`
(which wins over `since`, as an EventSource keeps its first URL) never loses the rest of a
transaction nor sees any event twice. A comment line every `watch_keepalive` seconds keeps
proxies from closing an idle stream. A client that asks for a rev older than the retained
history gets `410 Gone` with the oldest rev it can resume from, unless it asked for
`resync=true`: then a `reset` event with the current state comes first. A stream that
falls that far behind while open gets `event: error` (the same JSON) and ends; so does
one whose read fails (`DatabaseUnavailable`: PostgreSQL down), after which a client
resumes with `Last-Event-ID` (a 503 with Retry-After until the database is back). On
shutdown each stream gets a final `event: shutdown` and ends. Over PostgreSQL no read of
a watch runs on the event loop (`Service.awatch`), its catch-up included.

The long poll answers `{"rev", "events"}` (and `X-Revkv-Index: rev`): at once when there
are changes after `since`, else when one comes or `wait` runs out. `rev` is where the next
poll resumes from; a long answer is cut between two revs, never inside one.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from revkv._hub import Watch
from revkv._model import Event
from revkv.errors import Busy, InvalidRequest, RevkvError
from revkv.http._errors import error_data
from revkv.http._json import JSONResponse
from revkv.http._numbers import parse_whole
from revkv.http._rainer import parse_bool
from revkv.http._requests import principal_of, service_of

MAX_WAIT = 300.0
MAX_POLL_EVENTS = 1000  # per long-poll answer (a transaction is never split)
FLUSH_EVERY = 100  # SSE frames per chunk written
KEEPALIVE = b": keep-alive\n\n"
SHUTDOWN = b"event: shutdown\ndata: {}\n\n"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")


def parse_wait(raw: str) -> float:
    """`30s`, `1.5m`, `500ms` or plain seconds, at most five minutes."""
    match = _DURATION.match(raw)
    if not match:
        raise InvalidRequest(f"wait must be a duration such as 30s, 2m or 500ms, not {raw!r}")
    value = float(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[match.group(2)]
    return min(value, MAX_WAIT)


def _since(request: Request) -> int | None:
    """Where to resume: `Last-Event-ID` (an EventSource reconnecting) wins over `?since=`."""
    raw = request.headers.get("last-event-id") or request.query_params.get("since")
    if raw is None or raw.strip() == "":
        return None
    what = "Last-Event-ID" if request.headers.get("last-event-id") else "since"
    return parse_whole(raw, f"{what} (a rev)")


async def watch(request: Request) -> Response:
    namespace = request.path_params.get("ns")
    principal_of(request, namespace, write=False)
    params = request.query_params
    resync = parse_bool(params.get("resync"), "resync")
    payloads = parse_bool(params.get("payloads"), "payloads")
    service = service_of(request)
    settings = request.app.state.settings
    if service.watchers >= settings.max_watchers:
        raise Busy(
            f"this server already serves its limit of {settings.max_watchers} watch streams "
            "(max_watchers); retry later"
        )
    since = _since(request)
    prefix = params.get("prefix") or None
    if "wait" in params:
        wait = parse_wait(params["wait"])
        start = service.rev if since is None else since
        stream = await service.awatch(start, namespace=namespace, prefix=prefix, resync=resync)
        return await _long_poll(stream, start, wait, payloads)
    stream = await service.awatch(since, namespace=namespace, prefix=prefix, resync=resync)
    return StreamingResponse(
        _events(stream, settings.watch_keepalive, payloads),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _next_event(stream: Watch, timeout: float) -> Event | None:
    """The next event, or None after `timeout` seconds.

    A watch pulls the change log a page at a time and sleeps when a page held nothing
    for it, so first read on while durable changes are left: a filtered watcher far
    behind must not sleep with its events already there.
    """
    while stream.behind:
        before = stream.cursor
        event = await stream.anext(timeout=0)
        if event is not None:
            return event
        if stream.cursor == before:
            break
    return await stream.anext(timeout=timeout)


async def _events(stream: Watch, keepalive: float, payloads: bool) -> AsyncIterator[bytes]:
    try:
        yield f": watching from rev {stream.start}\n\n".encode()
        while True:
            event = await _next_event(stream, keepalive)
            if event is not None:
                async for chunk in _frames(stream, event, payloads):
                    yield chunk
            elif stream.ended:
                yield SHUTDOWN
                return
            else:
                yield KEEPALIVE
    except RevkvError as exc:  # fell behind the retained history, or the database is down
        yield f"event: error\ndata: {json.dumps({'error': error_data(exc)})}\n\n".encode()
    finally:
        stream.close()


async def _frames(stream: Watch, first: Event, payloads: bool) -> AsyncIterator[bytes]:
    """`first` and every event already available, `id:` on the last event of each rev.

    A watch pulls whole revs, so when nothing more is available the rev is complete.
    """
    frames: list[bytes] = []
    event: Event | None = first
    while event is not None:
        following = await stream.anext(timeout=0)
        frames.append(_frame(event, payloads, following is None or following.rev != event.rev))
        if len(frames) >= FLUSH_EVERY:
            yield b"".join(frames)
            frames.clear()
        event = following
    if frames:
        yield b"".join(frames)


def _frame(event: Event, payloads: bool, with_id: bool) -> bytes:
    data = json.dumps(event.to_dict(payloads), separators=(",", ":"))
    head = f"id: {event.rev}\n" if with_id else ""
    return f"{head}event: {event.type}\ndata: {data}\n\n".encode()


async def _long_poll(stream: Watch, start: int, wait: float, payloads: bool) -> Response:
    try:
        events, rev = await _collect(stream, wait)
    finally:
        stream.close()
    rev = max(rev, start)
    body = {"rev": rev, "events": [e.to_dict(payloads) for e in events]}
    return JSONResponse(body, headers={"X-Revkv-Index": str(rev)})


async def _collect(stream: Watch, wait: float) -> tuple[list[Event], int]:
    """(events, the rev to resume from): those available now, or the first to come."""
    first = await _next_event(stream, wait)
    if first is None:
        first = await _next_event(stream, 0)  # read past what did not concern us
        if first is None:
            return [], stream.cursor
    events = [first]
    while True:
        more = await stream.anext(timeout=0)
        if more is None:  # every rev pulled is complete
            return events, stream.cursor
        if len(events) >= MAX_POLL_EVENTS and more.rev != events[-1].rev:
            return events, events[-1].rev  # `more` comes again in the next poll
        events.append(more)
