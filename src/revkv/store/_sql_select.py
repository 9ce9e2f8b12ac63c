"""`Store.select` for the SQL store: the query trees compiled to one SQL statement
(`revkv.query._to_sql`), so a filtered, ordered page of a large namespace is read by
PostgreSQL, never loaded into Python; a query it cannot translate (see there) is
evaluated in Python over a key-ordered scan, as the embedded store does."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from revkv._model import Commit
from revkv.query import compile_filter, compile_orderby
from revkv.query._to_sql import SqlQuery, Untranslatable, compile_order, compile_where
from revkv.store._select import Selector
from revkv.store.base import Select, Selection, Window

log = logging.getLogger(__name__)

#: the commits of a chosen page, in its order
_PAGE = (
    "SELECT p.n, {columns} FROM unnest(CAST(:keys AS text[]), CAST(:versions AS integer[])) "
    "WITH ORDINALITY AS p(key, version, n) JOIN revkv_commits c ON c.namespace = :ns "
    'AND c.key = p.key COLLATE "C" AND c.version = p.version ORDER BY p.n'
)


class SqlSelector:
    def __init__(self, store: Any) -> None:
        self._store = store
        self._python = Selector(store)
        self.translated = 0
        self.evaluated = 0

    def select(self, namespace: str, query: Select, window: Window) -> Selection:
        names = list(query.columns) or None
        if query.filter is not None:  # a bad property is the same QuerySyntaxError
            compile_filter(query.filter, names, source=query.filter_text, types=query.types())
        if query.orderby:
            compile_orderby(list(query.orderby), names, source=query.orderby_text)
        try:
            sql = self._compile(query, window)
        except Untranslatable as why:
            log.debug("query evaluated in Python: %s", why)
            self.evaluated += 1
            return self._python.select(namespace, query, window)
        self.translated += 1
        found: Selection = self._store.read(
            lambda connection: self._run(connection, namespace, window, *sql)
        )
        return found

    def _compile(self, query: Select, window: Window) -> tuple[str, str, SqlQuery]:
        if query.record is not None:
            raise Untranslatable("a door's own record view")
        if query.orderby and window.start_after is not None:
            raise Untranslatable("start_after with $orderby")
        sql = SqlQuery(query.columns)
        where, params = self._store.where(query.prefix, window.start_after, query.include_deleted)
        sql.params.update(params)
        if query.filter is not None:
            where = f"{where} AND {compile_where(query.filter, sql)}"
        order = compile_order(query.orderby, sql) if query.orderby else "h.key"
        return where, order, sql

    def _run(
        self,
        connection: sa.Connection,
        namespace: str,
        window: Window,
        where: str,
        order: str,
        sql: SqlQuery,
    ) -> Selection:
        from revkv.store._sql_reads import COMMIT_COLUMNS, commit_of

        params = {**sql.params, "ns": namespace}
        self._store.namespace_exists(connection, namespace)
        joined = "FROM revkv_heads h JOIN revkv_commits c USING (namespace, key, version)"
        # The page is chosen on narrow rows (key and version), its count riding on the
        # same scan (a window over every row matched), and only then are its commits
        # read: a second statement counting would match them all again, and a window
        # over whole rows would carry every payload matched. A page of 50 over 100,000
        # keys: 35 + 33 ms as page and count, 22 + 1 ms so (bench/sql.py's query).
        counted = ", count(*) OVER ()" if window.count else ""
        chosen = connection.execute(
            sa.text(
                f"SELECT h.key, h.version{counted} {joined} WHERE {where} ORDER BY {order} "
                "LIMIT :top OFFSET :skip"
            ),
            {**params, "top": window.top, "skip": window.skip},
        ).all()
        commits: list[Commit] = []
        if chosen:
            rows = connection.execute(
                sa.text(_PAGE.format(columns=COMMIT_COLUMNS)),
                {
                    "ns": namespace,
                    "keys": [r[0] for r in chosen],
                    "versions": [r[1] for r in chosen],
                },
            )
            commits = [commit_of(row[1:]) for row in rows]
        matched = None
        if window.count:
            if chosen:
                matched = int(chosen[0][-1])
            elif window.top and not window.skip:  # the page would have held a match
                matched = 0
            else:  # past the end, or no page asked for: no row carried the count
                alone = connection.execute(
                    sa.text(f"SELECT count(*) {joined} WHERE {where}"), params
                )
                matched = int(alone.scalar_one())
        return Selection(commits, matched, 0)
