"""Reading an entity set: ``$filter``, ``$orderby``, server paging, counts.

A page holds at most the server's page size (100 unless configured) and a next link
when more entities match and the client's ``$top`` wants more. The link's
``$skiptoken`` depends on the order:

- without ``$orderby``, entities come in key order and the token is the last key of the
  page (keyset paging): the next page starts right after it in the store's key index, so
  page N costs what page 1 does, and entities written meanwhile shift nothing;
- with ``$orderby``, the token is the offset of the next page (the whole set is sorted
  for each page anyway, by ``Service.select``).

The filter and the order run over ``catalog.Records``, memoized per version. Entities
whose payload does not fit the entity type match nothing; a page counts those it passed
over (``FeedPage.skipped``), so the door can say so in a header.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from revkv._model import Commit
from revkv._service import Service
from revkv.errors import NamespaceNotFound, QuerySyntaxError
from revkv.http._numbers import is_whole
from revkv.http._odata.catalog import Record, Records
from revkv.http._odata.entities import Entity
from revkv.http._odata.schema import EntitySet, EntityType
from revkv.http._odata.urls import QueryOptionError, QueryOptions, next_link
from revkv.store.base import Column, Select, Selection, Window

__all__ = ["FeedPage", "columns_of", "count_matches", "read_page"]


@dataclass(frozen=True, slots=True)
class FeedPage:
    entities: list[Entity]
    next_link: str | None = None
    count: int | None = None
    skipped: int = 0


@functools.lru_cache(maxsize=256)
def columns_of(entity_type: EntityType) -> dict[str, Column]:
    """Where each property of `entity_type` lives: a commit field, or a JSON member."""
    return {
        prop.name: (
            Column(prop.type, field=prop.commit_field.value)
            if prop.commit_field is not None
            else Column(prop.type, path=(prop.name,))
        )
        for prop in entity_type.properties
    }


def _query(entity_set: EntitySet, records: Records, options: QueryOptions) -> Select:
    return Select(
        filter=options.filter,
        orderby=tuple(options.orderby or ()),
        columns=columns_of(entity_set.entity_type),
        record=records,
        filter_text=options.filter_text or "",
        orderby_text=options.orderby_text or "",
    )


def _select(service: Service, namespace: str, query: Select, window: Window) -> Selection:
    """`service.select`, a bad property named as the option it came from."""
    try:
        return service.select(namespace, query, window)
    except QuerySyntaxError as error:
        option = "$filter"
        if query.orderby and error.expression == query.orderby_text:
            option = "$orderby" if error.expression != query.filter_text else option
        raise QueryOptionError(option, error.message) from None


def read_page(
    service: Service, entity_set: EntitySet, records: Records, options: QueryOptions, size: int
) -> FeedPage:
    """The page of ``entity_set`` a request asks for, with its next link and count."""
    query = _query(entity_set, records, options)
    ordered = bool(query.orderby)
    want = size if options.top is None else min(size, options.top)
    namespace = entity_set.name
    count: int | None = None
    skipped = 0
    try:
        if not ordered:
            start = 0
            commits: list[Commit] = []
            if want:
                window = Window(options.skiptoken, options.skip or 0, want + 1, count=False)
                commits, _, skipped = _select(service, namespace, query, window)
            if options.inlinecount:
                count = _count(service, namespace, query)
        else:
            start = _offset(options.skiptoken) + (options.skip or 0)
            window = Window(None, start, want + 1, count=options.inlinecount)
            commits, count, skipped = _select(service, namespace, query, window)
    except NamespaceNotFound:
        return FeedPage([], count=0 if options.inlinecount else None)
    more = len(commits) > want
    commits = commits[:want]
    remaining = None if options.top is None else options.top - len(commits)
    link = None
    if more and commits and (remaining is None or remaining > 0):
        token = commits[-1].key if not ordered else str(start + len(commits))
        link = next_link(entity_set.path, options, token, top=remaining)
    entities = [_entity(entity_set, records, commit) for commit in commits]
    return FeedPage(entities, link, count, skipped)


def count_matches(
    service: Service, entity_set: EntitySet, records: Records, options: QueryOptions
) -> int:
    """``Set/$count``: how many entities match ``$filter``, after ``$skip`` and ``$top``."""
    query = _query(entity_set, records, options)
    try:
        total = _count(service, entity_set.name, query)
    except NamespaceNotFound:
        return 0
    total = max(0, total - (options.skip or 0))
    return total if options.top is None else min(total, options.top)


def _count(service: Service, namespace: str, query: Select) -> int:
    unordered = Select(
        filter=query.filter, columns=query.columns, record=query.record,
        filter_text=query.filter_text,
    )  # fmt: skip
    total = _select(service, namespace, unordered, Window(top=0)).matched
    assert total is not None
    return total


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    if not is_whole(token):
        raise QueryOptionError(
            "$skiptoken", f"{token[:40]!r} is not a token this server gave for an ordered feed"
        )
    return int(token)


def _entity(entity_set: EntitySet, records: Records, commit: Commit) -> Entity:
    values: Record = records(commit)
    assert values is not None  # it matched
    return Entity(entity_set, values, commit.version, commit.mtime, commit.author)
