"""AsyncBrokerClient: the guide's session and a namespace's invalidation, from asyncio
code, in process and over a real RabbitMQ."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from pathlib import Path
from typing import Any

import pytest

import revkv
from revkv.broker import AsyncBrokerClient, BrokerServer, NoData, NotExported, RevkvLoader
from tests.broker.guide import local_cfg, serve_guide
from tests.broker.test_revkv import Root
from tests.rabbitmq import RabbitMQ

_names = itertools.count()


def amqp_cfg(rabbitmq: RabbitMQ) -> dict[str, Any]:
    n = next(_names)
    return {
        "transport": "amqp",
        "amqp_url": rabbitmq.url,
        "rpc_queue": f"async_queue_{n}",
        "rpc_exchange": f"async_alert_{n}",
        "timeout": 20,
    }


async def guide_session(cfg: dict[str, Any]) -> None:
    broker, root = serve_guide(cfg)
    try:
        async with AsyncBrokerClient(cfg) as client:
            remote = await client.root()
            assert remote.version_string == "0.12.3"
            status = await client.fetch(remote, "status")
            assert status.health == "OK"
            many = await asyncio.gather(
                *(client.invoke(remote, "login", f"user{i}", "x") for i in range(20))
            )
            assert many == [f"welcome user{i}" for i in range(20)]
            assert await client.call("hello", "you") == "hello you"
            ref = await client.invoke(remote, "special_ref", "hi")
            assert (await client.get(ref)).msg == "hi"
            with pytest.raises(NotExported):
                await client.invoke(remote, "secret")
            await asyncio.to_thread(broker.obj_update, root.status, health="poor")
            await client.call("hello", "again")  # its reply follows the broadcast
            assert status._obsolete
            assert (await client.fetch(remote, "status")).health == "poor"
    finally:
        broker.stop()


def test_the_guide_in_process() -> None:
    asyncio.run(guide_session(local_cfg()))


def test_the_guide_over_rabbitmq(rabbitmq: RabbitMQ) -> None:
    asyncio.run(guide_session(amqp_cfg(rabbitmq)))


def test_a_namespace_searched_and_invalidated(rabbitmq: RabbitMQ, tmp_path: Path) -> None:
    cfg = amqp_cfg(rabbitmq)

    async def scenario(service: Any) -> None:
        async with AsyncBrokerClient(cfg) as client:
            people = (await client.root()).data["people"]
            joe = await client.get_one(people, name="joe")
            assert (joe.payload, joe.version) == ({"name": "joe", "age": 3}, 1)
            assert await client.count(people, age=3) == 1
            assert [p.key for p in await client.find(people, name="joe")] == ["joe"]
            with pytest.raises(NoData):
                await client.get_one(people, name="nobody")
            service.put("people", "joe", b'{"name": "joe", "age": 4}')
            while not joe._obsolete:  # the store's watch feed, then RabbitMQ
                await asyncio.sleep(0.01)
            joe = await client.get(joe._key)
            assert (joe.payload["age"], joe.version) == (4, 2)
            history = await client.invoke(joe, "history")
            assert [h["version"] for h in history] == [2, 1]

    with revkv.open(tmp_path / "data") as service:
        service.create_namespace("people")
        service.put("people", "joe", b'{"name": "joe", "age": 3}', author="ann")
        broker = BrokerServer(cfg)
        root = Root()
        broker.export_object(root, "data")
        broker.root = root
        loader = RevkvLoader(service, broker)
        loader.add_namespace("people", root.data)
        broker.start()
        loader.start()
        try:
            asyncio.run(scenario(service))
        finally:
            loader.stop()
            broker.stop()


def test_the_twins_share_their_signatures() -> None:
    from revkv.broker import BrokerClient

    for name in ("start", "stop", "get", "call", "send"):
        sync, async_ = getattr(BrokerClient, name), getattr(AsyncBrokerClient, name)
        assert inspect.signature(sync) == inspect.signature(async_), name
        assert asyncio.iscoroutinefunction(async_), name
