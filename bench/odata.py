"""OData queries over 100,000 entities: over HTTP from a real server, and in process.

The seed's entity set (`KeyValuePairs`: Key, Value, Expires) is filled with N entities
(default 100,000; keys `0` … `99999` as the seed names them, expiry times spread over a
day in an order unrelated to the keys), written once into a data directory that
`revkv serve --odata-schema MemCacheSchema.xml` then serves, and once into an in-memory
store in this process. Each case is one request of the filter

    Expires lt datetime'<the middle of the spread>' and startswith(Key,'1')

(about 5,600 matches) with `$top=50`:

- **first page**: the page a client asks for first (the scan stops once it is full);
- **$skip=2500**: a page in the middle, as a client paging with `$skip` asks for it;
- **$inlinecount**: the first page with the count of every match (a scan of all N);
- **$orderby**: the first page in `Expires desc` order (all N scanned and sorted).

Over HTTP, one keep-alive connection (`http.client`, whose own cost is tens of
microseconds) sends the request again and again for `--seconds`: requests/s, p50, p99.
In process, the same query runs through `Service.select` with the door's record views,
parsing and compiling the filter each time as the door does (no HTTP, no Atom). The
ratio is in process ÷ HTTP: how much the door, Atom and the network cost on top. The
record views are warmed before timing; the first, cold request is reported apart.

    .venv/bin/python bench/odata.py [--entities 100000] [--seconds 3] [--runs 3]
"""

from __future__ import annotations

import os
import sys

# bench/ holds `http.py`, and this folder comes first on sys.path when a script here runs:
# move it behind the standard library so that `import http.client` finds the real one.
sys.path.sort(
    key=lambda entry: os.path.realpath(entry or ".") == os.path.dirname(os.path.realpath(__file__))
)

import contextlib
import http.client
import socket
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import httpx
import msgspec

import _common as c

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import revkv  # noqa: E402
from revkv._service import Service  # noqa: E402
from revkv.http._odata.catalog import Catalog, read_schema  # noqa: E402
from revkv.http._odata.feeds import columns_of  # noqa: E402
from revkv.http._odata.urls import parse_query_options  # noqa: E402
from revkv.store.base import Select, Window  # noqa: E402
from revkv.testing import open_service  # noqa: E402

SCHEMA = ROOT / "tests" / "compat" / "MemCacheSchema.xml"
NAMESPACE = "KeyValuePairs"
BASE = 1_893_456_000.0  # 2030-01-01T00:00:00Z: nothing expires during the run
SPREAD = 86_400
MIDDLE = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(BASE + SPREAD / 2))
FILTER = f"Expires lt datetime'{MIDDLE}' and startswith(Key,'1')"
CASES: dict[str, dict[str, str]] = {
    "first page": {"$top": "50"},
    "$skip=2500": {"$top": "50", "$skip": "2500"},
    "$inlinecount": {"$top": "50", "$inlinecount": "allpages"},
    "$orderby": {"$top": "50", "$orderby": "Expires desc"},
}
GOAL_MS = 50.0


def fill(store: revkv.Service, entities: int) -> None:
    store.create_namespace(NAMESPACE, exist_ok=True)
    for i in range(entities):
        payload = msgspec.json.encode({"Value": f"value {i}"})
        expires = BASE + (i * 7919) % SPREAD
        store.put(NAMESPACE, str(i), payload, author="bench", expires=expires)


