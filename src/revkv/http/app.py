"""The HTTP app on one screen: its routes and its middleware.

`create_app(service)` serves an existing Service (tests, embedding); `app_for(settings)`
opens the store the settings name and closes it when the server stops, after in-flight
writes are durable and watchers were told the server is going away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from revkv.auth import Auth
from revkv.config import Settings
from revkv.errors import RevkvError
from revkv.http import admin, watch
from revkv.http.errors import revkv_error_handler, unexpected_error_handler
from revkv.http.kv import KVDoor
from revkv.service import Service
from revkv.store.embedded import EmbeddedStore


async def health(request: Request) -> Response:
    service: Service = request.app.state.service
    return JSONResponse({"status": "ok", "rev": service.rev})


def routes() -> list[Route | Mount]:
    return [
        Route("/health", health, methods=["GET"]),
        Route("/ns", admin.list_namespaces_json, methods=["GET"]),
        Route("/ns/{ns}", admin.get_namespace, methods=["GET"]),
        Route("/ns/{ns}", admin.put_namespace, methods=["PUT"]),
        Route("/txn", admin.post_txn, methods=["POST"]),
        Route("/changes", admin.get_changes, methods=["GET"]),
        Route("/watch", watch.watch, methods=["GET"]),
        Route("/watch/{ns}", watch.watch, methods=["GET"]),
        Mount("/kv", app=KVDoor()),
    ]


MIDDLEWARE = [Middleware(GZipMiddleware, minimum_size=4096)]


def create_app(service: Service, settings: Settings | None = None) -> Starlette:
    app = Starlette(
        routes=routes(),
        middleware=MIDDLEWARE,
        exception_handlers={
            RevkvError: revkv_error_handler,
            Exception: unexpected_error_handler,
        },
    )
    app.state.service = service
    app.state.settings = settings or Settings()
    return app


def app_for(settings: Settings) -> Starlette:
    """An app that opens the configured store at start-up and closes it at shutdown."""
    holder: dict[str, Service] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = EmbeddedStore(
            settings.data,
            durability=settings.durability,
            auto_create_namespaces=settings.auto_create_namespaces,
        )
        service = holder["service"] = Service(store, Auth(settings.tokens))
        app.state.service = service
        try:
            yield
        finally:
            service.close()

    app = Starlette(
        routes=routes(),
        middleware=MIDDLEWARE,
        exception_handlers={
            RevkvError: revkv_error_handler,
            Exception: unexpected_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
