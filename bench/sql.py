"""revkv on PostgreSQL against its ceiling and against the embedded server, driven by wrk.

In one run, on one PostgreSQL cluster started here (`fsync=on`, `synchronous_commit=on`:
PostgreSQL's defaults, every commit flushed to the WAL before it is acknowledged):

- **bare insert loop** — the ceiling: 64 psycopg connections (asyncio) each inserting one
  row of 100 bytes per transaction into a plain table, as fast as they can;
- **PUT** — wrk, 64 connections, a durable PUT of 100 bytes to 1,000 rotating keys through
  one `revkv serve --db`, through two sharing the database (32 connections each, two wrk
  at once), and through one embedded `revkv serve --data` (journal fsynced per group);
- **GET** — the latest value of one key, through the same three set-ups;
- **a `$filter` + `$orderby` page** of 50 over 100,000 keys (`GET /kv/NS?$filter=...`),
  median of 20 requests; measured first, before the writes: after them PostgreSQL's
  checkpointer and autovacuum are still at work on their tables for minutes, and the
  same page took 44 ms there against 26 ms on a quiet cluster.

The cases run in turn, `--rounds` times (3), so that a noisy minute on this shared machine
hurts every case alike; the report shows every round, the median of each figure and the
median of each round's ratio (a ratio of two figures measured in the same round).

Goals (issue 11): PUT through one PostgreSQL-backed server >= 60% of the bare insert loop;
GET through it >= 50% of the embedded server's; the filtered, ordered page < 50 ms.

wrk is Debian's `wrk`; PostgreSQL Debian's `postgresql` (see tests/postgres.py). The
machine is shared and has two cores: servers, wrk and PostgreSQL all compete for them,
so the ratios, measured minutes apart, are the figures to quote.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import _common as c  # first: it takes bench/ (and its http.py) off sys.path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402
from tests.servers import RevkvServer  # noqa: E402

import revkv  # noqa: E402
from revkv._model import Commit  # noqa: E402

VALUE = "v" * 100
NS = "bench"
KEYS = 1000
FILTER_KEYS = 100_000
FILTER = "$filter=startswith(Key, 'k01') and Size gt 10&$orderby=Version desc, Key&$top=50"

PUT_LUA = f"""
counter = 0
request = function()
  counter = counter + 1
  local path = "/kv/bench/k" .. (counter % {KEYS})
  return wrk.format("PUT", path, {{["Content-Type"] = "application/octet-stream"}}, "{VALUE}")
end
"""
GET_LUA = 'request = function() return wrk.format("GET", "/kv/bench/latest") end\n'
RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def wrk(urls: list[str], script: Path, connections: int, seconds: int) -> float:
    """Requests/s of wrk against every url at once (connections split among them)."""
    each = max(1, connections // len(urls))
    runs = [
        subprocess.Popen(
            ["wrk", "-t1", f"-c{each}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), u],
            stdout=subprocess.PIPE,
            text=True,
        )
        for u in urls
    ]
    total = 0.0
    for run in runs:
        out, _ = run.communicate(timeout=seconds + 60)
        found = RATE.search(out)
        if found is None:
            raise RuntimeError(f"cannot read wrk's output:\n{out}")
        errors = ERRORS.search(out)
        if errors is not None:
            c.progress(f"wrk: {errors[1]} non-2xx answers")
        total += float(found[1])
    return total


async def insert_loop(url: str, connections: int, seconds: float) -> float:
    """The ceiling: single-row insert transactions, `connections` at once."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as setup:
        await setup.execute("DROP TABLE IF EXISTS bare; CREATE TABLE bare (k text, v bytea)")
    done = 0
    stop = time.monotonic() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            i = 0
            while time.monotonic() < stop:
                await connection.execute(
                    "INSERT INTO bare VALUES (%s, %s)", (f"k{n}-{i}", VALUE.encode())
                )
                i += 1
                done += 1

    start = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    return done / (time.monotonic() - start)


@contextmanager
def servers(locations: list[str | Path]) -> Iterator[list[str]]:
    running = [RevkvServer(where).start(timeout=60) for where in locations]  # type: ignore[arg-type]
    try:
        for server in running:
            httpx.put(server.url + "/kv/bench/latest", content=VALUE).raise_for_status()
        yield [server.url for server in running]
    finally:
        for server in running:
            server.stop()


