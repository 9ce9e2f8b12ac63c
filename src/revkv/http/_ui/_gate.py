"""Every UI request passes here: its session found (or the login asked for), writes
CSRF-checked, and a refusal from the Service shown as a page with the server's message.

A page that reads (`reading`) runs on a worker thread when the Service's reads wait on a
database, as the REST door's reads do: its round trips must not hold up the event loop's
other requests. Over the embedded store it runs in place, answered from memory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from revkv._auth import ANONYMOUS
from revkv._service import Service
from revkv.errors import RevkvError, Unauthorized
from revkv.http._errors import status_for
from revkv.http._requests import service_of
from revkv.http._scans import run_off_loop
from revkv.http._ui._render import TEMPLATES
from revkv.http._ui._session import Session, Sessions, check_write, set_cookie

Handler = Callable[[Request, Session], Awaitable[Response]]
Reader = Callable[[Request, Session], Response]
Endpoint = Callable[[Request], Awaitable[Response]]

MAX_FORM_FIELDS = 50


def sessions_of(request: Request) -> Sessions:
    state = request.app.state
    sessions: Sessions | None = getattr(state, "ui_sessions", None)
    if sessions is None:
        sessions = state.ui_sessions = Sessions()
    return sessions


def session_of(request: Request) -> tuple[Session | None, bool]:
    """The request's session, and whether it was made just now (no tokens configured:
    everyone gets one, for its CSRF token)."""
    sessions = sessions_of(request)
    session = sessions.of(request)
    if session is not None or service_of(request).auth.enabled:
        return session, False
    return sessions.start(ANONYMOUS), True


def page(handler: Handler, write: bool = False) -> Endpoint:
    """The endpoint running `handler` for a signed-in session (`write`: a form post)."""

    async def endpoint(request: Request) -> Response:
        session, fresh = session_of(request)
        if session is None:
            return to_login(request)
        try:
            if write:
                form = await request.form(max_fields=MAX_FORM_FIELDS, max_part_size=1 << 26)
                csrf = form.get("csrf")
                check_write(request, session, csrf if isinstance(csrf, str) else None)
            response = await handler(request, session)
        except Unauthorized:
            return to_login(request)
        except RevkvError as error:
            response = refusal(request, session, error)
        if fresh:
            set_cookie(response, request, session)
        return response

    return endpoint


def reading(handler: Reader) -> Handler:
    """The page `handler` renders, read on a worker thread when reads wait on I/O."""

    async def run(request: Request, session: Session) -> Response:
        if service_of(request).reads_wait:
            return await run_off_loop(handler, request, session)
        return handler(request, session)

    return run


def to_login(request: Request) -> Response:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        back = "/ui/"
    return RedirectResponse(f"/ui/login?next={quote(back)}", 303)


def render(
    request: Request, session: Session | None, name: str, status: int = 200, **context: Any
) -> Response:
    service = service_of(request)
    context.update(session=session, auth=service.auth.enabled, rev=service.rev)
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status)


def refusal(request: Request, session: Session, error: RevkvError) -> Response:
    """What the server refused, in its words, with the status the API would answer."""
    return render(request, session, "error.html", status_for(error), error=error)


def service(request: Request) -> Service:
    return service_of(request)
