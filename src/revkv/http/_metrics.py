"""Prometheus metrics: what the HTTP door served, and what the store underneath did.

Each app has its own `CollectorRegistry` (tests build many apps; the global registry
would refuse the second). Two kinds of metric:

- Requests, recorded by `MetricsMiddleware` (pure ASGI) when a response ends: a count
  and a latency histogram by method, route template and status. A watch stream is one
  request, counted when it ends. The route is the template (`/kv/{ns}/{key}`), never
  the raw path, and unknown methods count as `other`, so the number of series stays
  bounded whatever clients send.
- The store, read at scrape time by `StoreCollector` from what it counts anyway (the
  backend's `StoreStats`, the hub's open watches, the rev): nothing is added to the
  write path.

    revkv_http_requests_total{method,route,status}           counter
    revkv_http_request_duration_seconds{method,route}        histogram
    revkv_rev                                                 gauge    newest durable rev
    revkv_watchers                                            gauge    open watches
    revkv_journal_records_total                               counter  records journaled
    revkv_journal_batch_records{_count,_sum}                  summary  records per fsync batch
    revkv_journal_fsync_seconds{_bucket,_count,_sum}          histogram time in fsync
    revkv_namespace_keys{namespace}                           gauge    keys (tombstones too)
    revkv_namespace_versions{namespace}                       gauge    versions kept
    revkv_namespace_payload_bytes{namespace}                  gauge    their payloads' bytes
    revkv_namespace_memory_bytes{namespace}                   gauge    estimated memory
    revkv_disk_journal_bytes, revkv_disk_journal_segments     gauge    journal on disk
    revkv_disk_snapshot_bytes, revkv_disk_snapshots           gauge    snapshots on disk
    revkv_journal_written_bytes_total                         counter
    revkv_journal_segments_created_total                      counter
    process_*                                                 the server process (Linux)

The journal counters start at zero when the server starts; a store kept in memory has
no journal and exports none of them, nor the disk gauges. The namespace gauges are
counted by the store as versions come and go (PostgreSQL: by a query at scrape time),
and a backend that cannot tell memory leaves that one out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from time import perf_counter
from typing import Any
from urllib.parse import unquote_to_bytes

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from revkv._service import Service
from revkv.prevalence._latency import HistogramSnapshot
from revkv.store.base import NamespaceStats

#: Seconds; the top buckets are for watch streams and long polls.
BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    300,
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "MERGE"})
KV_ACTIONS = {b"meta", b"history", b"revert", b"diff"}
UNMATCHED = "unmatched"


class Metrics:
    """One app's registry, its request metrics, and the store collector."""

    def __init__(self, service: Callable[[], Service | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "revkv_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "revkv_http_request_duration_seconds",
            "Time from request to the end of the response (a watch stream: its whole life).",
            ("method", "route"),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.registry.register(StoreCollector(service))
        ProcessCollector(registry=self.registry)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The scrape body and its content type (OpenMetrics when the scraper asks for it)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class MetricsMiddleware:
    """Counts and times every HTTP request once its response has ended."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        start = perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        except Exception:
            status = status or 500  # the outer error middleware answers 500
            raise
        finally:  # status 0 left: cancelled before answering (the client went away)
            method = scope["method"] if scope["method"] in METHODS else "other"
            elapsed = perf_counter() - start
            self.metrics.observe(method, route_template(scope), status or 499, elapsed)


def route_template(scope: Scope) -> str:
    """The template of the route that served `scope` (after routing filled it in)."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    path: str = route.path
    if isinstance(route, Mount) and path == "/kv":
        return kv_template(scope.get("raw_path") or scope["path"].encode())
    return path


def kv_template(raw_path: bytes) -> str:
    """The /kv route a raw path takes, decided by segment count and shape as kv.py does."""
    parts = raw_path.split(b"/")[2:]
    if parts and parts[-1] == b"":
        parts.pop()
    count = len(parts)
    if count <= 2:
        return ("/kv", "/kv/{ns}", "/kv/{ns}/{key}")[count]
    third = unquote_to_bytes(parts[2])
    if count == 3:
        return "/kv/{ns}/{key}/" + (third.decode() if third in KV_ACTIONS else "{version}")
    if count == 4 and unquote_to_bytes(parts[3]) == b"meta":
        return "/kv/{ns}/{key}/{version}/meta"
    return UNMATCHED


class StoreCollector(Collector):
    """The store's own counters, read when Prometheus scrapes."""

    def __init__(self, service: Callable[[], Service | None]) -> None:
        self.service = service

    def collect(self) -> Iterable[Metric]:
        service = self.service()
        if service is None:  # before start-up
            return
        stats = service.stats()
        yield GaugeMetricFamily(
            "revkv_rev", "The newest durable rev: one per commit or transaction.", stats.rev
        )
        yield GaugeMetricFamily("revkv_watchers", "Open watches.", stats.gauges["watchers"])
        yield from journal_metrics(stats.counters, stats.gauges, stats.histograms)
        yield from namespace_metrics(stats.namespaces)
        yield from disk_metrics(stats.gauges)


NAMESPACE_METRICS = (
    ("keys", "Keys in the namespace, with any version kept (tombstones included)."),
    ("versions", "Versions kept in the namespace, over all its keys."),
    ("payload_bytes", "Bytes of the payloads of the versions kept."),
    ("memory_bytes", "Memory the versions kept take (an estimate from the counts)."),
)


def namespace_metrics(namespaces: Mapping[str, NamespaceStats]) -> Iterable[Metric]:
    """The size of each namespace, labelled by its name."""
    for field, help_text in NAMESPACE_METRICS:
        family = GaugeMetricFamily(f"revkv_namespace_{field}", help_text, labels=["namespace"])
        for name, sizes in namespaces.items():
            value = getattr(sizes, field)
            if value is not None:
                family.add_metric([name], value)
        if family.samples:
            yield family


DISK_METRICS = (
    ("journal_bytes", "Bytes the journal segments take on disk (preallocated)."),
    ("journal_segments", "Journal segment files in the data directory."),
    ("snapshot_bytes", "Bytes of the snapshots kept in the data directory."),
    ("snapshots", "Snapshot files in the data directory."),
)


def disk_metrics(gauges: Mapping[str, float]) -> Iterable[Metric]:
    """The data directory's files (a store kept in memory, or in PostgreSQL, has none)."""
    for name, help_text in DISK_METRICS:
        if name in gauges:
            yield GaugeMetricFamily(f"revkv_disk_{name}", help_text, gauges[name])


def journal_metrics(
    counters: Mapping[str, float],
    gauges: Mapping[str, float],
    histograms: Mapping[str, HistogramSnapshot],
) -> Iterable[Metric]:
    """The embedded journal's counters (a backend without a journal has none)."""
    if "journal_records" not in counters:
        return
    yield CounterMetricFamily(
        "revkv_journal_records", "Records appended to the journal.", counters["journal_records"]
    )
    yield SummaryMetricFamily(
        "revkv_journal_batch_records",
        "Records written per group commit (count: batches; sum: records).",
        count_value=int(counters["journal_batches"]),
        sum_value=counters["journal_records"],
    )
    fsync = histograms.get("journal_fsync_seconds")
    if fsync is not None:
        yield HistogramMetricFamily(
            "revkv_journal_fsync_seconds",
            "Time each fsync of the journal's group commit took.",
            buckets=[
                *((_bound(b), n) for b, n in zip(fsync.bounds, fsync.cumulative, strict=False)),
                ("+Inf", fsync.count),
            ],
            sum_value=fsync.sum,
        )
    yield CounterMetricFamily(
        "revkv_journal_written_bytes",
        "Bytes written to journal segments.",
        counters["journal_written_bytes"],
    )
    yield CounterMetricFamily(
        "revkv_journal_segments_created",
        "Journal segment files created.",
        counters["journal_segments_created"],
    )
    yield GaugeMetricFamily(
        "revkv_journal_stalled",
        "1 while journal writes wait for disk space (retried until it is freed).",
        gauges.get("journal_stalled", 0.0),
    )
    yield GaugeMetricFamily(
        "revkv_journal_failed",
        "1 once the journal refuses writes (a failed fsync): restart after fixing the disk.",
        gauges.get("journal_failed", 0.0),
    )


def _bound(seconds: float) -> str:
    """A bucket's `le` label as prometheus_client writes it (`0.001`, `1.0`)."""
    return repr(float(seconds))


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics: any valid token may scrape (the numbers name no key nor value)."""
    service: Service = request.app.state.service
    service.principal(request.headers.get("authorization"))
    metrics: Metrics = request.app.state.metrics
    accept = request.headers.get("accept")
    if service.reads_wait:  # the store's figures come from the database
        body, content_type = await asyncio.to_thread(metrics.exposition, accept)
    else:
        body, content_type = metrics.exposition(accept)
    return Response(body, headers={"Content-Type": content_type})
