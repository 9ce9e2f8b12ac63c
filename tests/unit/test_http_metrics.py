"""/metrics: requests by route template, latency, the store's counters read at scrape time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Receive, Scope, Send

from revkv._auth import Auth
from revkv._config import Settings, Token
from revkv._service import Service
from revkv.http import create_app
from revkv.http._metrics import Metrics, MetricsMiddleware, kv_template
from revkv.testing import open_service

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def requests_of(found: Samples, method: str, route: str, status: int) -> float:
    labels = frozenset({("method", method), ("route", route), ("status", str(status))})
    return found.get(("revkv_http_requests_total", labels), 0.0)


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    service = open_service(auth=Auth(()))
    transport = httpx.ASGITransport(app=create_app(service), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    service.close()


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return samples(response.text)


# -- route templates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "template"),
    [
        (b"/kv", "/kv"),
        (b"/kv/", "/kv"),
        (b"/kv/diary", "/kv/{ns}"),
        (b"/kv/diary/", "/kv/{ns}"),
        (b"/kv/diary/a%2Fb", "/kv/{ns}/{key}"),
        (b"/kv/diary/meta", "/kv/{ns}/{key}"),  # a key named meta
        (b"/kv/diary/k/meta", "/kv/{ns}/{key}/meta"),
        (b"/kv/diary/k/%6Deta", "/kv/{ns}/{key}/meta"),
        (b"/kv/diary/k/history", "/kv/{ns}/{key}/history"),
        (b"/kv/diary/k/revert", "/kv/{ns}/{key}/revert"),
        (b"/kv/diary/k/diff", "/kv/{ns}/{key}/diff"),
        (b"/kv/diary/k/7", "/kv/{ns}/{key}/{version}"),
        (b"/kv/diary/k/x", "/kv/{ns}/{key}/{version}"),  # answered 400 there
        (b"/kv/diary/k/7/meta", "/kv/{ns}/{key}/{version}/meta"),
        (b"/kv/diary/k/7/other", "unmatched"),
        (b"/kv/diary/k/7/meta/more", "unmatched"),
    ],
)
def test_kv_template(raw: bytes, template: str) -> None:
    assert kv_template(raw) == template


@pytest.mark.asyncio
async def test_requests_are_counted_by_route_template_method_and_status(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.put("/kv/diary/a%2Fb", content=b"x")).status_code == 201
    assert (await client.put("/kv/diary/a%2Fb", content=b"y")).status_code == 200
    assert (await client.get("/kv/diary/a%2Fb/1/meta")).status_code == 200
    assert (await client.get("/ns/diary")).status_code == 200
    assert (await client.get("/no/such/route")).status_code == 404
    assert (await client.post("/health")).status_code == 405
    assert (await client.request("BREW", "/health")).status_code == 405
    found = await scrape(client)
    assert requests_of(found, "PUT", "/kv/{ns}/{key}", 201) == 1
    assert requests_of(found, "PUT", "/kv/{ns}/{key}", 200) == 1
    assert requests_of(found, "GET", "/kv/{ns}/{key}/{version}/meta", 200) == 1
    assert requests_of(found, "GET", "/ns/{ns}", 200) == 1
    assert requests_of(found, "GET", "unmatched", 404) == 1
    assert requests_of(found, "POST", "/health", 405) == 1
    assert requests_of(found, "other", "/health", 405) == 1
    routes = {dict(labels).get("route") for name, labels in found if name.startswith("revkv_http")}
    assert not any("diary" in str(route) for route in routes), "raw paths leaked into labels"


@pytest.mark.asyncio
async def test_latency_histogram_has_one_observation_per_request(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(3):
        await client.get("/health")
    found = await scrape(client)
    labels = frozenset({("method", "GET"), ("route", "/health")})
    assert found[("revkv_http_request_duration_seconds_count", labels)] == 3
    assert 0 < found[("revkv_http_request_duration_seconds_sum", labels)] < 3
    inf = frozenset({*labels, ("le", "+Inf")})
    assert found[("revkv_http_request_duration_seconds_bucket", inf)] == 3


@pytest.mark.asyncio
async def test_the_scrape_itself_is_counted_by_the_next_one(client: httpx.AsyncClient) -> None:
    await scrape(client)
    found = await scrape(client)
    assert requests_of(found, "GET", "/metrics", 200) == 1


# -- the store -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_rev_follows_commits(client: httpx.AsyncClient) -> None:
    before = (await scrape(client))[("revkv_rev", frozenset())]
    for version in (1, 2, 3):
        await client.put(f"/kv/diary/k{version}", content=b"x")
    after = (await scrape(client))[("revkv_rev", frozenset())]
    assert after >= before + 3


@pytest.mark.asyncio
async def test_watchers_gauge_counts_open_watches(client: httpx.AsyncClient) -> None:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    service: Service = transport.app.state.service  # type: ignore[attr-defined]
    assert (await scrape(client))[("revkv_watchers", frozenset())] == 0
    watches = [service.watch(None, namespace="diary", prefix=None, resync=False) for _ in range(3)]
    assert (await scrape(client))[("revkv_watchers", frozenset())] == 3
    for watch in watches:
        watch.close()
    assert (await scrape(client))[("revkv_watchers", frozenset())] == 0


@pytest.mark.asyncio
async def test_a_store_in_memory_has_no_journal_metrics(client: httpx.AsyncClient) -> None:
    await client.put("/kv/diary/k", content=b"x")
    assert not any(name.startswith("revkv_journal") for name, _ in await scrape(client))


@pytest.mark.asyncio
async def test_journal_fsyncs_and_batches_of_a_durable_store(tmp_path: Path) -> None:
    service = open_service(tmp_path / "data", durability="always", auth=Auth(()))
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        writes = [client.put(f"/kv/diary/k{i}", content=b"x" * 100) for i in range(20)]
        assert {r.status_code for r in await asyncio.gather(*writes)} == {201}
        found = await scrape(client)
    service.close()
    none: frozenset[tuple[str, str]] = frozenset()
    records = found[("revkv_journal_records_total", none)]
    assert records >= 20
    assert found[("revkv_journal_batch_records_sum", none)] == records
    assert 1 <= found[("revkv_journal_batch_records_count", none)] <= records
    fsyncs = found[("revkv_journal_fsync_seconds_count", none)]
    assert fsyncs >= 1
    assert found[("revkv_journal_fsync_seconds_sum", none)] > 0
    inf = frozenset({("le", "+Inf")})
    assert found[("revkv_journal_fsync_seconds_bucket", inf)] == fsyncs
    assert found[("revkv_journal_written_bytes_total", none)] > 20 * 100
    assert found[("revkv_journal_segments_created_total", none)] >= 1
    diary = frozenset({("namespace", "diary")})
    assert found[("revkv_namespace_keys", diary)] == 20
    assert found[("revkv_namespace_versions", diary)] == 20
    assert found[("revkv_namespace_payload_bytes", diary)] == 20 * 100
    assert found[("revkv_namespace_memory_bytes", diary)] > 20 * 100
    assert found[("revkv_disk_journal_segments", none)] >= 1
    assert found[("revkv_disk_journal_bytes", none)] > 0
    assert found[("revkv_disk_snapshots", none)] >= 1


@pytest.mark.asyncio
async def test_an_sse_stream_counts_once_when_it_ends(client: httpx.AsyncClient) -> None:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    service: Service = transport.app.state.service  # type: ignore[attr-defined]
    stream = asyncio.create_task(client.get("/watch/diary"))
    while service.watchers == 0:
        await asyncio.sleep(0.01)
    assert requests_of(await scrape(client), "GET", "/watch/{ns}", 200) == 0
    service.stop_watches()  # the server going away ends every stream
    response = await stream
    assert response.status_code == 200
    assert "event: shutdown" in response.text
    found = await scrape(client)
    assert requests_of(found, "GET", "/watch/{ns}", 200) == 1


# -- the registry, the endpoint, the middleware ---------------------------------------------


@pytest.mark.asyncio
async def test_each_app_has_its_own_registry() -> None:
    services = [open_service(auth=Auth(())) for _ in range(2)]
    apps = [create_app(s) for s in services]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=apps[0]), base_url="http://test"
    ) as client:
        await client.get("/health")
    assert apps[0].state.metrics.registry is not apps[1].state.metrics.registry
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=apps[1]), base_url="http://test"
    ) as client:
        found = await scrape(client)
    assert requests_of(found, "GET", "/health", 200) == 0
    for service in services:
        service.close()


@pytest.mark.asyncio
async def test_openmetrics_when_the_scraper_asks_for_it(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    plain = await client.get("/metrics")
    assert plain.headers["content-type"].startswith("text/plain")


@pytest.mark.asyncio
async def test_metrics_need_a_token_when_tokens_are_configured() -> None:
    token = Token("prometheus", "scrape-0123456789abcdef", "read", ("nothing.*",))
    service = open_service(auth=Auth((token,)))
    transport = httpx.ASGITransport(app=create_app(service, Settings(data=None)))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        bearer = {"Authorization": f"Bearer {token.token}"}
        assert (await client.get("/metrics", headers=bearer)).status_code == 200
    service.close()


@pytest.mark.asyncio
async def test_a_failing_app_is_counted_as_500_and_the_error_still_raised() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    metrics = Metrics(lambda: None)
    middleware = MetricsMiddleware(broken, metrics)
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/x"}
    with pytest.raises(RuntimeError):
        await middleware(scope, _receive, _send)
    found = samples(metrics.exposition(None)[0].decode())
    assert requests_of(found, "GET", "unmatched", 500) == 1


@pytest.mark.asyncio
async def test_a_request_cancelled_before_answering_is_counted_as_499() -> None:
    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(10)

    metrics = Metrics(lambda: None)
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/x"}
    task = asyncio.create_task(MetricsMiddleware(slow, metrics)(scope, _receive, _send))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    found = samples(metrics.exposition(None)[0].decode())
    assert requests_of(found, "GET", "unmatched", 499) == 1


async def _receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


async def _send(message: Any) -> None:
    return None