def fill(url: str, keys: int) -> float:
    """Load `keys` JSON documents through the store (100 a transaction); seconds taken."""
    start = time.monotonic()
    with revkv.open(url, sweep_interval=None) as store:
        now = time.time()
        commits = (
            Commit("big", f"k{n:06d}", 1, 0, now, "bench", "", None, False, payload=b"x" * (n % 40))
            for n in range(keys)
        )
        store.import_commits(commits)
    return time.monotonic() - start


def filtered_page(url: str, runs: int = 20) -> tuple[float, int]:
    """Median milliseconds of the filtered, ordered page, and its length."""
    times = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(runs):
            start = time.perf_counter()
            answer = client.get(f"/kv/big?{FILTER}")
            times.append((time.perf_counter() - start) * 1000)
            answer.raise_for_status()
    return statistics.median(times), len(answer.json()["items"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run [10]")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of every case, in turn; medians quoted [3]"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/sql.py needs wrk: apt-get install wrk")
    scratch = Path(tempfile.mkdtemp(prefix="revkv-bench-sql-"))
    (scratch / "put.lua").write_text(PUT_LUA)
    (scratch / "get.lua").write_text(GET_LUA)
    rounds: list[dict[str, float]] = []
    pg = PostgresServer.start(fsync="on", synchronous_commit="on", max_connections=300)
    try:
        conns, seconds = args.connections, args.seconds
        c.progress(f"loading {FILTER_KEYS:,} keys")  # first, while the cluster is quiet
        big = pg.create_database("big")
        load = fill(big, FILTER_KEYS)
        with servers([big]) as urls:
            page, length = filtered_page(urls[0])
        bare, db = pg.create_database("bare"), pg.create_database("kv")
        for n in range(1, args.rounds + 1):  # in turn, so a noisy minute hurts every case
            results: dict[str, float] = {}
            c.progress(f"round {n}/{args.rounds}: bare insert loop")
            results["bare insert"] = asyncio.run(insert_loop(bare, conns, seconds))
            for label, where in (
                ("1 x revkv --db", [db]),
                ("2 x revkv --db", [db, db]),
                ("embedded revkv", [scratch / f"data{n}"]),
            ):
                with servers(where) as urls:  # type: ignore[arg-type]
                    for op in ("put", "get"):
                        c.progress(f"round {n}/{args.rounds}: {label}: {op}")
                        results[f"{op} {label}"] = wrk(urls, scratch / f"{op}.lua", conns, seconds)
            rounds.append(results)
    finally:
        pg.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    report(rounds, load, page, length)


RATIOS = [
    ("PUT 1 x revkv --db / bare insert loop", "put 1 x revkv --db", "bare insert", ">= 60%"),
    ("PUT 2 x revkv --db / bare insert loop", "put 2 x revkv --db", "bare insert", ""),
    ("PUT 1 x revkv --db / embedded", "put 1 x revkv --db", "put embedded revkv", ""),
    ("GET 1 x revkv --db / embedded", "get 1 x revkv --db", "get embedded revkv", ">= 50%"),
    ("GET 2 x revkv --db / embedded", "get 2 x revkv --db", "get embedded revkv", ""),
]


def report(rounds: list[dict[str, float]], load: float, page: float, length: float) -> None:
    """Every round's figures, then the median of each, and the median of each round's ratio."""
    print(f"PostgreSQL bench, {os.cpu_count()} cores, wrk -c64, {len(rounds)} rounds")
    names = list(rounds[0])
    heads = "".join(f"{f'round {n}':>10}" for n in range(1, len(rounds) + 1))
    print(f"  {'requests/s':<26}{heads}{'median':>10}")
    for name in names:
        values = [r[name] for r in rounds]
        cells = "".join(f"{v:>10,.0f}" for v in values)
        print(f"  {name:<26}{cells}{statistics.median(values):>10,.0f}")
    for label, top, bottom, goal in RATIOS:
        each = [r[top] / r[bottom] for r in rounds]
        spread = " ".join(f"{x:.0%}" for x in each)
        line = f"{label:<40} {statistics.median(each):>5.0%}  (rounds: {spread})"
        print(line + (f"  goal {goal}" if goal else ""))
    print(f"loading {FILTER_KEYS:,} keys: {load:.1f} s")
    print(f"$filter + $orderby page of {length:.0f} over {FILTER_KEYS:,} keys: {page:.1f} ms"
          " (median of 20; goal < 50 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
