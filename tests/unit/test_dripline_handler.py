"""The dripline door's logic on a real in-memory Service, without a broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from revkv._service import Service
from revkv.dripline._config import load_config
from revkv.dripline._handler import Handler
from revkv.dripline._keys import LocalKeys

pytestmark = pytest.mark.asyncio
TUTORIAL = Path(__file__).parents[1] / "dripline" / "kv_store_tutorial.yaml"


def request(op: int, *values: object, user: str = "ann", **kwargs: object) -> dict[str, object]:
    return {"msgtype": 3, "msgop": op, "sender_info": {"username": user},
            "payload": {"values": list(values), **kwargs}}  # fmt: skip


async def test_initial_values_are_committed_once(service: Service) -> None:
    handler = Handler(load_config(TUTORIAL), LocalKeys(service))
    await handler.start()
    service.put("my_price_list", "peaches", "0.8", author="bob")
    await Handler(load_config(TUTORIAL), LocalKeys(service)).start()  # a restart
    commit = service.get("my_price_list", "peaches")
    assert (commit.text, commit.version, commit.author) == ("0.8", 2, "bob")


async def test_a_key_deleted_through_another_door_answers_304(service: Service) -> None:
    handler = Handler(load_config(TUTORIAL), LocalKeys(service))
    await handler.start()
    service.delete("my_price_list", "chips")
    retcode, message, _ = await handler.handle("chips", request(1))
    assert retcode == 304
    assert "deleted or never set" in message
    assert (await handler.handle("chips", request(0, 2)))[0] == 0  # a set brings it back
    assert service.get("my_price_list", "chips").author == "ann"


async def test_send_to_a_provider_completes_silently(service: Service) -> None:
    handler = Handler(load_config(TUTORIAL), LocalKeys(service))
    await handler.start()
    assert await handler.handle("my_price_list", request(7, "hello")) == (0, "", None)
    assert (await handler.handle("peaches", request(8)))[0] == 306  # run: not offered


async def test_a_provider_lists_its_endpoints(service: Service) -> None:
    handler = Handler(load_config(TUTORIAL), LocalKeys(service))
    retcode, _, payload = await handler.handle("my_price_list", request(1))
    assert (retcode, payload) == (0, {"values": ["peaches", "chips", "waffles", "peaches_status"]})


async def test_non_requests_and_missing_msgops_are_refused(service: Service) -> None:
    handler = Handler(load_config(TUTORIAL), LocalKeys(service))
    assert (await handler.handle("peaches", {"msgtype": 2, "msgop": 1}))[0] == 302
    assert (await handler.handle("peaches", {"msgtype": 3}))[0] == 306
    assert (await handler.handle("broadcast.set_condition", request(9, "x")))[0] == 304
    assert (await handler.handle("broadcast.set_condition", request(9, 3)))[0] == 0
