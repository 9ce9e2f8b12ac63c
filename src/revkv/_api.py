"""`StoreAPI`: the interface users program against, embedded or remote.

`revkv.open()` (the Service over the embedded backend) and `revkv.Client` (a server over
HTTP) both have it, and `revkv.testing.conformance.StoreTests` checks both: code written
against it runs on either. Compare-and-set is `expect=`, the version you read.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from revkv._model import (
    Check,
    Commit,
    Delete,
    Event,
    Expect,
    Meta,
    Namespace,
    Page,
    Put,
    TxnResult,
)
from revkv._view import NamespaceView
from revkv.store.base import TTL, CompactionReport, Expires


@runtime_checkable
class StoreAPI(Protocol):
    def create_namespace(
        self, name: str, *, exist_ok: bool = False, **settings: Any
    ) -> Namespace: ...
    def update_namespace(self, name: str, **settings: Any) -> Namespace: ...
    def get_namespace(self, name: str) -> Namespace: ...
    def namespaces(self) -> builtins.list[Namespace]: ...
    def namespace(self, name: str) -> NamespaceView: ...

    def get(
        self, namespace: str, key: str, version: int | None = None, *, default: Any = ...
    ) -> Commit: ...
    def meta(
        self,
        namespace: str,
        key: str,
        version: int | None = None,
        *,
        include_deleted: bool = False,
    ) -> Meta: ...
    def history(
        self, namespace: str, key: str, *, limit: int = 100, before: int | None = None
    ) -> Page: ...
    def iter_history(self, namespace: str, key: str, *, page_size: int = 100) -> Iterator[Meta]: ...
    def list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> Page: ...
    def iter_list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        include_deleted: bool = False,
        page_size: int = 1000,
    ) -> Iterator[Commit]: ...
    def keys(self, namespace: str, *, prefix: str | None = None) -> builtins.list[str]: ...
    def count(
        self, namespace: str, *, prefix: str | None = None, include_deleted: bool = False
    ) -> int: ...

    def put(
        self,
        namespace: str,
        key: str,
        payload: bytes | str,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
        ttl: TTL = ...,
        expires: Expires = ...,
    ) -> Meta: ...
    def delete(
        self,
        namespace: str,
        key: str,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> Meta: ...
    def revert(
        self,
        namespace: str,
        key: str,
        to_version: int,
        *,
        expect: Expect | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> Meta: ...
    def txn(self, checks: Sequence[Check], writes: Sequence[Put | Delete]) -> TxnResult: ...
    def purge(
        self,
        namespace: str,
        key: str,
        *,
        before_version: int | None = None,
        all_versions: bool = False,
    ) -> int: ...
    def compact(self) -> CompactionReport: ...

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
    def iter_changes(
        self, since_rev: int, *, namespace: str | None = None, prefix: str | None = None
    ) -> Iterator[Event]: ...
    def close(self) -> None: ...
