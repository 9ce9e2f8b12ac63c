"""The page's live stream: the /watch door's Server-Sent Events, authenticated by the
session cookie (an EventSource sends cookies, never an Authorization header).

`GET /ui/live?ns=NS&prefix=P&since=REV` streams what `/watch/NS` would, with the same
frames, resume (`Last-Event-ID`) and limits; without a session it is a 401 with no CORS
header, so another origin learns nothing from it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from revkv.errors import Busy, InvalidRequest, RevkvError, Unauthorized
from revkv.http._errors import error_response
from revkv.http._requests import service_of
from revkv.http._ui._gate import session_of
from revkv.http._watch import _events, _since


async def live(request: Request) -> Response:
    session, _ = session_of(request)
    try:
        if session is None:
            raise Unauthorized("sign in at /ui/login first: the live stream needs a session")
        namespace = request.query_params.get("ns")
        if not namespace:
            raise InvalidRequest("name the namespace to watch: ?ns=...")
        service = service_of(request)
        service.authorize(session.principal, namespace, False)
        settings = request.app.state.settings
        if service.watchers >= settings.max_watchers:
            raise Busy(f"this server serves its limit of {settings.max_watchers} watch streams")
        prefix = request.query_params.get("prefix") or None
        stream = await service.awatch(_since(request), namespace=namespace, prefix=prefix)
    except RevkvError as error:
        return error_response(error)
    return StreamingResponse(
        _events(stream, settings.watch_keepalive, False),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
