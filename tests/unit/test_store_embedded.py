"""What only the embedded store can show: durability visibility, compaction, snapshots."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

import revkv
from revkv.errors import Compacted
from revkv.testing import open_service


def test_a_reader_never_sees_a_commit_before_it_is_durable(tmp_path: Path) -> None:
    store = revkv.open(tmp_path)
    store.put("ns", "k", b"old")
    journal = store.backend.system.journal
    real_fsync = journal._fsync
    in_fsync = threading.Event()
    release = threading.Event()

    def slow_fsync() -> None:
        in_fsync.set()
        release.wait(10)
        real_fsync()

    journal._fsync = slow_fsync  # type: ignore[method-assign]
    writer = threading.Thread(target=store.put, args=("ns", "k", b"new"))
    writer.start()
    assert in_fsync.wait(10)
    # the new version is applied in memory and written, but not yet fsynced
    assert store.get("ns", "k").payload == b"old"
    assert [c.payload for c in store.list("ns").items] == [b"old"]
    assert [m.version for m in store.history("ns", "k").items] == [1]
    assert store.changes(0)[-1].commit.payload == b"old"
    release.set()
    writer.join()
    assert store.get("ns", "k").payload == b"new"
    journal._fsync = real_fsync  # type: ignore[method-assign]
    store.close()


def test_a_watcher_behind_compaction_gets_compacted_or_a_reset() -> None:
    store = revkv.open(change_log_size=8)
    for i in range(30):
        store.put("ns", f"k{i % 5}", str(i).encode())
    with pytest.raises(Compacted) as info:
        store.watch(0)
    assert info.value.oldest_rev > 0
    with pytest.raises(Compacted):
        store.changes(0)
    with store.watch(0, namespace="ns", resync=True) as watch:
        reset = watch.next(timeout=5)
        assert reset is not None
        assert reset.type == "reset"
        assert sorted(c.key for c in reset.state or []) == [f"k{i}" for i in range(5)]
        assert {c.payload for c in reset.state or []} == {b"25", b"26", b"27", b"28", b"29"}
        store.put("ns", "k0", b"live")
        live = watch.next(timeout=5)
        assert live is not None
        assert (live.type, live.commit.payload if live.commit else None) == ("put", b"live")
    resumable = store.watch(info.value.oldest_rev)  # the rev it said is fine
    resumable.close()
    store.close()


def test_async_watchers_are_woken_only_for_their_prefix() -> None:
    store = revkv.open()

    async def scenario() -> list[str]:
        watches = [store.watch(namespace="ns", prefix=f"p{i}/") for i in range(50)]
        waiting = [asyncio.ensure_future(w.anext(timeout=5)) for w in watches]
        await asyncio.sleep(0.05)
        await asyncio.to_thread(store.put, "ns", "p7/x", b"1")
        done, _ = await asyncio.wait(waiting, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        results = [t.result() for t in done]
        for w in watches:
            w.close()
        await asyncio.gather(*waiting)
        return [e.commit.key for e in results if e is not None and e.commit is not None]

    assert asyncio.run(scenario()) == ["p7/x"]
    store.close()


def test_closing_the_store_ends_watches() -> None:
    store = revkv.open()
    watch = store.watch()
    ended = threading.Event()

    def follow() -> None:
        for _ in watch:
            pass
        ended.set()

    threading.Thread(target=follow).start()
    time.sleep(0.05)
    store.close()
    assert ended.wait(5)


def test_snapshot_round_trip_keeps_everything(tmp_path: Path) -> None:
    store = revkv.open(tmp_path, change_log_size=10)
    store.create_namespace("kv", keep_versions=3, default_ttl=3600)
    for i in range(40):
        store.put("kv", f"k{i % 7}", f"{i}".encode(), author=f"a{i}")
    store.delete("kv", "k3")
    store.put("kv", "forever", b"x", ttl=None)
    before = {
        c.key: (c.version, c.payload, c.expires)
        for c in store.list("kv", include_deleted=True).items
    }
    histories = {k: [m.version for m in store.history("kv", k).items] for k in before}
    rev = store.rev
    store.snapshot()
    store.close()
    store = revkv.open(tmp_path, change_log_size=10)
    assert store.backend.system.stats["replayed_records"] == 0
    after = {
        c.key: (c.version, c.payload, c.expires)
        for c in store.list("kv", include_deleted=True).items
    }
    assert after == before
    assert {k: [m.version for m in store.history("kv", k).items] for k in after} == histories
    assert store.rev == rev
    assert store.get_namespace("kv").keep_versions == 3
    with pytest.raises(Compacted):
        store.changes(0)
    assert len(store.changes(rev - 5)) == 5
    store.close()


def test_expiry_survives_a_restart(tmp_path: Path) -> None:
    store = revkv.open(tmp_path)
    store.put("ns", "t", b"x", ttl=0.5)
    store.snapshot()
    store.close()
    store = revkv.open(tmp_path, sweep_interval=0.05)
    deadline = time.monotonic() + 10
    while not store.history("ns", "t").items[0].deleted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.history("ns", "t").items[0].comment == "expired"
    store.close()


def test_import_keeps_versions_authors_and_times() -> None:
    source = revkv.open()
    source.put("ns", "k", b"1", author="ann", comment="first")
    source.put("ns", "k", b"2", author="bob")
    source.delete("ns", "k", author="cy")
    exported = [source.get("ns", "k", v) for v in (1, 2, 3)]
    target = revkv.open()
    assert target.import_commits(exported) == 3
    for old in exported:
        new = target.get("ns", "k", old.version)
        assert (new.author, new.comment, new.mtime, new.deleted, new.payload) == (
            old.author, old.comment, old.mtime, old.deleted, old.payload,
        )  # fmt: skip
    with pytest.raises(revkv.VersionConflict):
        target.import_commits(exported[:1])  # version 1 again: a gap-or-overlap is refused
    source.close()
    target.close()


def test_a_failed_journal_fails_waiting_http_writers_with_503(tmp_path: Path) -> None:
    import os

    import httpx

    from revkv.http import create_app

    service = open_service(tmp_path)

    async def scenario() -> tuple[int, int, str]:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ok = await client.put("/kv/ns/k", content=b"1")
            os.close(service.backend.system.journal._fd)  # the disk goes away
            failed = await client.put("/kv/ns/k", content=b"2")
            return ok.status_code, failed.status_code, failed.json()["error"]["code"]

    assert asyncio.run(scenario()) == (201, 503, "JournalFailed")
    service.backend.system.journal._fd = -1
    assert service.get("ns", "k").payload == b"1"  # the failed write is not visible


# -- the token a commit records -------------------------------------------------------------


def test_the_token_that_writes_is_recorded_and_survives_replay_and_snapshots(
    tmp_path: Path,
) -> None:
    from revkv._auth import Principal
    from revkv._model import Delete, Put

    gateway = Principal("gateway", "read-write", ("*",), act_as_others=True)
    with revkv.open(tmp_path) as service:
        service.begin_put("ns", "k", b"1", author="ann", principal=gateway).result()
        service.begin_put("ns", "k", b"2").result()  # in process: no token
        service.begin_revert("ns", "k", 1, principal=gateway).result()
        service.txn([], [Put(namespace="ns", key="t", payload=b"x", token="gateway")])
        service.begin_delete("ns", "k", author="bob", principal=gateway).result()
        service.txn([], [Delete(namespace="ns", key="t", token="gateway")])
        recorded = [(m.author, m.token) for m in service.history("ns", "k")]
        assert recorded == [
            ("bob", "gateway"),
            ("gateway", "gateway"),
            ("", ""),
            ("ann", "gateway"),
        ]
        assert [m.token for m in service.history("ns", "t")] == ["gateway", "gateway"]
    with revkv.open(tmp_path) as service:  # replayed from the journal
        assert [(m.author, m.token) for m in service.history("ns", "k")] == recorded
        service.snapshot()
    with revkv.open(tmp_path) as service:  # loaded from the snapshot
        assert [(m.author, m.token) for m in service.history("ns", "k")] == recorded
        versions = list(
            reversed([service.get("ns", "k", m.version) for m in recorded_metas(service)])
        )
    with revkv.open(tmp_path / "copy") as copy:  # what `revkv import` does
        copy.import_commits(versions)
        assert [(m.author, m.token) for m in copy.history("ns", "k")] == recorded


def recorded_metas(service: revkv.Service) -> list[revkv.Meta]:
    return list(service.history("ns", "k"))


def test_an_image_from_before_tokens_loads_with_none(tmp_path: Path) -> None:
    import msgspec

    from revkv.store._state import StoreState

    with revkv.open(tmp_path) as service:
        service.put("ns", "k", b"1", author="ann")
        state = service.backend._state  # type: ignore[attr-defined]
        image = msgspec.msgpack.decode(state.__encode_state__())
    for columns in (image[4], image[5]):
        assert len(columns) == 12  # ten columns, then the tokens and the purged flags
        del columns[10:]
    old = StoreState.__decode_state__(msgspec.msgpack.encode(image))
    (commit,) = old.namespaces["ns"].history("k")
    assert (commit.author, commit.token, commit.payload) == ("ann", "", b"1")
