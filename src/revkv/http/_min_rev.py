"""Reading your writes across servers: a read may name the rev it must see.

Several `revkv serve --db postgresql://…` servers share one database. A GET reads the
database, but what a server tells of "now" — its newest rev (`/changes`, watches, the
`rev` of `/health`), and so where a watch starts — is its hub's view, which LISTEN/NOTIFY
moves on a few milliseconds after another server's commit. A client that wrote rev R
through server A and reads through server B says so:

    X-Revkv-Min-Rev: R        (a header: every door, OData included)
    ?min_rev=R                (a query parameter: the same, where a header is awkward)

If B's view is behind R, B reads the database's committed rev (off the event loop) and
waits on its hub for at most `min_rev_wait` seconds (a server setting, 2 s by default);
then it answers the read as usual, or, when R is still not reached, 503 `RevNotReached`
with `Retry-After`, naming R and its own rev. A malformed value is a 400. Both given:
the larger counts. The name `min_rev` has no `$`, so OData reads it as a custom query
option (which OData leaves to the service), and Rainer's servlet never had it.

Only GET and HEAD requests wait: a write is always made on the newest committed state.
The check costs a request without either one dict lookup and one test of its query
string (`names_min_rev`), so the hot `/kv` GET stays as fast as without it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from revkv._service import Service
from revkv.errors import RevkvError
from revkv.http._errors import error_response
from revkv.http._numbers import parse_whole
from revkv.http._requests import headers_of

__all__ = ["HEADER", "PARAM", "MinRevGate", "names_min_rev", "reach", "refused", "wanted_rev"]

HEADER = "x-revkv-min-rev"
PARAM = "min_rev"
_PARAM_BYTES = PARAM.encode()
READS = frozenset({"GET", "HEAD"})


def names_min_rev(scope: Scope) -> bool:
    """Whether a request may name a min rev: the one cheap test every request pays
    (the headers' dict is made once per request, and the door reads it anyway)."""
    return HEADER in headers_of(scope) or _PARAM_BYTES in scope.get("query_string", b"")


def wanted_rev(scope: Scope) -> int | None:
    """The min rev a read names (header or query parameter, the larger), or None.

    `InvalidRequest` (400) for a value that is not a whole number."""
    raw = headers_of(scope).get(HEADER)
    wanted = None if raw is None else parse_whole(raw, "X-Revkv-Min-Rev")
    query: bytes = scope.get("query_string", b"")
    if query and _PARAM_BYTES in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if name == PARAM:
                asked = parse_whole(value, "parameter 'min_rev'")
                wanted = asked if wanted is None else max(wanted, asked)
    return wanted


async def reach(scope: Scope) -> None:
    """Return once this server's view has reached the rev the read names (at once
    when it names none, or is not a read): `RevNotReached` after the server's
    `min_rev_wait`, `InvalidRequest` for a malformed value."""
    if scope["method"] not in READS:
        return
    rev = wanted_rev(scope)
    if rev is None:
        return
    app = scope["app"]
    service: Service = app.state.service
    await service.areach(rev, app.state.settings.min_rev_wait)


async def refused(scope: Scope, receive: Receive, send: Send) -> bool:
    """`reach`, with its error answered here (revkv's JSON: 400, or 503 with
    Retry-After): whether it was, and so the read must not go on."""
    try:
        await reach(scope)
    except RevkvError as error:
        await error_response(error)(scope, receive, send)
        return True
    return False


class MinRevGate:
    """ASGI middleware: a read that names a min rev waits for it (`reach`) before it
    goes on, or is answered with revkv's JSON error (400, or 503 with Retry-After)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and names_min_rev(scope) and await refused(scope, receive, send):
            return
        await self.app(scope, receive, send)
