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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from revkv.errors import NamespaceNotFound, QuerySyntaxError
from revkv.http.odata.catalog import Record, Records
from revkv.http.odata.entities import Entity
from revkv.http.odata.schema import EntitySet
from revkv.http.odata.urls import QueryOptionError, QueryOptions, next_link
from revkv.model import Commit
from revkv.query import Predicate, compile_filter, compile_orderby
from revkv.service import Query, Service

__all__ = ["FeedPage", "Matcher", "compile_query", "count_matches", "read_page"]
"""Keys read from the store per call (and so per hold of its lock) in a keyset scan."""

Order = Callable[[list[Any]], list[Any]]


@dataclass(frozen=True, slots=True)
class FeedPage:
    entities: list[Entity]
    next_link: str | None = None
    count: int | None = None
    skipped: int = 0


class Matcher:
    """A request's predicate over records: a record matches when it fits the entity type
    and the filter. Records that do not fit are counted in ``skipped``."""

    __slots__ = ("predicate", "skipped")

    def __init__(self, predicate: Predicate | None) -> None:
        self.predicate = predicate
        self.skipped = 0

    def __call__(self, record: Record) -> bool:
        if record is None:
            self.skipped += 1
            return False
        return self.predicate is None or self.predicate(record)


def compile_query(entity_set: EntitySet, options: QueryOptions) -> tuple[Predicate | None, Any]:
    """The compiled ``$filter`` and ``$orderby`` of a request (None where not given).
    A property the entity type lacks, or a filter that cannot be boolean, is a
    QueryOptionError naming the option and the position in it."""
    names = [p.name for p in entity_set.entity_type.properties]
    predicate = order = None
    try:
        if options.filter is not None:
            predicate = compile_filter(options.filter, names, source=options.filter_text or "")
    except QuerySyntaxError as error:
        raise QueryOptionError("$filter", error.message) from None
    try:
        if options.orderby:
            order = compile_orderby(options.orderby, names, source=options.orderby_text or "")
    except QuerySyntaxError as error:
        raise QueryOptionError("$orderby", error.message) from None
    return predicate, order


def read_page(
    service: Service, entity_set: EntitySet, records: Records, options: QueryOptions, size: int
) -> FeedPage:
    """The page of ``entity_set`` a request asks for, with its next link and count."""
    predicate, order = compile_query(entity_set, options)
    matcher = Matcher(predicate)
    want = size if options.top is None else min(size, options.top)
    namespace = entity_set.name
    count: int | None = None
    try:
        if order is None:
            start = 0
            commits: list[Commit] = []
            if want:
                commits, _ = service.select(
                    namespace,
                    Query(matcher, None),
                    records,
                    start_after=options.skiptoken,
                    skip=options.skip or 0,
                    top=want + 1,
                    count=False,
                )
            if options.inlinecount:
                count = _count(service, namespace, predicate, records)
        else:
            start = _offset(options.skiptoken) + (options.skip or 0)
            query = Query(matcher, order)
            commits, count = service.select(
                namespace, query, records, skip=start, top=want + 1, count=options.inlinecount
            )
    except NamespaceNotFound:
        return FeedPage([], count=0 if options.inlinecount else None)
    more = len(commits) > want
    commits = commits[:want]
    remaining = None if options.top is None else options.top - len(commits)
    link = None
    if more and commits and (remaining is None or remaining > 0):
        token = commits[-1].key if order is None else str(start + len(commits))
        link = next_link(entity_set.path, options, token, top=remaining)
    entities = [_entity(entity_set, records, commit) for commit in commits]
    return FeedPage(entities, link, count, matcher.skipped)


def count_matches(
    service: Service, entity_set: EntitySet, records: Records, options: QueryOptions
) -> int:
    """``Set/$count``: how many entities match ``$filter``, after ``$skip`` and ``$top``."""
    predicate, _ = compile_query(entity_set, options)
    try:
        total = _count(service, entity_set.name, predicate, records)
    except NamespaceNotFound:
        return 0
    total = max(0, total - (options.skip or 0))
    return total if options.top is None else min(total, options.top)


def _count(service: Service, namespace: str, predicate: Predicate | None, records: Records) -> int:
    _, total = service.select(namespace, Query(Matcher(predicate), None), records, top=0)
    assert total is not None
    return total


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    if not token.isascii() or not token.isdigit():
        raise QueryOptionError(
            "$skiptoken", f"{token!r} is not a token this server gave for an ordered feed"
        )
    return int(token)


def _entity(entity_set: EntitySet, records: Records, commit: Commit) -> Entity:
    values = records(commit)
    assert values is not None  # it matched
    return Entity(entity_set, values, commit.version, commit.mtime, commit.author)
