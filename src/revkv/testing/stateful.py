"""A hypothesis state machine: random writes and restarts against a perfect model.

Every rule is applied to the store and to a plain dict of histories, then both are
compared. Subclass it, implement `open_store` (and `reopen` for a durable backend) and
expose `YourMachine.TestCase` to pytest.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from revkv.errors import KeyNotFound, VersionConflict, VersionNotFound, VersionPurged

NAMESPACES = st.sampled_from(["alpha", "beta"])
KEYS = st.sampled_from(["a", "b", "a/b", "ü", "x" * 40])
PAYLOADS = st.binary(max_size=64)
AUTHORS = st.sampled_from(["", "ann", "bob"])

Version = tuple[bytes | None, bool, str]  # payload (None: purged), deleted, author


class StoreMachine(RuleBasedStateMachine):
    durable = False

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[tuple[str, str], list[Version]] = {}
        self.store = self.open_store()

    def open_store(self) -> Any:
        raise NotImplementedError

    def reopen(self) -> Any:
        raise NotImplementedError

    def _current(self, ns: str, key: str) -> int:
        return len(self.model.get((ns, key), []))

    def _live(self, ns: str, key: str) -> bool:
        history = self.model.get((ns, key))
        return history is not None and not history[-1][1]

    @rule(ns=NAMESPACES, key=KEYS, payload=PAYLOADS, author=AUTHORS, cas=st.booleans())
    def put(self, ns: str, key: str, payload: bytes, author: str, cas: bool) -> None:
        expect = self._current(ns, key) if cas else None  # the version read
        meta = self.store.put(ns, key, payload, expect=expect, author=author)
        self.model.setdefault((ns, key), []).append((payload, False, author))
        assert meta.version == self._current(ns, key)

    @rule(ns=NAMESPACES, key=KEYS, off=st.sampled_from([-1, 1, 2]))
    def put_with_a_wrong_version(self, ns: str, key: str, off: int) -> None:
        wrong = self._current(ns, key) + off
        if wrong < 1:
            return
        with pytest.raises(VersionConflict) as info:
            self.store.put(ns, key, b"never", expect=wrong)
        assert info.value.current_version == self._current(ns, key)

    @rule(ns=NAMESPACES, key=KEYS, author=AUTHORS)
    def delete(self, ns: str, key: str, author: str) -> None:
        if (ns, key) in self.model or ns in {n for n, _ in self.model}:
            try:
                self.store.delete(ns, key, author=author)
            except KeyNotFound:
                assert not self._live(ns, key)
            else:
                assert self._live(ns, key)
                self.model[(ns, key)].append((b"", True, author))

    @rule(ns=NAMESPACES, key=KEYS, back=st.integers(1, 4))
    def revert(self, ns: str, key: str, back: int) -> None:
        current = self._current(ns, key)
        if current == 0:
            return
        target = max(1, current - back)
        payload, deleted, _ = self.model[(ns, key)][target - 1]
        if payload is None:
            with pytest.raises(VersionPurged):
                self.store.revert(ns, key, target, author="rev")
            return
        self.store.revert(ns, key, target, author="rev")
        self.model[(ns, key)].append((payload, deleted, "rev"))

    @rule(ns=NAMESPACES, key=KEYS)
    def purge(self, ns: str, key: str) -> None:
        """Every version but the newest loses its payload; tombstones hold none."""
        history = self.model.get((ns, key))
        if history is None:
            return
        self.store.purge(ns, key)
        for i, (_payload, deleted, author) in enumerate(history[:-1]):
            if not deleted:
                history[i] = (None, deleted, author)

    @precondition(lambda self: self.durable)
    @rule()
    def restart(self) -> None:
        self.store = self.reopen()

    @precondition(lambda self: self.durable)
    @rule()
    def snapshot(self) -> None:
        self.store.snapshot()

    @invariant()
    def store_equals_model(self) -> None:
        for (ns, key), history in self.model.items():
            payload, deleted, author = history[-1]
            if deleted:
                try:
                    self.store.get(ns, key)
                except KeyNotFound:
                    pass
                else:
                    raise AssertionError(f"{ns}/{key} should be deleted")
            else:
                commit = self.store.get(ns, key)
                assert (commit.payload, commit.version, commit.author) == (
                    payload,
                    len(history),
                    author,
                )
            metas = self.store.history(ns, key, limit=1000).items
            assert [m.version for m in metas] == list(range(len(history), 0, -1))
            assert [m.deleted for m in reversed(metas)] == [d for _, d, _ in history]
            assert [m.purged for m in reversed(metas)] == [p is None for p, _, _ in history]

    @invariant()
    def listing_equals_model(self) -> None:
        for ns in {n for n, _ in self.model}:
            live = sorted(k for (n, k) in self.model if n == ns and self._live(n, k))
            assert self.store.keys(ns) == live

    def teardown(self) -> None:
        self.store.close()


__all__ = ["StoreMachine", "VersionNotFound"]
