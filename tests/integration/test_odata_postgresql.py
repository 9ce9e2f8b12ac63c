"""The OData door over PostgreSQL reads off the event loop (issue 11): no SQL of a
single-entity GET, a property or the namespaces runs on the loop's thread, where one
database round trip would hold up every other request.

Checked with SQLAlchemy's own ``before_cursor_execute`` event, which names the thread
each statement runs on: the real app, the real database, no timing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

import revkv
from revkv._config import Settings
from revkv.http import create_app
from tests.postgres import PostgresServer

SCHEMA = Path(__file__).parents[1] / "compat" / "MemCacheSchema.xml"
KVP = "/odata/KeyValuePairs"
ENTRY = {"Key": "k", "Value": "v", "Expires": "/Date(1893456000000)/"}


@pytest.fixture
def service(postgres: PostgresServer) -> Iterator[revkv.Service]:
    service = revkv.open(postgres.create_database("odata"), sweep_interval=None)
    yield service
    service.close()


def test_odata_reads_run_no_sql_on_the_event_loop(service: revkv.Service) -> None:
    assert service.reads_wait
    engine: sa.Engine = service.backend._engine  # type: ignore[attr-defined]
    threads: list[tuple[int, str]] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        threads.append((threading.get_ident(), statement))

    app = create_app(service, Settings(data=None, odata_schema=SCHEMA))

    async def session() -> tuple[int, list[httpx.Response]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.post(KVP, json=ENTRY)).status_code == 201
            sa.event.listen(engine, "before_cursor_execute", record)
            try:
                answers = [
                    await client.get(path)
                    for path in (
                        "/odata/",
                        "/odata/$metadata",
                        f"{KVP}('k')",
                        f"{KVP}('k')?$filter=Value eq 'v'",
                        f"{KVP}('k')/$count",
                        f"{KVP}('k')/Value",
                        f"{KVP}('k')/Value/$value",
                        f"{KVP}('nope')",
                    )
                ]
                merged = await client.request(
                    "MERGE", f"{KVP}('k')", json={"Value": "w"}, headers={"If-Match": 'W/"1"'}
                )
                answers.append(merged)
            finally:
                sa.event.remove(engine, "before_cursor_execute", record)
            return threading.get_ident(), answers

    loop_thread, answers = asyncio.run(session())
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 200, 200, 200, 404, 204]
    assert answers[6].text == "v"
    assert threads, "the reads ran no SQL: nothing was proven"
    on_loop = [statement for thread, statement in threads if thread == loop_thread]
    assert on_loop == []


def test_writes_run_no_sql_on_the_loop_even_when_settings_are_not_kept(
    service: revkv.Service,
) -> None:
    """A PUT (REST or OData) asks its namespace's `max_payload` before reading the body
    (and a revert reads the version it reverts to, refusing a purged one).
    The settings are kept in memory while the store listens; when they are not (its
    listener not up yet, a change just heard: both happen under load), the read ran on
    the loop. Forgetting them before each write makes that case certain here."""
    store = service.backend
    engine: sa.Engine = store._engine  # type: ignore[attr-defined]
    threads: list[tuple[int, str]] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        threads.append((threading.get_ident(), statement))

    app = create_app(service, Settings(data=None, odata_schema=SCHEMA))

    async def session() -> tuple[int, list[int]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.post(KVP, json=ENTRY)).status_code == 201
            assert (await client.put("/kv/plain/a", content=b"1")).status_code == 201
            sa.event.listen(engine, "before_cursor_execute", record)
            statuses = []
            try:
                for send in (
                    lambda: client.put("/kv/plain/a", content=b"2"),
                    lambda: client.put(f"{KVP}('k')", json={**ENTRY, "Value": "w"}),
                    lambda: client.get("/ns/plain"),
                    lambda: client.get("/ns"),
                    lambda: client.post("/kv/plain/a/revert?to=1"),  # reads version 1 first
                ):
                    store.settings_changed(None)  # type: ignore[attr-defined]
                    statuses.append((await send()).status_code)
            finally:
                sa.event.remove(engine, "before_cursor_execute", record)
            return threading.get_ident(), statuses

    loop_thread, statuses = asyncio.run(session())
    assert statuses == [200, 204, 200, 200, 200]
    namespace_reads = [s for _, s in threads if "revkv_namespaces" in s]
    assert namespace_reads, "no settings were read: nothing was proven"
    assert [s for thread, s in threads if thread == loop_thread] == []
