"""The web page at /ui/: browse, diff, edit and watch a store in a browser.

Server-rendered pages (Jinja2 templates and static files shipped in this package: no
build step, no CDN, readable with JavaScript off), a little script that adds live
updates and keyboard shortcuts. Every page and form is one or two Service calls with the
session's principal: the page holds no rules about versions, conditions or rights.

    GET  /ui/                      namespaces, key counts, settings; create one
    GET  /ui/ns/{ns}?prefix=&filter=&after=&skip=   keys, folded at "/", $filter box
    POST /ui/ns  /ui/ns/{ns}/settings               create, change settings
    GET  /ui/key/{ns}?key=&v=&a=&b=                 value, meta, history, diff a..b
    GET  /ui/raw/{ns}?key=&v=                       the bytes, as a download
    GET  /ui/edit/{ns}?key=                          the editor (compare-and-set)
    POST /ui/put/{ns}  /ui/delete/{ns}  /ui/revert/{ns}
    GET  /ui/live?ns=&prefix=&since=                 the watch stream (SSE)
    GET/POST /ui/login   POST /ui/logout             the session (see `_session`)
"""

from __future__ import annotations

from importlib.resources import files
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles

from revkv.errors import RevkvError
from revkv.http._requests import service_of
from revkv.http._ui import _actions as actions
from revkv.http._ui import _pages as pages
from revkv.http._ui._gate import page, render, sessions_of
from revkv.http._ui._live import live
from revkv.http._ui._render import HIGHLIGHT_CSS
from revkv.http._ui._session import COOKIE, Session, check_origin, set_cookie

__all__ = ["ui_mount"]


async def login_form(request: Request) -> Response:
    if not service_of(request).auth.enabled:
        return RedirectResponse("/ui/", 303)
    return render(request, None, "login.html", next=_next(request), error=None)


async def login(request: Request) -> Response:
    """Check the token once with the Service; the session keeps its principal only."""
    service = service_of(request)
    form = await request.form(max_fields=5)
    token, back = form.get("token"), form.get("next")
    back = back if isinstance(back, str) and back.startswith("/ui/") else "/ui/"
    try:
        check_origin(request)
        principal = service.principal(f"Bearer {token if isinstance(token, str) else ''}")
    except RevkvError as error:
        return render(request, None, "login.html", 401, next=back, error=error)
    session = sessions_of(request).start(principal)
    response = RedirectResponse(back, 303)
    set_cookie(response, request, session)
    return response


async def logout(request: Request, session: Session) -> Response:
    sessions_of(request).end(request)
    response = RedirectResponse("/ui/login" if session.principal.name else "/ui/", 303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


async def raw(request: Request, session: Session) -> Response:
    """A version's bytes as a download (never rendered by the browser as a page)."""
    service = service_of(request)
    ns, name = request.path_params["ns"], request.query_params.get("key", "")
    service.authorize(session.principal, ns, False)
    version = request.query_params.get("v")
    commit = await service.aget(ns, name, int(version) if version and version.isdigit() else None)
    filename = quote(name.rsplit("/", 1)[-1] or "value", safe="")
    return Response(
        commit.payload,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{filename}",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def highlight_css(request: Request) -> Response:
    return Response(HIGHLIGHT_CSS, media_type="text/css")


def _next(request: Request) -> str:
    back = request.query_params.get("next", "/ui/")
    return back if back.startswith("/ui/") else "/ui/"


def ui_mount() -> Mount:
    """The UI's routes under /ui (a Router: the app's error handlers stay in force)."""
    static = StaticFiles(directory=str(files("revkv.http._ui") / "static"))
    return Mount(
        "/ui",
        app=Router(
            [
                Route("/", page(pages.namespaces), methods=["GET"]),
                Route("/ns", page(actions.create_namespace, write=True), methods=["POST"]),
                Route("/ns/{ns}", page(pages.namespace), methods=["GET"]),
                Route(
                    "/ns/{ns}/settings",
                    page(actions.change_settings, write=True),
                    methods=["POST"],
                ),
                Route("/key/{ns}", page(pages.key), methods=["GET"]),
                Route("/raw/{ns}", page(raw), methods=["GET"]),
                Route("/edit/{ns}", page(pages.edit), methods=["GET"]),
                Route("/put/{ns}", page(actions.put, write=True), methods=["POST"]),
                Route("/delete/{ns}", page(actions.delete, write=True), methods=["POST"]),
                Route("/revert/{ns}", page(actions.revert, write=True), methods=["POST"]),
                Route("/live", live, methods=["GET"]),
                Route("/login", login_form, methods=["GET"]),
                Route("/login", login, methods=["POST"]),
                Route("/logout", page(logout, write=True), methods=["POST"]),
                Route("/highlight.css", highlight_css, methods=["GET"]),
                Mount("/static", app=static, name="ui-static"),
            ]
        ),
    )
