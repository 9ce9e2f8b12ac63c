"""`Store.select` for a backend that evaluates queries in Python (the embedded store).

The parsed `$filter`/`$orderby` trees are compiled by `revkv.query` into a predicate and
a sort over records: the door's own record view (`Select.record`) or one built here from
the columns (commit attributes, JSON paths into the payload). Records are remembered per
key until the key's next commit, so a query over 100,000 keys does not rebuild 100,000
views each time. Keys are read a chunk at a time (the store's lock is never held long);
without an order and without a count the scan stops as soon as the page is full, reading
chunks that grow from small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec

from revkv._abandon import check_abandoned
from revkv._model import Commit, Page
from revkv.query import compile_filter, compile_orderby
from revkv.store.base import Column, Select, Selection, Window

PAGE = 2000  # keys per lock acquisition when scanning a namespace


class Lister(Protocol):
    def list(
        self,
        namespace: str,
        *,
        prefix: str | None = None,
        start_after: str | None = None,
        limit: int = 1000,
        include_deleted: bool = False,
    ) -> Page: ...


def _datetime(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


FIELDS: dict[str, Callable[[Commit], Any]] = {
    "key": lambda c: c.key,
    "version": lambda c: c.version,
    "rev": lambda c: c.rev,
    "author": lambda c: c.author,
    "comment": lambda c: c.comment,
    "mtime": lambda c: _datetime(c.mtime),
    "expires": lambda c: _datetime(c.expires),
    "payload": lambda c: c.payload,
    "size": lambda c: len(c.payload),
}


def record_builder(columns: Mapping[str, Column]) -> Callable[[Commit], dict[str, Any]]:
    """A record per commit from `columns`: commit attributes, JSON members as decoded."""
    readers = [(name, FIELDS[col.field]) for name, col in columns.items() if col.field]
    paths = [(name, col.path) for name, col in columns.items() if not col.field]

    def record(commit: Commit) -> dict[str, Any]:
        values = {name: read(commit) for name, read in readers}
        if paths:
            document = _json(commit.payload)
            for name, path in paths:
                values[name] = _member(document, path)
        return values

    return record


def _json(payload: bytes) -> Any:
    try:
        return msgspec.json.decode(payload)
    except (msgspec.DecodeError, RecursionError):  # not JSON, or too deep: no members
        return None


def _member(document: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if not isinstance(document, dict):
            return None
        document = document.get(name)
    return document


class Memo:
    """A record view remembered per (namespace, key) until the key's next commit."""

    __slots__ = ("_cache", "_record")

    def __init__(self, record: Callable[[Commit], Any]) -> None:
        self._record = record
        self._cache: dict[tuple[str, str], tuple[int, Any]] = {}

    def __call__(self, commit: Commit) -> Any:
        ident = (commit.namespace, commit.key)
        hit = self._cache.get(ident)
        if hit is None or hit[0] != commit.rev:
            hit = self._cache[ident] = (commit.rev, self._record(commit))
        return hit[1]


class Selector:
    """`select` over a store's `list`, with record views kept per set of columns."""

    def __init__(self, store: Lister) -> None:
        self._store = store
        self._memos: dict[int, tuple[Mapping[str, Column], Memo]] = {}

    def _view(self, query: Select) -> Callable[[Commit], Any]:
        if query.record is not None:
            return query.record
        found = self._memos.get(id(query.columns))
        if found is None or found[0] is not query.columns:
            if len(self._memos) > 64:  # columns made per request: do not keep them all
                self._memos.clear()
            found = self._memos[id(query.columns)] = (
                query.columns,
                Memo(record_builder(query.columns)),
            )
        return found[1]

    def select(self, namespace: str, query: Select, window: Window) -> Selection:
        names = list(query.columns) or None
        predicate = order = None
        if query.filter is not None:
            predicate = compile_filter(
                query.filter, names, source=query.filter_text, types=query.types()
            )
        if query.orderby:
            order = compile_orderby(list(query.orderby), names, source=query.orderby_text)
        view = self._view(query)
        skip, top = window.skip, window.top
        end = None if top is None else skip + top
        early = order is None and not window.count and end is not None
        rows: list[tuple[Commit, Any]] = []
        unreadable = 0
        chunks = _growing(end) if early else None
        scan = self._scan(namespace, query, window.start_after, chunks)
        for commit in scan:
            record = view(commit)
            if record is None:
                unreadable += 1
                continue
            if predicate is None or predicate(record):
                rows.append((commit, record))
                if early and len(rows) >= end:  # type: ignore[operator]
                    break
        if order is not None:
            by_record = {id(r): c for c, r in rows}
            rows = [(by_record[id(r)], r) for r in order([r for _, r in rows])]
        count = len(rows) if window.count else None
        return Selection([c for c, _ in rows[skip:end]], count, unreadable)

    def _scan(
        self,
        namespace: str,
        query: Select,
        start_after: str | None,
        chunks: Iterator[int] | None,
    ) -> Iterator[Commit]:
        """Every newest version in key order, a chunk at a time (stopping between two if the
        scan is abandoned, see `revkv._abandon`)."""
        cursor = start_after
        while True:
            check_abandoned()
            size = PAGE if chunks is None else next(chunks)
            page = self._store.list(
                namespace,
                prefix=query.prefix,
                start_after=cursor,
                limit=size,
                include_deleted=query.include_deleted,
            )
            yield from page.items
            if page.next is None:
                return
            cursor = page.next


def _growing(wanted: int | None) -> Iterator[int]:
    """Chunk sizes for a scan that may stop early: a dense page reads few keys."""
    size = min(max(2 * (wanted or 0), 64), PAGE)
    while True:
        yield size
        size = min(size * 4, PAGE)
