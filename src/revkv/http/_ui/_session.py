"""Who is using the page: a server-side session named by an HttpOnly cookie.

A browser cannot put an `Authorization` header on a link, a form or an EventSource, so
the page asks for the token once (`/ui/login`), checks it with the Service and keeps
only the principal it names in a session here; the browser holds a random session id
in a cookie that is

- `HttpOnly`: no script, not even the page's own, can read it (nor the token, which
  never reaches the browser again);
- `SameSite=Strict` and `Path=/ui`: another site's page cannot make the browser send
  it, so a cross-site request, a form post or an `EventSource`, arrives anonymous and
  is refused; the UI answers no CORS headers, so nothing it says is readable elsewhere;
- without `Expires`: it ends with the browser session (or `/ui/logout`).

Writes are also CSRF-checked, in case SameSite is not honoured: every form carries the
session's synchronizer token, compared in constant time, and a request whose `Origin`
is not this server's own is refused. Without tokens configured everyone may do
everything, and the session (made on the first visit) only carries the CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from revkv._auth import ANONYMOUS, Principal
from revkv.errors import Forbidden

COOKIE = "revkv_ui"
MAX_SESSIONS = 10_000
IDLE_SECONDS = 12 * 3600.0


@dataclass
class Session:
    id: str
    principal: Principal
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    seen: float = field(default_factory=time.monotonic)

    @property
    def anonymous(self) -> bool:
        return self.principal is ANONYMOUS

    def may_write(self, namespace: str | None) -> bool:
        return self.principal.may(namespace, True)


class Sessions:
    """The open sessions, the least recently used dropped beyond `MAX_SESSIONS` and
    any idle for `IDLE_SECONDS`; they live in memory, so a restart asks again."""

    def __init__(self) -> None:
        self._open: OrderedDict[str, Session] = OrderedDict()

    def of(self, request: Request) -> Session | None:
        sid = request.cookies.get(COOKIE)
        session = self._open.get(sid) if sid else None
        if session is None:
            return None
        now = time.monotonic()
        if now - session.seen > IDLE_SECONDS:
            del self._open[session.id]
            return None
        session.seen = now
        self._open.move_to_end(session.id)
        return session

    def start(self, principal: Principal) -> Session:
        session = Session(secrets.token_urlsafe(32), principal)
        self._open[session.id] = session
        while len(self._open) > MAX_SESSIONS:
            self._open.popitem(last=False)
        return session

    def end(self, request: Request) -> None:
        sid = request.cookies.get(COOKIE)
        if sid:
            self._open.pop(sid, None)


def set_cookie(response: Response, request: Request, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        session.id,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def check_write(request: Request, session: Session, token: str | None) -> None:
    """Refuse a write whose form lacks the session's CSRF token, or that comes from a
    page of another origin."""
    check_origin(request)
    if not token or not hmac.compare_digest(token, session.csrf):
        raise Forbidden("the form is stale or not from this page: reload it and try again")


def check_origin(request: Request) -> None:
    """Refuse a post that a page of another origin made (browsers send `Origin`)."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != own:
        raise Forbidden(f"a post from {origin} is refused: the UI takes posts from {own}")
