"""The broker client for asyncio code: `BrokerClient`'s core, awaited.

    async with AsyncBrokerClient(cfg) as client:
        root = await client.root()
        status = await client.fetch(root, "status")      # a ref, from the cache or the server
        await client.invoke(root, "login", "jane", "…")  # an exported method
        joe = await client.get_one(people, name="joe")  # a search on a meta

It wraps one `BrokerClient` (started on its own loop in a thread, as ever): the cache,
the invalidations, the ordering of replies after broadcasts, encoding and decoding all
stay there, written once. What differs is the wait: a request is awaited on the
transport's future (`arequest`), so a hundred requests in flight hold no threads.
Decoding a reply may fetch a meta it names (a blocking request), so it runs in a worker
thread. Objects come back as `ClientObj`s: their fields are plain attributes; reading
a ref or calling a method as an attribute would block the loop, so in async code use
`fetch` and `invoke` instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from revkv.broker._client import BrokerClient, ClientInfo, ClientKey, ClientObj, _describe
from revkv.broker._errors import ManyData, NoData
from revkv.broker._model import Key


class AsyncBrokerClient:
    """A connection to broker servers for asyncio code; `cfg` as for `BrokerClient`."""

    def __init__(self, cfg: dict[str, Any] | None = None) -> None:
        self.client = BrokerClient(cfg, start=False)

    async def start(self) -> None:
        await asyncio.to_thread(self.client.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self.client.stop)

    close = stop

    async def __aenter__(self) -> AsyncBrokerClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def root(self) -> Any:
        """The server's root object (asked for once, then read by its key)."""
        key = self.client._root_key
        if key is not None:
            return await self.get(key)
        root = await self.send("root")
        if isinstance(root, ClientObj):
            self.client._root_key = root.__dict__.get("_key")
        return root

    async def get(self, key: Key) -> Any:
        """The object `key` names: from the cache, else from the server."""
        obj = self.client.cached(key)
        return obj if obj is not None else await self.send("get", key)

    async def call(self, name: str, /, *args: Any, **named: Any) -> Any:
        """Call the server's `do_<name>`."""
        return await self.send(name, *args, **named)

    async def send(self, name: str, /, *args: Any, _o: Any = None, **named: Any) -> Any:
        """One request; its decoded result (an error the server sent is raised)."""
        client = self.client
        body = client._request_body(name, args, _o, named)
        reply, server = await client.transport.arequest(body, client.timeout)
        return await asyncio.to_thread(client._read_reply, reply, server)

    async def fetch(self, obj: ClientObj, name: str) -> Any:
        """The object that `obj`'s ref `name` names (None for an empty ref)."""
        if name not in obj._meta.refs:
            raise AttributeError(f"{obj!r} has no ref {name!r}")
        ref: ClientKey | None = obj._refs.get(name)
        return None if ref is None else await self.get(ref)

    async def invoke(self, obj: ClientObj, method: str, /, *args: Any, **named: Any) -> Any:
        """Call `obj`'s exported method `method` on the server; as with `BrokerClient`,
        a result not sent whole is a key (`await client.get(key)`)."""
        return await self.send(method, *args, _o=obj, **named)

    async def find(self, meta: ClientInfo, **match: Any) -> list[Any]:
        """Every object of `meta` whose fields equal `match`."""
        return await asyncio.to_thread(self.client.find, meta, None, match)

    async def get_one(self, meta: ClientInfo, **match: Any) -> Any:
        """The one object of `meta` whose fields equal `match` (`NoData`, `ManyData`)."""
        found = await asyncio.to_thread(self.client.find, meta, 2, match)
        if not found:
            raise NoData(f"no {meta.name} has {_describe(match)}")
        if len(found) > 1:
            raise ManyData(f"more than one {meta.name} has {_describe(match)}: use find()")
        return found[0]

    async def count(self, meta: ClientInfo, **match: Any) -> int:
        """How many objects `find(meta, **match)` would return."""
        meta._searchable()
        return int(await self.send("_dab_count", _o=meta, **match))
