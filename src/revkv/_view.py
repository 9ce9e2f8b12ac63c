"""A namespace handle: the store's API with the namespace given once.

`cfg = store.namespace("cfg")` works on the embedded store (the Service) and on
`revkv.Client` alike; `cfg["db/url"]` is the newest payload (a `KeyError` when absent),
`cfg["k"] = b"v"` commits, `del cfg["k"]` writes a tombstone, `"k" in cfg` and
`iter(cfg)` look at live keys. Everything else forwards to the store with the namespace
filled in, so its docstrings hold here too.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Any

from revkv._model import Commit, Meta, Namespace, Page
from revkv.errors import NamespaceNotFound


class NamespaceView:
    __slots__ = ("name", "store")

    def __init__(self, store: Any, name: str) -> None:
        self.store = store
        self.name = name

    def __repr__(self) -> str:
        return f"<namespace {self.name!r} of {self.store!r}>"

    @property
    def settings(self) -> Namespace:
        """The namespace's settings (`NamespaceNotFound` before its first write)."""
        settings: Namespace = self.store.get_namespace(self.name)
        return settings

    def get(self, key: str, version: int | None = None, **options: Any) -> Commit:
        commit: Commit = self.store.get(self.name, key, version, **options)
        return commit

    def meta(self, key: str, version: int | None = None, **options: Any) -> Meta:
        meta: Meta = self.store.meta(self.name, key, version, **options)
        return meta

    def put(self, key: str, payload: bytes | str, **options: Any) -> Meta:
        meta: Meta = self.store.put(self.name, key, payload, **options)
        return meta

    def delete(self, key: str, **options: Any) -> Meta:
        meta: Meta = self.store.delete(self.name, key, **options)
        return meta

    def revert(self, key: str, to_version: int, **options: Any) -> Meta:
        meta: Meta = self.store.revert(self.name, key, to_version, **options)
        return meta

    def history(self, key: str, **options: Any) -> Page:
        page: Page = self.store.history(self.name, key, **options)
        return page

    def iter_history(self, key: str, **options: Any) -> Iterator[Meta]:
        found: Iterator[Meta] = self.store.iter_history(self.name, key, **options)
        return found

    def list(self, **options: Any) -> Page:
        page: Page = self.store.list(self.name, **options)
        return page

    def iter_list(self, **options: Any) -> Iterator[Commit]:
        found: Iterator[Commit] = self.store.iter_list(self.name, **options)
        return found

    def keys(self, prefix: str | None = None) -> builtins.list[str]:
        keys: builtins.list[str] = self.store.keys(self.name, prefix=prefix)
        return keys

    def count(self, **options: Any) -> int:
        count: int = self.store.count(self.name, **options)
        return count

    def watch(self, since_rev: int | None = None, **options: Any) -> Any:
        return self.store.watch(since_rev, namespace=self.name, **options)

    # -- a mapping of live keys to their newest payloads --------------------------------

    def __getitem__(self, key: str) -> bytes:
        payload: bytes = self.store.get(self.name, key).payload
        return payload

    def __setitem__(self, key: str, payload: bytes | str) -> None:
        self.store.put(self.name, key, payload)

    def __delitem__(self, key: str) -> None:
        self.store.delete(self.name, key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return self.store.get(self.name, key, default=None) is not None

    def __iter__(self) -> Iterator[str]:
        try:
            yield from (commit.key for commit in self.store.iter_list(self.name))
        except NamespaceNotFound:
            return

    def __len__(self) -> int:
        try:
            return self.count()
        except NamespaceNotFound:
            return 0
