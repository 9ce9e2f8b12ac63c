"""The HTTP app on one screen: its routes and its middleware.

`create_app(service)` serves an existing Service (tests, embedding); `app_for(settings)`
opens the store the settings name and closes it when the server stops, after in-flight
writes are durable and watchers were told the server is going away. Each app has its
own metrics registry (`app.state.metrics`).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Lifespan, Receive, Scope, Send

import revkv
from revkv._auth import Auth
from revkv._config import Settings
from revkv._service import Service
from revkv.http import _admin as admin
from revkv.http import _watch as watch
from revkv.http._errors import EXCEPTION_HANDLERS, unexpected_error_handler
from revkv.http._json import JSONResponse
from revkv.http._kv import KVDoor
from revkv.http._metrics import Metrics, MetricsMiddleware, metrics_endpoint
from revkv.http._min_rev import READS, MinRevGate, names_min_rev, refused
from revkv.http._odata import odata_mount
from revkv.http._openapi import openapi_endpoint
from revkv.http._ui import ui_mount
from revkv.store import open_backend

#: another door in the server's process: given the open Service, served while entered
Door = Callable[[Service], AbstractAsyncContextManager[None]]


async def health(request: Request) -> Response:
    """200 while the store takes writes; 503 naming the problem when it cannot (a full
    disk, a failed journal), so a load balancer or a person sees it."""
    service: Service = request.app.state.service
    if service.reads_wait:  # the figures come from the database: not on the event loop
        stats = await anyio.to_thread.run_sync(service.stats)
    else:
        stats = service.stats()
    if stats.problem is not None:
        return JSONResponse({"status": "failing", "rev": stats.rev, "problem": stats.problem}, 503)
    return JSONResponse({"status": "ok", "rev": stats.rev})


async def root(request: Request) -> Response:
    """`/`: a browser (asking for HTML) is sent to the web page; a program gets what this
    server is and where its doors are, rather than a 404."""
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("/ui/", 303)
    links = {"ui": "/ui/", "openapi": "/openapi.json", "kv": "/kv", "health": "/health"}
    return JSONResponse({"name": "revkv", "version": revkv.__version__, "links": links})


KV = Mount("/kv", app=KVDoor())


def routes(settings: Settings) -> list[Route | Mount]:
    """The routes, the hot /kv door first: Starlette tries each in turn."""
    return [
        Route("/kv", admin.list_namespaces_json, methods=["GET"]),  # not a redirect to /kv/
        KV,
        Route("/watch/{ns}", watch.watch, methods=["GET"]),
        Route("/watch", watch.watch, methods=["GET"]),
        Route("/changes", admin.get_changes, methods=["GET"]),
        Route("/txn", admin.post_txn, methods=["POST"]),
        Route("/compact", admin.post_compact, methods=["POST"]),
        Route("/ns", admin.list_namespaces_json, methods=["GET"]),
        Route("/ns/{ns}", admin.get_namespace, methods=["GET"]),
        Route("/ns/{ns}", admin.put_namespace, methods=["PUT"]),
        odata_mount(settings),
        ui_mount(),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/stats", admin.get_stats, methods=["GET"]),
        Route("/backup", admin.get_backup, methods=["GET"]),
        Route("/openapi.json", openapi_endpoint, methods=["GET"]),
        Route("/", root, methods=["GET"]),
    ]


def middleware(metrics: Metrics) -> list[Middleware]:
    """Only what every request needs; compression is a proxy's job (it cost every GET).
    A read naming a min rev waits for it before any route sees it (`_min_rev`)."""
    return [Middleware(MetricsMiddleware, metrics=metrics), Middleware(MinRevGate)]


def create_app(service: Service, settings: Settings | None = None) -> Starlette:
    app = _build(settings or Settings())
    app.state.service = service
    return app


def open_service(settings: Settings) -> Service:
    """The configured store with its Service, as `revkv serve` runs it."""
    store = open_backend(
        settings.db or settings.data,
        durability=settings.durability,
        auto_create_namespaces=settings.auto_create_namespaces,
        change_log_size=settings.change_log_size,
        change_log_bytes=settings.change_log_bytes,
        compact_on_snapshot=settings.compact_on_snapshot,
    )
    return Service(store, Auth(settings.tokens))


def app_for(
    settings: Settings, service: Service | None = None, doors: Sequence[Door] = ()
) -> Starlette:
    """An app that opens the configured store at start-up (unless given the `service`
    already opened, as `revkv serve` does to report a failure in one line) and closes it
    at shutdown.

    `doors` are other doors served in the same process on the same Service (the
    dripline service of `revkv serve --dripline`): each is entered once the Service is
    open and left before it closes.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.service = opened = service or open_service(settings)
        gc.freeze()  # what opening loaded lives as long as the server: keep it out of GC passes
        try:
            async with AsyncExitStack() as stack:
                for door in doors:
                    await stack.enter_async_context(door(opened))
                yield
        finally:
            opened.close()

    return _build(settings, lifespan)


class RevkvApp(Starlette):
    """Starlette, with requests under /kv/ taken straight to the door, past the router.

    The /kv door routes on the raw path and answers its own errors, so the generic
    middleware and the router would only add time to revkv's hottest requests. They
    are still timed by the metrics middleware; anything unexpected is still a JSON 500.
    """

    def __init__(self, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kv = MetricsMiddleware(_guarded(KV.app), metrics=metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/kv/"):
            scope["app"] = self
            scope["route"] = KV
            await self._kv(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _guarded(door: ASGIApp) -> ASGIApp:
    """The /kv door behind the min rev's check (`_min_rev`; a GET without one pays a
    dict lookup), with anything unexpected answered as revkv's JSON 500."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if (
                scope["method"] in READS
                and names_min_rev(scope)
                and await refused(scope, receive, send)
            ):
                return
            await door(scope, receive, send)
        except Exception as exc:
            response = await unexpected_error_handler(Request(scope, receive), exc)
            await response(scope, receive, send)

    return app


def _build(settings: Settings, lifespan: Lifespan[Starlette] | None = None) -> Starlette:
    metrics = Metrics(lambda: getattr(app.state, "service", None))
    app = RevkvApp(
        metrics,
        routes=routes(settings),
        middleware=middleware(metrics),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    return app
