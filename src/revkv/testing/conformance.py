"""The Store conformance suite: one set of behaviours every backend must show.

Subclass `StoreTests` in a test module and provide a `store` fixture that yields a
fresh, empty store (and closes it afterwards). Backends that keep data across a restart
also set `durable = True` and provide a `reopen` fixture: a callable that closes the
store and returns it opened again. Opt out of a capability explicitly, never silently::

    class TestMyStore(StoreTests):
        @pytest.fixture
        def store(self, tmp_path):
            with revkv.open(tmp_path) as s:
                yield s

The suite uses only the interface users program against (`revkv.StoreAPI`: what
`revkv.open()` returns, a Service over a backend), so the HTTP client runs it unchanged.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from revkv._model import Check, Delete, Put
from revkv.errors import (
    InvalidKey,
    InvalidName,
    InvalidRequest,
    InvalidVersion,
    KeyNotFound,
    NamespaceExists,
    NamespaceNotFound,
    PayloadTooLarge,
    TxnConflict,
    VersionConflict,
    VersionNotFound,
    VersionPurged,
)

NS = "conf"


class StoreTests:
    durable = False
    #: whether `store.stats()` is there to tell sizes (a client asks `GET /stats`)
    sizes = True
    #: seconds a TTL test waits past expiry; backends with slower clocks may raise it
    ttl_grace = 0.3

    # -- put / get ------------------------------------------------------------------

    def test_put_then_get_returns_the_payload_verbatim(self, store: Any) -> None:
        payload = b"\x00\xff binary \r\n"
        meta = store.put(NS, "k", payload, author="ann", comment="first")
        assert (meta.version, meta.author, meta.comment, meta.deleted) == (1, "ann", "first", False)
        commit = store.get(NS, "k")
        assert commit.payload == payload
        assert commit.version == 1
        assert commit.rev == meta.rev

    def test_str_payloads_are_utf8(self, store: Any) -> None:
        store.put(NS, "k", "héllo €")
        assert store.get(NS, "k").payload == "héllo €".encode()

    def test_versions_grow_by_one_and_revs_increase(self, store: Any) -> None:
        metas = [store.put(NS, "k", f"v{i}".encode()) for i in range(5)]
        assert [m.version for m in metas] == [1, 2, 3, 4, 5]
        revs = [m.rev for m in metas]
        assert revs == sorted(set(revs))
        other = store.put(NS, "other", b"x")
        assert other.version == 1
        assert other.rev > revs[-1]
        assert store.rev >= other.rev

    def test_every_version_stays_readable(self, store: Any) -> None:
        for i in range(3):
            store.put(NS, "k", f"v{i + 1}".encode())
        assert [store.get(NS, "k", v).payload for v in (1, 2, 3)] == [b"v1", b"v2", b"v3"]
        assert store.meta(NS, "k", 2).version == 2

    def test_mtime_is_the_commit_time(self, store: Any) -> None:
        before = time.time()
        meta = store.put(NS, "k", b"x")
        assert before - 1 <= meta.mtime <= time.time() + 1
        assert abs(meta.modified - datetime.now(UTC)) < timedelta(seconds=5)

    def test_missing_key_and_version(self, store: Any) -> None:
        store.put(NS, "k", b"x")
        with pytest.raises(KeyNotFound):
            store.get(NS, "nope")
        with pytest.raises(KeyError):  # NotFound is also a KeyError
            store.get(NS, "nope")
        with pytest.raises(VersionNotFound):
            store.get(NS, "k", 2)
        with pytest.raises(KeyNotFound):
            store.meta(NS, "nope")

    def test_keys_may_hold_slashes_and_unicode(self, store: Any) -> None:
        for key in ("a/b/c", "ü€ 𝄞", "with space", "x" * 256, "q?x=1&y#z", "%41"):
            store.put(NS, key, key.encode())
            assert store.get(NS, key).payload == key.encode()

    def test_keys_and_authors_may_hold_quotes_braces_and_backslashes(self, store: Any) -> None:
        """What an SQL literal or array must quote (the SQL store binds some itself)."""
        for text in ("it's", 'say "hi"', "back\\slash", "{a,b}", "(1,2)", "NULL", "$1 %s"):
            store.put(NS, text, b"1", author=text)
            second = store.put(NS, text, b"2", expect=1, author=text, comment=text)
            assert (second.version, second.author, second.comment) == (2, text, text)
            assert store.get(NS, text).payload == b"2"

    # -- compare-and-set: expect= is the version you read -------------------------------

    def test_cas_takes_the_version_read(self, store: Any) -> None:
        assert store.put(NS, "k", b"a", expect=0).version == 1
        assert store.put(NS, "k", b"b", expect=1).version == 2
        read = store.get(NS, "k")
        assert store.put(NS, "k", b"c", expect=read.version).version == 3

    @pytest.mark.parametrize("wrong", [1, 3, 4, 10])
    def test_cas_refuses_any_other_version(self, store: Any, wrong: int) -> None:
        store.put(NS, "k", b"a")
        store.put(NS, "k", b"b")
        with pytest.raises(VersionConflict) as info:
            store.put(NS, "k", b"c", expect=wrong)
        conflict = info.value
        assert (conflict.current_version, conflict.expected, conflict.exists) == (2, wrong, True)
        assert "pass expect=2" in str(conflict)
        assert store.get(NS, "k").payload == b"b"  # nothing written

    def test_expect_absent_creates_only(self, store: Any) -> None:
        for absent in (0, "absent"):
            key = f"new{absent}"
            assert store.put(NS, key, b"x", expect=absent).version == 1
            with pytest.raises(VersionConflict) as info:
                store.put(NS, key, b"y", expect=absent)
            assert (info.value.current_version, info.value.exists) == (1, True)
        store.delete(NS, "new0")
        assert store.put(NS, "new0", b"back", expect="absent").version == 3

    def test_expect_exists_needs_a_live_version(self, store: Any) -> None:
        with pytest.raises(VersionConflict) as info:
            store.put(NS, "k", b"x", expect="exists")
        assert (info.value.current_version, info.value.exists) == (0, False)
        assert "expect=0" in str(info.value)
        store.put(NS, "k", b"a")
        assert store.put(NS, "k", b"b", expect="exists").version == 2

    def test_a_version_read_of_a_new_key_conflicts(self, store: Any) -> None:
        with pytest.raises(VersionConflict) as info:
            store.put(NS, "new", b"x", expect=1)
        assert (info.value.current_version, info.value.exists) == (0, False)

    @pytest.mark.parametrize("bad", [-1, 1.5, "1", True, "maybe"])
    def test_expect_must_be_a_version_absent_or_exists(self, store: Any, bad: Any) -> None:
        with pytest.raises(InvalidVersion):
            store.put(NS, "k", b"x", expect=bad)

    def test_concurrent_cas_lets_exactly_one_win(self, store: Any) -> None:
        store.put(NS, "k", b"0")
        wins: list[int] = []
        conflicts: list[int] = []

        def attempt(n: int) -> None:
            try:
                store.put(NS, "k", str(n).encode(), expect=1)
                wins.append(n)
            except VersionConflict:
                conflicts.append(n)

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1
        assert len(conflicts) == 7
        assert store.get(NS, "k").payload == str(wins[0]).encode()

    # -- the API as people use it -----------------------------------------------------

    def test_get_with_a_default_returns_it_when_absent(self, store: Any) -> None:
        assert store.get(NS, "nope", default=None) is None
        store.put(NS, "k", b"v")
        assert store.get(NS, "k", default=None).payload == b"v"
        assert store.get("never-made", "k", default="d") == "d"

    def test_a_namespace_handle_reads_and_writes_in_one_namespace(self, store: Any) -> None:
        cfg = store.namespace("cfg")
        assert len(cfg) == 0
        assert list(cfg) == []
        cfg["db/url"] = b"postgres://a"
        meta = cfg.put("db/url", "postgres://b", expect=1, author="ann")
        assert (meta.version, meta.author) == (2, "ann")
        assert cfg["db/url"] == b"postgres://b"
        assert "db/url" in cfg
        assert "nope" not in cfg
        assert list(cfg) == ["db/url"]
        assert len(cfg) == 1
        assert [m.version for m in cfg.iter_history("db/url")] == [2, 1]
        del cfg["db/url"]
        with pytest.raises(KeyError):
            cfg["db/url"]
        assert cfg.settings.name == "cfg"

    def test_pages_iterate_and_iterators_follow_every_page(self, store: Any) -> None:
        for n in range(7):
            store.put(NS, f"k{n}", b"x")
        store.put(NS, "k0", b"y")
        page = store.list(NS, limit=3)
        assert [c.key for c in page] == ["k0", "k1", "k2"]
        assert len(page) == 3
        everything = store.iter_list(NS, page_size=2)
        assert [c.key for c in everything] == [f"k{n}" for n in range(7)]
        assert [m.version for m in store.iter_history(NS, "k0", page_size=1)] == [2, 1]
        first = store.history(NS, "k0").items[-1].rev
        keys = [e.commit.key for e in store.iter_changes(first - 1, namespace=NS)]
        assert keys == [*(f"k{n}" for n in range(7)), "k0"]

    # -- delete, revert, history ---------------------------------------------------------

    def test_delete_is_a_tombstone_and_history_survives(self, store: Any) -> None:
        store.put(NS, "k", b"a", author="ann")
        tomb = store.delete(NS, "k", author="bob", comment="gone")
        assert (tomb.version, tomb.deleted, tomb.author) == (2, True, "bob")
        with pytest.raises(KeyNotFound):
            store.get(NS, "k")
        assert store.get(NS, "k", 1).payload == b"a"
        assert store.get(NS, "k", 2).deleted
        assert store.meta(NS, "k", include_deleted=True).deleted
        again = store.put(NS, "k", b"back")
        assert again.version == 3

    def test_delete_with_cas_and_of_a_missing_key(self, store: Any) -> None:
        store.put(NS, "k", b"a")
        with pytest.raises(VersionConflict):
            store.delete(NS, "k", expect=2)
        store.delete(NS, "k", expect=1)
        with pytest.raises(KeyNotFound):
            store.delete(NS, "k")
        with pytest.raises(KeyNotFound):
            store.delete(NS, "never")

    def test_revert_writes_the_old_payload_as_a_new_version(self, store: Any) -> None:
        store.put(NS, "k", b"one")
        store.put(NS, "k", b"two")
        meta = store.revert(NS, "k", 1, author="ann")
        assert meta.version == 3
        assert "revert" in meta.comment
        assert store.get(NS, "k").payload == b"one"
        with pytest.raises(VersionNotFound):
            store.revert(NS, "k", 9)
        with pytest.raises(VersionConflict):
            store.revert(NS, "k", 1, expect=2)
        assert store.revert(NS, "k", 1, expect=3).version == 4

    def test_revert_brings_back_a_deleted_key(self, store: Any) -> None:
        store.put(NS, "k", b"one")
        store.delete(NS, "k")
        store.revert(NS, "k", 1)
        assert store.get(NS, "k").payload == b"one"

    def test_history_is_newest_first_and_paged(self, store: Any) -> None:
        for i in range(7):
            store.put(NS, "k", f"v{i + 1}".encode(), comment=f"c{i + 1}")
        page = store.history(NS, "k", limit=3)
        assert [m.version for m in page.items] == [7, 6, 5]
        assert page.next == 5
        page = store.history(NS, "k", limit=3, before=page.next)
        assert [m.version for m in page.items] == [4, 3, 2]
        page = store.history(NS, "k", limit=3, before=page.next)
        assert [m.version for m in page.items] == [1]
        assert page.next is None
        assert page.items[0].comment == "c1"
        with pytest.raises(KeyNotFound):
            store.history(NS, "nope")

    # -- listing ------------------------------------------------------------------------

    def test_list_is_sorted_by_key_and_paged(self, store: Any) -> None:
        keys = [f"k{i:03d}" for i in range(25)]
        for key in reversed(keys):
            store.put(NS, key, key.encode())
        seen: list[str] = []
        cursor = None
        while True:
            page = store.list(NS, start_after=cursor, limit=10)
            seen += [c.key for c in page.items]
            if page.next is None:
                break
            cursor = page.next
        assert seen == keys

    def test_list_by_prefix_and_deleted_keys(self, store: Any) -> None:
        for key in ("a/1", "a/2", "ab", "b/1"):
            store.put(NS, key, b"x")
        store.delete(NS, "a/2")
        assert [c.key for c in store.list(NS, prefix="a/").items] == ["a/1"]
        assert [c.key for c in store.list(NS, prefix="a/", include_deleted=True).items] == [
            "a/1",
            "a/2",
        ]
        assert store.keys(NS, prefix="a") == ["a/1", "ab"]
        assert store.count(NS) == 3
        assert store.count(NS, include_deleted=True) == 4
        assert store.count(NS, prefix="b") == 1

    def test_list_shows_the_latest_versions(self, store: Any) -> None:
        store.put(NS, "k", b"1")
        store.put(NS, "k", b"2")
        (item,) = store.list(NS).items
        assert item.version == 2

    # -- namespaces -----------------------------------------------------------------------

    def test_namespaces_are_created_on_first_write(self, store: Any) -> None:
        store.put("fresh", "k", b"x")
        assert "fresh" in [ns.name for ns in store.namespaces()]

    def test_namespace_settings(self, store: Any) -> None:
        ns = store.create_namespace("small", max_payload=10, keep_versions=2)
        assert (ns.max_payload, ns.keep_versions) == (10, 2)
        with pytest.raises(NamespaceExists):
            store.create_namespace("small")
        assert store.create_namespace("small", exist_ok=True).max_payload == 10
        with pytest.raises(PayloadTooLarge):
            store.put("small", "k", b"x" * 11)
        for i in range(4):
            store.put("small", "k", str(i).encode())
        assert [m.version for m in store.history("small", "k").items] == [4, 3]
        with pytest.raises(VersionNotFound):
            store.get("small", "k", 1)
        updated = store.update_namespace("small", max_payload=100)
        assert updated.max_payload == 100
        store.put("small", "k", b"x" * 50)
        assert store.get_namespace("small").max_payload == 100

    def test_unknown_namespace(self, store: Any) -> None:
        with pytest.raises(NamespaceNotFound):
            store.get("nothing", "k")
        with pytest.raises(NamespaceNotFound):
            store.list("nothing")
        with pytest.raises(NamespaceNotFound):
            store.get_namespace("nothing")

    def test_json_objects_only(self, store: Any) -> None:
        store.create_namespace("docs", json_objects_only=True)
        store.put("docs", "k", b'{"a": 1}')
        for bad in (b"[1]", b"not json", b'"s"'):
            with pytest.raises(InvalidRequest, match="Malformed input"):
                store.put("docs", "k", bad)

    # -- transactions ---------------------------------------------------------------------

    def test_txn_applies_all_writes_with_one_rev(self, store: Any) -> None:
        store.put(NS, "a", b"1")
        result = store.txn(
            [Check(NS, "a", 1), Check(NS, "b", None)],
            [Put(namespace=NS, key="a", payload=b"2"), Put(namespace=NS, key="b", payload=b"1")],
        )
        assert [m.version for m in result.commits] == [2, 1]
        assert {m.rev for m in result.commits} == {result.rev}
        assert store.get(NS, "a").payload == b"2"

    def test_txn_applies_nothing_when_a_check_fails(self, store: Any) -> None:
        store.put(NS, "a", b"1")
        with pytest.raises(TxnConflict) as info:
            store.txn(
                [Check(NS, "a", 5)],
                [Put(namespace=NS, key="a", payload=b"2"), Delete(namespace=NS, key="a")],
            )
        assert info.value.failed[0][:2] == (NS, "a")
        assert store.get(NS, "a").version == 1

    def test_txn_delete(self, store: Any) -> None:
        store.put(NS, "a", b"1")
        store.txn([], [Delete(namespace=NS, key="a")])
        with pytest.raises(KeyNotFound):
            store.get(NS, "a")

    # -- TTL ------------------------------------------------------------------------------

    def test_an_expired_key_reads_as_absent_at_once(self, store: Any) -> None:
        meta = store.put(NS, "t", b"x", ttl=0.5)
        assert meta.expires is not None
        assert store.get(NS, "t").payload == b"x"
        time.sleep(0.5 + self.ttl_grace)
        with pytest.raises(KeyNotFound):
            store.get(NS, "t")
        assert store.count(NS) == 0

    def test_the_sweeper_records_the_expiry(self, store: Any) -> None:
        store.put(NS, "t", b"x", ttl=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            metas = store.history(NS, "t").items
            if metas[0].deleted:
                break
            time.sleep(0.1)
        assert metas[0].deleted
        assert (metas[0].author, metas[0].comment) == ("revkv", "expired")

    def test_writing_an_expired_key_starts_after_its_tombstone(self, store: Any) -> None:
        store.put(NS, "t", b"x", ttl=0.2)
        time.sleep(0.2 + self.ttl_grace)
        meta = store.put(NS, "t", b"y", expect=2)  # v2 is the expiry tombstone
        assert meta.version == 3
        assert store.get(NS, "t").payload == b"y"

    def test_an_expired_key_is_absent_to_compare_and_set(self, store: Any) -> None:
        """Expired but perhaps not yet swept: create-only succeeds, the version read
        before the expiry conflicts and says the key is absent."""
        store.put(NS, "t", b"x", ttl=0.2)
        time.sleep(0.2 + self.ttl_grace)
        with pytest.raises(VersionConflict) as info:
            store.put(NS, "t", b"y", expect=1)
        assert info.value.exists is False
        assert store.put(NS, "t", b"y", expect="absent").version == 3
        assert store.get(NS, "t").payload == b"y"

    def test_namespace_default_ttl_and_its_override(self, store: Any) -> None:
        store.create_namespace("cache", default_ttl=60)
        assert store.put("cache", "a", b"x").expires is not None
        assert store.put("cache", "b", b"x", ttl=None).expires is None
        at = datetime.now(UTC) + timedelta(hours=1)
        assert abs(store.put("cache", "c", b"x", expires=at).expires - at.timestamp()) < 0.01

    # -- changes and watches ----------------------------------------------------------

    def test_changes_since_a_rev_in_order(self, store: Any) -> None:
        start = store.rev
        store.put(NS, "a/1", b"1")
        store.put(NS, "b/1", b"1")
        store.delete(NS, "a/1")
        events = store.changes(start, namespace=NS)
        assert [(e.type, e.commit.key) for e in events] == [
            ("put", "a/1"),
            ("put", "b/1"),
            ("delete", "a/1"),
        ]
        revs = [e.rev for e in events]
        assert revs == sorted(revs)
        assert [e.commit.key for e in store.changes(start, prefix="a/")] == ["a/1", "a/1"]
        assert store.changes(events[-1].rev) == []

    def test_watch_catches_up_then_follows_live(self, store: Any) -> None:
        start = store.rev
        store.put(NS, "w/1", b"1")
        with store.watch(start, namespace=NS, prefix="w/") as watch:
            first = watch.next(timeout=10)
            assert first is not None
            assert first.commit.key == "w/1"
            later = threading.Timer(0.1, lambda: store.put(NS, "w/2", b"2"))
            later.start()
            store.put(NS, "other", b"x")
            second = watch.next(timeout=10)
            later.join()  # its put may still be reading its answer when the event arrives
            assert second is not None
            assert (second.type, second.commit.key) == ("put", "w/2")

    def test_watch_times_out_quietly(self, store: Any) -> None:
        with store.watch(namespace=NS) as watch:
            assert watch.next(timeout=0.2) is None

    # -- bad input --------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "key", ["", "x" * 257, "tab\there", "nl\n", "\x00", "\x7f", "\x85", 5, None, b"bytes"]
    )
    def test_bad_keys_are_refused(self, store: Any, key: Any) -> None:
        with pytest.raises(InvalidKey):
            store.put(NS, key, b"x")

    @pytest.mark.parametrize("name", ["", "1abc", "has space", "a/b", "x" * 65, "ü", None])
    def test_bad_namespace_names_are_refused(self, store: Any, name: Any) -> None:
        with pytest.raises(InvalidName):
            store.put(name, "k", b"x")

    @pytest.mark.parametrize("version", [0, -1, True, "2", 1.5])
    def test_bad_versions_are_refused(self, store: Any, version: Any) -> None:
        store.put(NS, "k", b"x")
        with pytest.raises(InvalidVersion):
            store.get(NS, "k", version)

    @pytest.mark.parametrize("payload", [5, None, ["list"], {"a": 1}, 1.5])
    def test_non_bytes_payloads_are_refused(self, store: Any, payload: Any) -> None:
        with pytest.raises(InvalidRequest, match="payload must be bytes or str"):
            store.put(NS, "k", payload)

    def test_payload_over_the_default_limit(self, store: Any) -> None:
        with pytest.raises(PayloadTooLarge):
            store.put(NS, "k", b"x" * (1024 * 1024 + 1))
        store.put(NS, "k", b"x" * (1024 * 1024))

    def test_bad_ttl_and_settings(self, store: Any) -> None:
        with pytest.raises(InvalidRequest):
            store.put(NS, "k", b"x", ttl=-1)
        with pytest.raises(InvalidRequest):
            store.put(NS, "k", b"x", ttl=5, expires=time.time() + 5)
        with pytest.raises(InvalidRequest):
            store.create_namespace("bad", colour="red")
        with pytest.raises(InvalidRequest):
            store.create_namespace("bad", max_payload=-5)

    def test_refused_writes_change_nothing(self, store: Any) -> None:
        store.put(NS, "k", b"x")
        rev = store.rev
        with pytest.raises(VersionConflict):
            store.put(NS, "k", b"y", expect=5)
        with pytest.raises(InvalidKey):
            store.put(NS, "", b"y")
        with pytest.raises(KeyNotFound):
            store.delete(NS, "missing")
        assert store.rev == rev
        assert store.changes(rev) == []

    # -- purge and retention ----------------------------------------------------------------

    def test_purge_empties_old_versions_and_keeps_their_metas(self, store: Any) -> None:
        for i in range(1, 4):
            store.put(NS, "k", f"secret {i}".encode(), author="ann", comment=f"c{i}")
        store.put(NS, "other", b"untouched")
        assert store.purge(NS, "k") == 2  # every version but the newest
        history = store.history(NS, "k").items
        assert [(m.version, m.purged, m.author, m.comment) for m in history] == [
            (3, False, "ann", "c3"),
            (2, True, "ann", "c2"),
            (1, True, "ann", "c1"),
        ]
        for version in (1, 2):
            with pytest.raises(VersionPurged):
                store.get(NS, "k", version)
        assert store.get(NS, "k", 1, default=None) is None
        assert store.get(NS, "k").payload == b"secret 3"
        assert store.get(NS, "other").payload == b"untouched"
        assert store.purge(NS, "k") == 0  # nothing left to purge below the newest

    def test_purge_before_a_version_and_every_version(self, store: Any) -> None:
        for i in range(1, 5):
            store.put(NS, "k", f"v{i}".encode())
        store.delete(NS, "k")
        assert store.purge(NS, "k", before_version=3) == 2
        assert [m.purged for m in store.history(NS, "k").items] == [
            False, False, False, True, True
        ]  # fmt: skip
        assert store.purge(NS, "k", all_versions=True) == 2  # the tombstone holds nothing
        with pytest.raises(KeyNotFound):
            store.get(NS, "k")
        store.put(NS, "live", b"leaked")
        assert store.purge(NS, "live", all_versions=True) == 1
        with pytest.raises(VersionPurged):
            store.get(NS, "live")  # the newest version is purged, not absent

    def test_purged_payloads_leave_the_changes(self, store: Any) -> None:
        rev = store.rev
        store.put(NS, "k", b"PURGE-ME")
        store.put(NS, "k", b"kept")
        store.purge(NS, "k")
        commits = [e.commit for e in store.changes(rev)]
        assert [(c.version, c.payload, c.purged) for c in commits] == [
            (1, b"", True),
            (2, b"kept", False),
        ]

    def test_a_purged_version_cannot_be_reverted_to(self, store: Any) -> None:
        store.put(NS, "k", b"1")
        store.put(NS, "k", b"2")
        store.purge(NS, "k")
        with pytest.raises(VersionPurged):
            store.revert(NS, "k", 1)
        assert store.meta(NS, "k").version == 2

    def test_purge_refuses_what_it_cannot_do(self, store: Any) -> None:
        store.put(NS, "k", b"1")
        store.put(NS, "k", b"2")
        with pytest.raises(KeyNotFound):
            store.purge(NS, "missing")
        with pytest.raises(NamespaceNotFound):
            store.purge("nowhere", "k")
        with pytest.raises(InvalidRequest):
            store.purge(NS, "k", before_version=3)  # past the newest version
        with pytest.raises(InvalidRequest):
            store.purge(NS, "k", before_version=1, all_versions=True)
        with pytest.raises(InvalidVersion):
            store.purge(NS, "k", before_version=0)
        assert store.get(NS, "k", 1).payload == b"1"

    def test_lowering_keep_versions_trims_existing_keys_at_once(self, store: Any) -> None:
        for i in range(1, 6):
            store.put(NS, "a", f"a{i}".encode())
        store.put(NS, "b", b"b1")
        store.update_namespace(NS, keep_versions=2)
        assert [m.version for m in store.history(NS, "a").items] == [5, 4]
        assert [m.version for m in store.history(NS, "b").items] == [1]
        with pytest.raises(VersionNotFound):
            store.get(NS, "a", 3)
        assert store.get(NS, "a").payload == b"a5"
        store.update_namespace(NS, keep_versions=None)  # keeps all again, from now on
        store.put(NS, "a", b"a6")
        store.put(NS, "a", b"a7")
        assert [m.version for m in store.history(NS, "a").items] == [7, 6, 5, 4]

    def test_setting_keep_seconds_prunes_old_versions_at_once(self, store: Any) -> None:
        store.put(NS, "k", b"old")
        store.put(NS, "k", b"newest")
        time.sleep(0.2)
        store.update_namespace(NS, keep_seconds=0.1)
        assert [m.version for m in store.history(NS, "k").items] == [2]  # the newest stays

    def test_compact_keeps_everything_readable(self, store: Any) -> None:
        store.put(NS, "k", b"1")
        store.put(NS, "k", b"2")
        store.compact()
        assert [store.get(NS, "k", v).payload for v in (1, 2)] == [b"1", b"2"]
        store.put(NS, "k", b"3")
        assert store.get(NS, "k").version == 3

    # -- durability -----------------------------------------------------------------------

    def test_everything_survives_a_restart(
        self, store: Any, request: pytest.FixtureRequest
    ) -> None:
        if not self.durable:
            pytest.skip("this backend keeps nothing across a restart")
        reopen = request.getfixturevalue("reopen")
        store.create_namespace("kept", keep_versions=5, default_ttl=3600)
        store.put("kept", "k", b"1", author="ann", comment="c")
        store.put("kept", "k", b"2")
        store.delete("kept", "k")
        store.put("kept", "other", b"x", ttl=None)
        rev = store.rev
        store = reopen()
        assert store.rev == rev
        assert store.get_namespace("kept").keep_versions == 5
        assert [m.version for m in store.history("kept", "k").items] == [3, 2, 1]
        assert store.get("kept", "k", 1).author == "ann"
        assert store.get("kept", "other").expires is None
        assert [e.commit.key for e in store.changes(0, namespace="kept")] == [
            "k",
            "k",
            "k",
            "other",
        ]

    # -- sizes ----------------------------------------------------------------------------

    def test_stats_count_keys_versions_and_payload_bytes(
        self, store: Any, request: pytest.FixtureRequest
    ) -> None:
        if not self.sizes:
            pytest.skip("this store tells its sizes another way")
        store.create_namespace("sized", keep_versions=2)
        store.put("sized", "a", b"12345")
        store.put("sized", "a", b"123")
        store.put("sized", "a", b"1")  # retention drops the first version
        store.put("sized", "bb", b"xy")
        store.delete("sized", "bb")
        store.create_namespace("empty")
        expected = (2, 4, 3 + 1 + 2)
        sizes = store.stats().namespaces
        assert (sizes["sized"].keys, sizes["sized"].versions, sizes["sized"].payload_bytes) == (
            expected
        )
        assert (sizes["empty"].keys, sizes["empty"].versions) == (0, 0)
        memory = sizes["sized"].memory_bytes
        assert memory is None or memory > sizes["sized"].payload_bytes
        if self.durable:
            store.snapshot()
            store = request.getfixturevalue("reopen")()
            again = store.stats().namespaces["sized"]
            assert (again.keys, again.versions, again.payload_bytes) == expected

    def test_a_purge_survives_a_restart(self, store: Any, request: pytest.FixtureRequest) -> None:
        if not self.durable:
            pytest.skip("this backend keeps nothing across a restart")
        reopen = request.getfixturevalue("reopen")
        store.put(NS, "k", b"leaked")
        store.put(NS, "k", b"fresh")
        store.purge(NS, "k")
        store.put(NS, "k", b"after")
        store = reopen()
        assert [m.purged for m in store.history(NS, "k").items] == [False, False, True]
        with pytest.raises(VersionPurged):
            store.get(NS, "k", 1)
        assert [store.get(NS, "k", v).payload for v in (2, 3)] == [b"fresh", b"after"]
