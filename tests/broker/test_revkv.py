"""revkv namespaces and a prevalent system served by the broker (local transport)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import revkv
from revkv._service import Service
from revkv.broker import BaseObj, BrokerClient, BrokerServer, NoData
from revkv.broker._prevalent import serve_prevalent
from revkv.broker._revkv import RevkvLoader
from revkv.http import create_app
from revkv.prevalence import init_system, readonly
from tests.asgi import asgi_client
from tests.broker.guide import local_cfg


class Root(BaseObj):
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}


def eventually(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.005)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with revkv.open(tmp_path / "data") as service:
        service.create_namespace("people")
        service.put("people", "joe", b'{"name": "joe", "age": 3}', author="ann")
        service.put("people", "moe", b'{"name": "moe", "age": 5}', author="bob")
        service.put("people", "note", b"plain text")
        yield service


def serve(service: Service, cfg: dict[str, Any], state: Path) -> tuple[BrokerServer, RevkvLoader]:
    broker = BrokerServer(cfg)
    root = Root()
    broker.export_object(root, "data")
    loader = RevkvLoader(service, broker, state_file=state)
    loader.add_namespace("people", root.data)
    broker.root = root
    broker.start()
    loader.start()
    return broker, loader


@pytest.fixture
def served(service: Service, tmp_path: Path) -> Iterator[tuple[BrokerServer, RevkvLoader]]:
    broker, loader = serve(service, local_cfg(), tmp_path / "broker.rev")
    yield broker, loader
    loader.stop()
    broker.stop()


@pytest.fixture
def client(served: tuple[BrokerServer, RevkvLoader]) -> Iterator[BrokerClient]:
    with BrokerClient(served[0].cfg) as client:
        yield client


def test_keys_are_objects(client: BrokerClient) -> None:
    people = client.root.data["people"]
    joe = people.get(name="joe")
    assert joe.payload == {"name": "joe", "age": 3}
    assert (joe.key, joe.version, joe.author) == ("joe", 1, "ann")
    assert joe.time.year >= 2026
    assert joe._key.parts == ("kv", "people", "joe")
    assert people.get(key="note").payload == "plain text"


def test_find_and_count_by_payload_fields(client: BrokerClient) -> None:
    people = client.root.data["people"]
    assert [p.key for p in people.find(age=5)] == ["moe"]
    assert people.count() == 3
    assert people.count(author="ann") == 1
    with pytest.raises(NoData, match="name='nobody'"):
        people.get(name="nobody")


def test_history_and_revert(client: BrokerClient, service: Service) -> None:
    service.put("people", "joe", b'{"name": "joe", "age": 4}')
    joe = client.root.data["people"].get(name="joe")
    assert [h["version"] for h in joe.history()] == [2, 1]
    assert joe.revert(1, author="cat") == 3
    fresh = joe._key()  # the revert's invalidation came before its reply
    assert (fresh.version, fresh.payload["age"], fresh.author) == (3, 3, "cat")


def test_a_commit_through_the_store_invalidates(client: BrokerClient, service: Service) -> None:
    joe = client.root.data["people"].get(name="joe")
    assert joe._key() is joe  # cached
    service.put("people", "joe", b'{"name": "joe", "age": 9}')
    eventually(lambda: joe._obsolete)
    assert joe._key().payload["age"] == 9


def test_a_commit_over_http_invalidates(client: BrokerClient, service: Service) -> None:
    joe = client.root.data["people"].get(name="joe")

    async def put() -> int:
        async with asgi_client(create_app(service)) as http:
            response = await http.put("/kv/people/joe", content=b'{"name": "joe", "age": 10}')
            return response.status_code

    assert asyncio.run(put()) < 300
    eventually(lambda: joe._obsolete)
    assert joe._key().payload["age"] == 10


def test_restart_resumes_from_the_last_rev(
    client: BrokerClient, service: Service, served: tuple[BrokerServer, RevkvLoader], tmp_path: Path
) -> None:
    broker, loader = served
    joe = client.root.data["people"].get(name="joe")
    loader.stop()
    broker.stop()
    service.put("people", "joe", b'{"name": "joe", "age": 11}')  # while no broker runs
    assert not joe._obsolete
    again, again_loader = serve(service, dict(broker.cfg), tmp_path / "broker.rev")
    try:
        assert joe._obsolete  # announced at start-up, from the saved rev
        assert joe._key().payload["age"] == 11
    finally:
        again_loader.stop()
        again.stop()


class Wiki:
    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.size = 0

    def create_page(self, title: str, text: str) -> int:
        self.pages[title] = text
        self.size = len(self.pages)
        return self.size

    @readonly
    def page(self, title: str) -> str:
        return self.pages[title]


def test_a_prevalent_system_is_served(tmp_path: Path) -> None:
    wiki = init_system(Wiki(), tmp_path / "wiki")
    broker = BrokerServer(local_cfg())
    root = Root()
    broker.export_object(root, "data")
    serve_prevalent(broker, wiki, "wiki", fields="size", container=root.data)
    broker.root = root
    broker.start()
    try:
        with BrokerClient(broker.cfg) as client:
            remote = client.root.data["wiki"]()
            assert remote.size == 0
            assert remote._meta.calls["page"].extra == {"readonly": True}
            assert remote._meta.calls["create_page"].extra == {}
            assert remote.create_page("Home", "Welcome") == 1
            assert remote._obsolete  # the command invalidated it before its reply
            assert remote._key().size == 1
            assert remote.page("Home") == "Welcome"
            assert wiki.page("Home") == "Welcome"  # journaled like a local call
    finally:
        broker.stop()
        wiki.close()


def test_the_door_of_revkv_serve(service: Service) -> None:
    from revkv._config import Settings
    from revkv.broker import broker_door
    from revkv.http._app import app_for

    cfg = local_cfg()
    app = app_for(Settings(data=None), service, doors=[broker_door(cfg, ["people"])])

    async def scenario() -> int:
        async with app.router.lifespan_context(app):  # enters the door, as uvicorn would
            with BrokerClient(cfg) as client:
                joe = client.root.data["people"].get(name="joe")
                async with asgi_client(app) as http:
                    response = await http.put("/kv/people/joe", content=b'{"age": 12}')
                eventually(lambda: joe._obsolete)
                age: int = joe._key().payload["age"]
                return response.status_code * 1000 + age

    assert asyncio.run(scenario()) in (200_012, 201_012, 204_012)
