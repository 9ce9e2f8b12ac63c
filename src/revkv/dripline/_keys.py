"""Where the dripline door's values live: the Service in this process, or a revkv server.

The door needs four things of a store: read a key's newest value, commit a new one
with compare-and-set, create its namespaces, and follow commits live. `LocalKeys`
does them on the Service (`revkv.open()`, or the HTTP server's own, for `revkv serve
--dripline`); `RemoteKeys` on `revkv.AsyncClient` (`revkv dripline serve --url`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from revkv._model import Commit, Event, Expect, Meta
from revkv._service import Service
from revkv.client import AsyncClient
from revkv.errors import NotFound


class Keys(Protocol):
    async def read(self, namespace: str, key: str) -> Commit | None: ...
    async def write(
        self,
        namespace: str,
        key: str,
        payload: str,
        *,
        expect: Expect | None,
        author: str,
        comment: str,
    ) -> Meta: ...
    async def ensure_namespace(self, namespace: str) -> None: ...
    def follow(self) -> AsyncIterator[Event]: ...
    async def close(self) -> None: ...


class LocalKeys:
    """The Service of this process; reads and writes are awaited (`Service.aget`: a
    database read does not block the event loop), writes until durable."""

    def __init__(self, service: Service, *, owned: bool = False) -> None:
        self.service = service
        self._owned = owned

    async def read(self, namespace: str, key: str) -> Commit | None:
        try:
            return await self.service.aget(namespace, key)
        except NotFound:
            return None

    async def write(
        self,
        namespace: str,
        key: str,
        payload: str,
        *,
        expect: Expect | None,
        author: str,
        comment: str,
    ) -> Meta:
        pending = self.service.aput(
            namespace, key, payload, expect=expect, author=author, comment=comment
        )
        commit: Commit = await pending
        return commit.meta

    async def ensure_namespace(self, namespace: str) -> None:
        await self.service.acreate_namespace(namespace, True)

    async def follow(self) -> AsyncIterator[Event]:
        watch = await self.service.awatch()
        try:
            async for event in watch:
                yield event
        finally:
            watch.close()

    async def close(self) -> None:
        if self._owned:
            self.service.close()


class RemoteKeys:
    """A revkv server over HTTP; its watch stream reconnects by itself."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    async def read(self, namespace: str, key: str) -> Commit | None:
        try:
            return await self.client.get(namespace, key)
        except NotFound:
            return None

    async def write(
        self,
        namespace: str,
        key: str,
        payload: str,
        *,
        expect: Expect | None,
        author: str,
        comment: str,
    ) -> Meta:
        return await self.client.put(
            namespace, key, payload, expect=expect, author=author, comment=comment
        )

    async def ensure_namespace(self, namespace: str) -> None:
        await self.client.create_namespace(namespace, exist_ok=True)

    async def follow(self) -> AsyncIterator[Event]:
        watch = await self.client.watch()
        try:
            async for event in watch:
                yield event
        finally:
            await watch.close()

    async def close(self) -> None:
        await self.client.close()