@contextlib.contextmanager
def server(data: Path) -> Iterator[str]:
    """`revkv serve` on `data` until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["serve", "--data", str(data), "--port", str(port), "--odata-schema", str(SCHEMA)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen([sys.executable, "-m", "revkv.cli", *args], env=env)
    try:
        wait_ready(process, url + "/health")
        yield url + "/odata/"
    finally:
        process.terminate()
        process.wait(30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(process: subprocess.Popen[bytes], health: str, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}) before it was ready")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(health, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server was not ready after {limit:g} s")


def timed(seconds: float, call: Callable[[], object]) -> tuple[float, list[float]]:
    """Calls of `call` for `seconds`, one after another: (calls/s, each call's ms)."""
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    while (now := time.perf_counter()) < deadline:
        call()
        latencies.append((time.perf_counter() - now) * 1000)
    return len(latencies) / (time.perf_counter() - started), latencies


def http_call(
    connection: http.client.HTTPConnection, root: str, params: dict[str, str], expected: int
) -> Callable[[], None]:
    """One GET on a kept-alive connection (http.client: the client costs next to nothing)."""
    target = root + NAMESPACE + "?" + urlencode({"$filter": FILTER, **params}, quote_via=quote)

    def call() -> None:
        connection.request("GET", target)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body[:500]
        entries = body.count(b"<entry")
        assert entries == expected, f"{entries} entries, expected {expected}"

    return call


def local_call(service: Service, catalog: Catalog, params: dict[str, str]) -> Callable[[], int]:
    """The query as the door runs it, minus HTTP and Atom: parse, compile, select."""
    entity_set = catalog.model(service).entity_set(NAMESPACE)
    records = catalog.records(entity_set)

    def call() -> int:
        options = parse_query_options({"$filter": FILTER, **params})
        query = Select(
            filter=options.filter,
            orderby=tuple(options.orderby or ()),
            columns=columns_of(entity_set.entity_type),
            record=records,
            filter_text=options.filter_text or "",
            orderby_text=options.orderby_text or "",
        )
        window = Window(skip=options.skip or 0, top=options.top, count=options.inlinecount)
        return len(service.select(NAMESPACE, query, window).commits)

    return call


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = c.base_parser(__doc__ or "", threads=False)
    parser.add_argument("--entities", type=int, default=100_000, help="default 100,000")
    args = parser.parse_args()
    with c.bench_dir(args.dir) as root:
        data = root / "data"
        c.progress(f"writing {args.entities:,} entities to {data} and to memory")
        on_disk = revkv.open(data, durability="never")
        fill(on_disk, args.entities)
        on_disk.close()
        service = open_service()
        fill(service, args.entities)
        catalog = Catalog(read_schema(SCHEMA))
        local = {name: local_call(service, catalog, params) for name, params in CASES.items()}
        expected = {name: call() for name, call in local.items()}  # also warms the records
        with server(data) as url:
            parts = urlsplit(url)
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
            counted = "$inlinecount"
            cold = http_call(connection, parts.path, CASES[counted], expected[counted])
            started = time.perf_counter()
            cold()
            cold_ms = (time.perf_counter() - started) * 1000
            remote = {n: http_call(connection, parts.path, CASES[n], expected[n]) for n in CASES}
            results: dict[tuple[str, str], list[tuple[float, list[float]]]] = {}
            for run in range(args.runs):
                for name in CASES:
                    for side, call in (("http", remote[name]), ("local", local[name])):
                        results.setdefault((name, side), []).append(timed(args.seconds, call))
                c.progress(f"run {run + 1} of {args.runs} done")
            connection.close()
        service.close()
    report(args, results, cold_ms)


def summary(samples: list[tuple[float, list[float]]]) -> tuple[float, float, float]:
    """(median rate, median p50 ms, median p99 ms) over the runs."""
    rate = statistics.median(s[0] for s in samples)
    p50 = statistics.median(percentile(s[1], 0.5) for s in samples)
    p99 = statistics.median(percentile(s[1], 0.99) for s in samples)
    return rate, p50, p99


def report(
    args: object, results: dict[tuple[str, str], list[tuple[float, list[float]]]], cold_ms: float
) -> None:
    rows, figures = [], {}
    for name in CASES:
        http = summary(results[(name, "http")])
        local = summary(results[(name, "local")])
        figures[name] = {"http": http, "local": local}
        rows.append(
            [
                name,
                c.fmt_rate(http[0]),
                f"{http[1]:.2f}",
                f"{http[2]:.2f}",
                c.fmt_rate(local[0]),
                f"{local[1]:.2f}",
                c.fmt_ratio(c.ratio(local[0], http[0])),
            ]
        )
    entities = getattr(args, "entities", 0)
    if getattr(args, "json", False):
        c.emit_json({"entities": entities, "filter": FILTER, "cold_ms": cold_ms, "cases": figures})
        return
    c.print_table(
        f"$filter over {entities:,} entities, $top=50 (one connection, sequential)",
        ["case", "HTTP req/s", "p50 ms", "p99 ms", "in-process q/s", "p50 ms", "in-proc ÷ HTTP"],
        rows,
        note=f"filter: {FILTER}\nfirst request, cold record views, with $inlinecount: "
        f"{cold_ms:,.0f} ms",
    )
    first = figures["first page"]["http"][1]
    c.print_goals(
        [c.Goal("filtered page of 50 over HTTP, p50 (ms)", first, GOAL_MS, f"{first:.2f} ms", True)]
    )


if __name__ == "__main__":
    main()
