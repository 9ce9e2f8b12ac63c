"""What the SQL store's speed-ups must not change (`_sql_batch_reads`, `_sql_settings`).

- group reads: many coroutines reading at once each get their own key's newest version,
  exactly as `get` answers it (repeated, absent, deleted keys, an unknown namespace);
- a read awaited after another store (another server) acknowledged a write sees it, at
  once: the group's statement starts after the read was asked;
- namespace settings kept in memory: a write is always checked against the committed
  settings, even while another store's change is on its way; the store that changed
  them sees it at once, the other once the notification arrives;
- the dripline door reads through `Service.aget`, without blocking its loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

import revkv
from revkv.dripline._keys import LocalKeys
from revkv.errors import KeyNotFound, NamespaceNotFound, PayloadTooLarge


@pytest.fixture
def two_stores(pg_url: str) -> Iterator[tuple[revkv.Service, revkv.Service]]:
    """Two stores on one database: two servers, as far as the database can tell."""
    with (
        revkv.open(pg_url, sweep_interval=None) as first,
        revkv.open(pg_url, sweep_interval=None) as second,
    ):
        yield first, second


def _outcome(call: object) -> object:
    try:
        return call() if callable(call) else call
    except (KeyNotFound, NamespaceNotFound) as error:
        return type(error)


async def _aoutcome(store: revkv.Service, namespace: str, key: str) -> object:
    try:
        return await store.aget(namespace, key)
    except (KeyNotFound, NamespaceNotFound) as error:
        return type(error)


def test_reads_awaited_together_each_get_their_own_key(
    two_stores: tuple[revkv.Service, revkv.Service],
) -> None:
    store, _ = two_stores
    for n in range(20):
        store.put("ns", f"k{n}", f"value {n}")
    store.put("ns", "gone", "x")
    store.delete("ns", "gone")
    asked = [("ns", f"k{n % 25}") for n in range(300)] + [("ns", "gone"), ("nope", "k1")]

    async def read_all() -> list[object]:
        return await asyncio.gather(*(_aoutcome(store, ns, key) for ns, key in asked))

    answers = asyncio.run(read_all())
    expected = [_outcome(lambda ns=ns, key=key: store.get(ns, key)) for ns, key in asked]
    assert answers == expected
    assert answers[0] == store.get("ns", "k0")
    assert answers[-2:] == [KeyNotFound, NamespaceNotFound]
    counters = store.stats().counters
    assert counters["sql_group_read_keys"] >= len(asked) - 1  # the two absent: a thread
    assert counters["sql_group_reads"] < counters["sql_group_read_keys"]  # grouped


def test_a_read_after_another_servers_write_sees_it_at_once(
    two_stores: tuple[revkv.Service, revkv.Service],
) -> None:
    reader, writer = two_stores

    async def follow() -> None:
        for n in range(50):
            written = writer.put("ns", "ryw", f"{n}", expect=n)
            read = await reader.aget("ns", "ryw")
            assert (read.text, read.version, read.rev) == (f"{n}", n + 1, written.rev)

    asyncio.run(follow())


def test_writes_are_checked_against_settings_changed_elsewhere_at_once(
    two_stores: tuple[revkv.Service, revkv.Service],
) -> None:
    first, second = two_stores
    first.create_namespace("small", max_payload=100)
    assert first.get_namespace("small").max_payload == 100  # now kept in memory
    second.update_namespace("small", max_payload=10)
    with pytest.raises(PayloadTooLarge):  # the write reads the settings it commits under
        first.put("small", "k", b"x" * 20)
    second.update_namespace("small", max_payload=10_000)
    assert second.get_namespace("small").max_payload == 10_000  # its own change: at once
    deadline = time.monotonic() + 30
    while first.get_namespace("small").max_payload != 10_000:  # once the NOTIFY arrives
        assert time.monotonic() < deadline, "the settings change was never heard"
        time.sleep(0.02)
    assert first.put("small", "k", b"x" * 2000).version == 1


def test_the_dripline_door_awaits_its_reads(pg_url: str) -> None:
    with revkv.open(pg_url, sweep_interval=None) as store:
        store.put("dripline", "peaches", '{"value_raw": "0.75"}')
        keys = LocalKeys(store)

        async def read() -> tuple[object, object]:
            return await keys.read("dripline", "peaches"), await keys.read("dripline", "no")

        found, absent = asyncio.run(read())
        assert found == store.get("dripline", "peaches")
        assert absent is None
