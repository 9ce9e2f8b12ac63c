"""The Store protocol: what every backend (embedded, SQL) and the HTTP client offer.

One interface, one conformance suite (`revkv.testing.conformance.StoreTests`) that runs
against each. The semantics are in DESIGN.md's Concepts; in short:

- every write is a commit with a per-key version (1, 2, ...) and a store-wide rev;
- `version=` on a write is compare-and-set: it must be the current version + 1;
- a delete is a tombstone commit; history survives it; `revert` writes a new commit;
- a key past its `expires` is absent at once;
- only durable commits are ever returned or sent to watchers.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from revkv.model import Check, Commit, Default, Delete, Event, Meta, Namespace, Page, Put, TxnResult

Expires = float | datetime | None | Default
TTL = float | None | Default


@runtime_checkable
class Store(Protocol):
    def create_namespace(
        self, name: str, *, exist_ok: bool = False, **settings: Any
    ) -> Namespace: ...
    def update_namespace(self, name: str, **settings: Any) -> Namespace: ...
    def namespace(self, name: str) -> Namespace: ...
    def namespaces(self) -> list[Namespace]: ...

    def put(
        self,
        namespace: str,
        key: str,
        payload: bytes | str,
        *,
        version: int | None = None,
        author: str | None = None,
        comment: str | None = None,
        ttl: TTL = ...,
        expires: Expires = ...,
    ) -> Meta: ...
    def get(self, namespace: str, key: str, version: int | None = None) -> Commit: ...
    def meta(self, namespace: str, key: str, version: int | None = None) -> Meta: ...
    def history(
        self, namespace: str, key: str, *, limit: int = 100, before: int | None = None
    ) -> Page: ...
    def delete(
        self,
        namespace: str,
        key: str,
        *,
        version: int | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> Meta: ...
    def revert(
        self,
        namespace: str,
        key: str,
        to_version: int,
        *,
        version: int | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> Meta: ...
    def list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> Page: ...
    def keys(self, namespace: str, *, prefix: str | None = None) -> builtins.list[str]: ...
    def count(
        self, namespace: str, *, prefix: str | None = None, include_deleted: bool = False
    ) -> int: ...
    def txn(self, checks: Sequence[Check], writes: Sequence[Put | Delete]) -> TxnResult: ...

    @property
    def rev(self) -> int: ...
    def changes(
        self,
        since_rev: int,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[Event]: ...
    def close(self) -> None: ...
