"""The HTTP app on one screen: its routes and its middleware.

`create_app(service)` serves an existing Service (tests, embedding); `app_for(settings)`
opens the store the settings name and closes it when the server stops, after in-flight
writes are durable and watchers were told the server is going away. Each app has its
own metrics registry (`app.state.metrics`).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Lifespan, Receive, Scope, Send

from revkv._auth import Auth
from revkv._config import Settings
from revkv._service import Service
from revkv.http import _admin as admin
from revkv.http import _watch as watch
from revkv.http._errors import EXCEPTION_HANDLERS, unexpected_error_handler
from revkv.http._kv import KVDoor
from revkv.http._metrics import Metrics, MetricsMiddleware, metrics_endpoint
from revkv.http._odata import odata_mount
from revkv.http._openapi import openapi_endpoint
from revkv.http._ui import ui_mount
from revkv.store import open_backend


async def health(request: Request) -> Response:
    service: Service = request.app.state.service
    return JSONResponse({"status": "ok", "rev": service.rev})


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
        Route("/ns", admin.list_namespaces_json, methods=["GET"]),
        Route("/ns/{ns}", admin.get_namespace, methods=["GET"]),
        Route("/ns/{ns}", admin.put_namespace, methods=["PUT"]),
        odata_mount(settings),
        ui_mount(),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/openapi.json", openapi_endpoint, methods=["GET"]),
    ]


def middleware(metrics: Metrics) -> list[Middleware]:
    """Only what every request needs; compression is a proxy's job (it cost every GET)."""
    return [Middleware(MetricsMiddleware, metrics=metrics)]


def create_app(service: Service, settings: Settings | None = None) -> Starlette:
    app = _build(settings or Settings())
    app.state.service = service
    return app


def app_for(settings: Settings) -> Starlette:
    """An app that opens the configured store at start-up and closes it at shutdown."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = open_backend(
            settings.data,
            durability=settings.durability,
            auto_create_namespaces=settings.auto_create_namespaces,
            change_log_size=settings.change_log_size,
        )
        app.state.service = service = Service(store, Auth(settings.tokens))
        gc.freeze()  # what opening loaded lives as long as the server: keep it out of GC passes
        try:
            yield
        finally:
            service.close()

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
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
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
