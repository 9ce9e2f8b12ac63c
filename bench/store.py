"""revkv's embedded store against sqlite3, side by side in one run.

Both systems keep every version of every key, numbered per key, with author, comment and time;
each answers "the newest version of this key" itself. The script measures, on the disk that
holds `--dir`:

1. durable puts/s from 1 and 16 threads: revkv with `durability="always"` (acknowledged after
   fsync, group commit across threads) and sqlite3 in WAL mode with `synchronous=FULL`, one
   transaction per put (see `SQLITE_CONFIG`);
2. gets/s of the newest version of random (and of neighbouring) keys of a `--keys` store,
   in-process, one thread, next to a plain dict of the same keys (the interpreter's floor);
3. the median latency of one `list` page of 100 keys in the middle of that store, by prefix and
   by `start_after`;
4. memory: RSS growth per key while a fresh process loads `--keys` keys of 100-byte payloads
   (the bytes beyond the payload are the overhead), and the bytes per key on disk;
5. cold start: `revkv.open(path)` of that store in a fresh process (snapshot load, then replay),
   once from a snapshot alone and once with `--tail` journal records on top of it.

Figures are medians of `--runs` runs, the cases interleaved run by run; the ratios are revkv ÷
sqlite3 of the figure shown: above 1 favours revkv for rates, below 1 for times and sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as c  # also takes this folder off sys.path (see there)

try:
    import revkv
    from revkv.store import _embedded as embedded
except ImportError as error:  # pragma: no cover - a usage error
    sys.exit(
        f"revkv could not be imported ({error}).\n"
        "Run from the checkout with PYTHONPATH=src (or install it: pip install -e .)."
    )

NS = "bench"
AUTHOR, COMMENT = "bench", "bench write"
PAYLOAD_SIZE = 100
PAYLOAD = b"p" * PAYLOAD_SIZE
KEY_DIGITS = 7  # key names are "key" + 7 digits, so at most 9,999,999 keys
KEYS_PER_THREAD = 10_000  # the put cases cycle over these keys, adding versions
GET_SAMPLE = 10_000  # keys one get batch reads
PAGE = 100  # keys per list page; both systems fetch one more to know there is a next page
GOAL_PUT_THREADS = 16

SQL_CREATE = (
    "CREATE TABLE IF NOT EXISTS commits (ns TEXT NOT NULL, key TEXT NOT NULL, "
    "version INTEGER NOT NULL, payload BLOB NOT NULL, author TEXT, comment TEXT, mtime REAL, "
    "PRIMARY KEY (ns, key, version)) WITHOUT ROWID"
)
SQL_INSERT = "INSERT INTO commits VALUES (?, ?, ?, ?, ?, ?, ?)"
SQL_CURRENT = "SELECT max(version) FROM commits WHERE ns = ? AND key = ?"
SQL_LATEST = (
    "SELECT version, payload, author, comment, mtime FROM commits "
    "WHERE ns = ? AND key = ? ORDER BY version DESC LIMIT 1"
)
_SQL_PAGE = (
    "SELECT key, version, payload, author, comment, mtime FROM commits AS c "
    "WHERE ns = ? AND {where} AND version = "
    "(SELECT max(version) FROM commits WHERE ns = c.ns AND key = c.key) ORDER BY key LIMIT ?"
)
SQL_PAGE_PREFIX = _SQL_PAGE.format(where="key >= ? AND key < ?")
SQL_PAGE_AFTER = _SQL_PAGE.format(where="key > ?")

SQLITE_CONFIG = (
    f"sqlite3 {sqlite3.sqlite_version}: journal_mode=WAL, synchronous=FULL; one table "
    "commits(ns, key, version, payload, author, comment, mtime), PRIMARY KEY (ns, key, version), "
    "WITHOUT ROWID. A put is BEGIN IMMEDIATE, SELECT max(version), INSERT, COMMIT (one "
    "transaction, one WAL fsync); one connection per thread, busy_timeout 30 s and a retry "
    "while BEGIN reports the database busy. The newest version is ORDER BY version DESC LIMIT "
    "1 on the primary key; a list page keeps rows whose version is their key's max. Reads go "
    "through one connection's statement cache (each statement prepared once, then reused)."
)

EPILOG = """\
examples:
  PYTHONPATH=src python bench/store.py                  # 1,000,000 keys; several minutes
  PYTHONPATH=src python bench/store.py --quick          # 100,000 keys, 1 run of 1 s
  PYTHONPATH=src python bench/store.py --json | jq .goals
"""


# --------------------------------------------------------------------------- keys and payloads


def key_name(index: int) -> str:
    return f"key{index:0{KEY_DIGITS}d}"


def payload_of(index: int) -> bytes:
    """A distinct 100-byte payload object per key, so none is shared between keys."""
    return ((b"%07d" % index) * 15)[:PAYLOAD_SIZE]


def middle(keys: int) -> int:
    """A key index in the middle of the keyspace that starts a block of 100 keys."""
    return keys // 2 // PAGE * PAGE


def middle_prefix(keys: int) -> str:
    """The prefix every key of the middle block of 100 shares, and no other key."""
    return key_name(middle(keys))[:-2]


def prefix_end(prefix: str) -> str:
    """The smallest string above every string that starts with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def put_key(thread: int, call: int) -> str:
    return f"t{thread:02d}:{call % KEYS_PER_THREAD:05d}"


# --------------------------------------------------------------------------- sqlite3


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """A connection as `SQLITE_CONFIG` describes; creates the table."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(SQL_CREATE)
    return conn


def sqlite_put(conn: sqlite3.Connection, key: str, payload: bytes) -> int:
    """The next version of `key`, in one durable transaction; returns its number."""
    begin_immediate(conn)
    try:
        current = conn.execute(SQL_CURRENT, (NS, key)).fetchone()[0] or 0
        conn.execute(SQL_INSERT, (NS, key, current + 1, payload, AUTHOR, COMMENT, time.time()))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return int(current) + 1


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, retried while another writer holds the lock past the busy timeout."""
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise


def load_sqlite(path: Path, keys: int) -> sqlite3.Connection:
    """`keys` keys with one version each, in one transaction; checkpointed into the main file."""
    conn = connect_sqlite(path)
    now = time.time()
    rows = ((NS, key_name(i), 1, payload_of(i), AUTHOR, COMMENT, now) for i in range(keys))
    conn.execute("BEGIN")
    conn.executemany(SQL_INSERT, rows)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return conn


def sqlite_get_batch(conn: sqlite3.Connection, keys: Sequence[str]) -> Callable[[], None]:
    cursor = conn.cursor()

    def batch() -> None:
        for key in keys:
            cursor.execute(SQL_LATEST, (NS, key)).fetchone()

    return batch


def sqlite_page(conn: sqlite3.Connection, mode: str, keys: int) -> Callable[[], list[Any]]:
    """One list page of the middle of the keyspace, by `prefix` or `start_after`."""
    cursor = conn.cursor()
    args: tuple[Any, ...]
    if mode == "prefix":
        low = middle_prefix(keys)
        sql, args = SQL_PAGE_PREFIX, (NS, low, prefix_end(low), PAGE + 1)
    else:
        sql, args = SQL_PAGE_AFTER, (NS, key_name(middle(keys) - 1), PAGE + 1)
    return lambda: cursor.execute(sql, args).fetchall()


# --------------------------------------------------------------------------- revkv


def put_keys(store: revkv.Service, indexes: Iterable[int]) -> None:
    """Put each key's payload, with the same author and comment objects every time."""
    put = store.put
    for i in indexes:
        put(NS, key_name(i), payload_of(i), author=AUTHOR, comment=COMMENT)


def load_revkv(path: Path, keys: int) -> revkv.Service:
    """`keys` keys with one version each, journaled without fsync (it is only the fill)."""
    store = revkv.open(path, durability="never", snapshot_every=None, progress=False)
    put_keys(store, range(keys))
    return store


@contextlib.contextmanager
def journal_tail_kept() -> Iterator[None]:
    """Closing a store does not snapshot, however many commands its journal holds past one.

    The embedded backend's `close` snapshots when more than `SNAPSHOT_ON_CLOSE_AFTER` commands came
    since the last snapshot; the cold-start case needs a journal tail to replay, and a reopened
    store must not fold that tail into a snapshot when it closes.
    """
    saved = embedded.SNAPSHOT_ON_CLOSE_AFTER
    embedded.SNAPSHOT_ON_CLOSE_AFTER = sys.maxsize
    try:
        yield
    finally:
        embedded.SNAPSHOT_ON_CLOSE_AFTER = saved


def add_journal_tail(path: Path, keys: int, records: int) -> None:
    """`records` more puts (new versions of keys spread over the keyspace), not snapshotted."""
    step = max(1, keys // records)
    with journal_tail_kept():
        store = revkv.open(path, durability="never", snapshot_every=None, progress=False)
        put_keys(store, ((n * step) % keys for n in range(records)))
        store.close()


def revkv_get_batch(store: revkv.Service, keys: Sequence[str]) -> Callable[[], None]:
    get = store.get

    def batch() -> None:
        for key in keys:
            get(NS, key)

    return batch


def dict_get_batch(plain: dict[str, bytes], keys: Sequence[str]) -> Callable[[], None]:
    """Python's floor for a get: one lookup in a plain dict, nothing else."""
    get = plain.get

    def batch() -> None:
        for key in keys:
            get(key)

    return batch


def revkv_page(store: revkv.Service, mode: str, keys: int) -> Callable[[], Any]:
    """One list page of the middle of the keyspace, by `prefix` or `start_after`."""
    if mode == "prefix":
        prefix = middle_prefix(keys)
        return lambda: store.list(NS, prefix=prefix, limit=PAGE)
    after = key_name(middle(keys) - 1)
    return lambda: store.list(NS, start_after=after, limit=PAGE)


# --------------------------------------------------------------------------- fresh processes


def settled_rss() -> int:
    """This process's resident set in bytes, after a full garbage collection (Linux)."""
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child_memory(keys: int) -> dict[str, Any]:
    """RSS growth while an in-memory store takes `keys` keys (journal in memory: seqs only)."""
    store = revkv.open(durability="never")
    baseline = settled_rss()
    put_keys(store, range(keys))
    return {"keys": keys, "rss_growth": settled_rss() - baseline}


def child_open_revkv(path: Path) -> dict[str, Any]:
    """Time `revkv.open(path)`, as a user opens it; the RSS it took; close without snapshot."""
    baseline = settled_rss()
    started = time.perf_counter()
    store = revkv.open(path, progress=False)
    seconds = time.perf_counter() - started
    stats = store.backend.system.stats  # type: ignore[attr-defined]
    figures = {
        "seconds": seconds,
        "rss_growth": settled_rss() - baseline,
        **{name: stats[name] for name in ("snapshot_load_seconds", "replay_seconds")},
        "replayed_records": stats["replayed_records"],
    }
    with journal_tail_kept():
        store.close()
    return figures


def child_open_sqlite(path: Path, keys: int) -> dict[str, Any]:
    """Time connecting and reading the newest version of one key."""
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    row = conn.execute(SQL_LATEST, (NS, key_name(middle(keys)))).fetchone()
    seconds = time.perf_counter() - started
    conn.close()
    assert row is not None
    return {"seconds": seconds}


def run_child(kind: str, path: str | None, keys: int) -> int:
    """The entry point of a fresh process: one figure set as JSON on stdout."""
    if kind == "memory":
        figures = child_memory(keys)
    elif kind == "open-revkv":
        figures = child_open_revkv(Path(str(path)))
    else:
        figures = child_open_sqlite(Path(str(path)), keys)
    json.dump(figures, sys.stdout)
    return 0


def in_fresh_process(kind: str, keys: int, path: Path | None = None) -> dict[str, Any]:
    """Run `run_child` in a new interpreter (same environment) and return its figures."""
    command = [sys.executable, __file__, "--child", kind, "--keys", str(keys)]
    if path is not None:
        command += ["--child-path", str(path)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed ({done.returncode}):\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


# --------------------------------------------------------------------------- measuring


@dataclass
class Results:
    """Everything one run measured, keyed as the tables print it."""

    fsync: c.Measurement | None = None
    puts: dict[tuple[str, int], c.Measurement] = field(default_factory=dict)
    gets: dict[tuple[str, str], c.Measurement] = field(default_factory=dict)
    pages: dict[tuple[str, str], c.Measurement] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)
    disk: dict[str, float] = field(default_factory=dict)
    cold: dict[str, c.Measurement] = field(default_factory=dict)
    cold_detail: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def revkv_puts(threads: int, seconds: float, root: Path) -> float:
    """Durable puts/s from `threads` threads into a fresh store."""
    path = c.fresh_subdir(root, "revkv-puts")
    store = revkv.open(path, durability="always", progress=False)
    try:
        return c.run_threads(
            threads,
            seconds,
            lambda t, i: store.put(NS, put_key(t, i), PAYLOAD, author=AUTHOR, comment=COMMENT),
        )
    finally:
        store.close()
        shutil.rmtree(path, ignore_errors=True)


def sqlite_puts(threads: int, seconds: float, root: Path) -> float:
    """Durable puts/s from `threads` threads, one connection each, into a fresh database."""
    path = c.fresh_subdir(root, "sqlite-puts")
    conns = [connect_sqlite(path / "store.db") for _ in range(threads)]
    try:
        return c.run_threads(
            threads, seconds, lambda t, i: sqlite_put(conns[t], put_key(t, i), PAYLOAD)
        )
    finally:
        for conn in conns:
            conn.close()
        shutil.rmtree(path, ignore_errors=True)


def measure_puts(args: argparse.Namespace, root: Path) -> dict[tuple[str, int], c.Measurement]:
    cases: dict[tuple[str, int], Callable[[], float]] = {}
    for threads in args.threads:
        cases[("revkv", threads)] = _bind(revkv_puts, threads, args.seconds, root)
        cases[("sqlite3", threads)] = _bind(sqlite_puts, threads, args.seconds, root)
    return c.measure_round_robin(args.runs, cases, _report("{:,.0f} puts/s"))


def get_samples(keys: int) -> dict[str, list[str]]:
    """The keys one get batch reads: random ones, and a run of neighbours (cache-friendly)."""
    size = min(GET_SAMPLE, keys)
    first = (keys - size) // 2
    return {
        "random": [key_name(i) for i in random.Random(0).sample(range(keys), size)],
        "consecutive": [key_name(i) for i in range(first, first + size)],
    }


def measure_gets(
    args: argparse.Namespace,
    store: revkv.Service,
    conn: sqlite3.Connection,
    results: Results,
) -> None:
    """Gets/s on both loaded stores, and on a plain dict of the same keys (Python's floor)."""
    plain = {key_name(i): payload_of(i) for i in range(args.keys)}
    batches: dict[str, Callable[[Any, Sequence[str]], Callable[[], None]]] = {
        "revkv": revkv_get_batch,
        "sqlite3": sqlite_get_batch,
        "dict": dict_get_batch,
    }
    sources: dict[str, Any] = {"revkv": store, "sqlite3": conn, "dict": plain}
    cases = {
        (system, pattern): _bind(
            c.batch_rate, args.seconds, batch(sources[system], keys), len(keys)
        )
        for pattern, keys in get_samples(args.keys).items()
        for system, batch in batches.items()
    }
    results.gets = c.measure_round_robin(args.runs, cases, _report("{:,.0f} gets/s"))


def measure_pages(
    args: argparse.Namespace,
    store: revkv.Service,
    conn: sqlite3.Connection,
    results: Results,
) -> None:
    """The latency of one list page in the middle of both loaded stores."""
    cases = {
        ("revkv", mode): _bind(c.call_latency, args.seconds, revkv_page(store, mode, args.keys))
        for mode in ("prefix", "start_after")
    }
    for mode in ("prefix", "start_after"):
        page = sqlite_page(conn, mode, args.keys)
        cases[("sqlite3", mode)] = _bind(c.call_latency, args.seconds, page)
    results.pages = c.measure_round_robin(
        args.runs, cases, _report("{:,.1f} µs per list page", 1e6)
    )


def measure_cold(args: argparse.Namespace, paths: dict[str, Path], results: Results) -> None:
    """Open each store in `runs` fresh processes, interleaved; keep each child's figures."""
    details: dict[str, list[dict[str, Any]]] = {case: [] for case in paths}

    def opener(case: str) -> Callable[[], float]:
        kind = "open-sqlite" if case == "sqlite3" else "open-revkv"

        def once() -> float:
            figures = in_fresh_process(kind, args.keys, paths[case])
            details[case].append(figures)
            return float(figures["seconds"])

        return once

    cases = {case: opener(case) for case in paths}
    results.cold = c.measure_round_robin(args.runs, cases, _report("{:.3f} s to open"))
    results.cold_detail = details


def snapshot_bytes(directory: Path) -> int:
    """The size of the newest snapshot: what revkv reads at a cold start."""
    return max(directory.glob("*.snap")).stat().st_size


def sqlite_bytes(database: Path) -> int:
    """The database file and its WAL (empty after the load's checkpoint)."""
    files = (database, database.with_name(database.name + "-wal"))
    return sum(file.stat().st_size for file in files if file.exists())


def _bind(function: Callable[..., float], *arguments: Any) -> Callable[[], float]:
    return lambda: function(*arguments)


def _report(template: str, scale: float = 1.0) -> Callable[[Any, float], None]:
    """Print each sample as it comes: `sqlite3, 16: 5,332 puts/s`."""
    return lambda case, value: c.progress(f"{_case_name(case)}: {template.format(value * scale)}")


def _case_name(case: Any) -> str:
    return ", ".join(map(str, case)) if isinstance(case, tuple) else str(case)


@contextlib.contextmanager
def step(message: str) -> Iterator[None]:
    """A progress line before and after a slow step, with its duration."""
    c.progress(f"{message} …")
    started = time.perf_counter()
    yield
    c.progress(f"{message}: {time.perf_counter() - started:.1f} s")


# --------------------------------------------------------------------------- the run


def run(args: argparse.Namespace, root: Path) -> Results:
    """Every case, in the order the report prints them."""
    fsync = c.measure_round_robin(
        args.runs,
        {"fdatasync": lambda: c.fsync_rate(root, args.seconds)},
        _report("{:,.0f} fdatasync/s"),
    )
    results = Results(fsync=fsync["fdatasync"], puts=measure_puts(args, root))
    paths = {"revkv": root / "revkv-big", "sqlite3": root / "sqlite-big" / "store.db"}
    paths["sqlite3"].parent.mkdir()
    read_and_close(args, paths, results)
    results.disk = {
        "revkv": snapshot_bytes(paths["revkv"]) / args.keys,
        "sqlite3": sqlite_bytes(paths["sqlite3"]) / args.keys,
    }
    paths["revkv+tail"] = root / "revkv-big-tail"
    with step(f"revkv: copying the store, then {args.tail:,} more puts, not snapshotted"):
        shutil.copytree(paths["revkv"], paths["revkv+tail"])
        add_journal_tail(paths["revkv+tail"], args.keys, args.tail)
    measure_cold(args, {k: paths[k] for k in ("revkv", "revkv+tail", "sqlite3")}, results)
    with step(f"memory: {args.keys:,} keys into a store in a fresh process"):
        figures = in_fresh_process("memory", args.keys)
    results.memory["load"] = figures["rss_growth"] / args.keys
    results.memory["reopen"] = (
        statistics.median(d["rss_growth"] for d in results.cold_detail["revkv"]) / args.keys
    )
    return results


def read_and_close(args: argparse.Namespace, paths: dict[str, Path], results: Results) -> None:
    """Load both big stores, measure reads on them, then snapshot and close revkv's."""
    with step(f"revkv: loading {args.keys:,} keys"):
        store = load_revkv(paths["revkv"], args.keys)
    with step(f"sqlite3: loading {args.keys:,} keys"):
        conn = load_sqlite(paths["sqlite3"], args.keys)
    measure_gets(args, store, conn, results)
    measure_pages(args, store, conn, results)
    conn.close()
    with step("revkv: snapshot and close"):
        store.snapshot()
        store.close()


# --------------------------------------------------------------------------- figures


def median(table: dict[Any, c.Measurement], key: Any) -> float | None:
    measurement = table.get(key)
    return None if measurement is None else measurement.median


def overhead(bytes_per_key: float | None) -> float | None:
    """Bytes per key beyond its payload."""
    return None if bytes_per_key is None else bytes_per_key - PAYLOAD_SIZE


def cold_part(results: Results, case: str, name: str) -> float | None:
    """The median of one figure the opening child reported (`replay_seconds`, …)."""
    values = [d[name] for d in results.cold_detail.get(case, []) if name in d]
    return statistics.median(values) if values else None


def build_goals(args: argparse.Namespace, results: Results) -> list[c.Goal]:
    """The issue's targets for the store."""
    many = GOAL_PUT_THREADS
    versus = c.ratio(median(results.puts, ("revkv", many)), median(results.puts, ("sqlite3", many)))
    gets = median(results.gets, ("revkv", "random"))
    cold = median(results.cold, "revkv")
    goals = [
        c.Goal(f"durable puts, {many} threads ≥ 3x sqlite3", versus, 3.0, c.fmt_ratio(versus)),
        c.Goal("gets, random keys ≥ 1,000,000/s", gets, 1e6, f"{c.fmt_rate(gets)}/s"),
    ]
    for when, label in (("load", "loaded"), ("reopen", "reopened")):
        extra = overhead(results.memory.get(when))
        name = f"memory, {label}: ≤ 400 bytes/key beyond payload"
        goals.append(c.Goal(name, extra, 400, _bytes(extra), at_most=True))
    goals.append(
        c.Goal(f"cold start of {args.keys:,} keys < 5 s", cold, 5.0, f"{_s(cold)} s", at_most=True)
    )
    return goals


# --------------------------------------------------------------------------- report


def print_puts(args: argparse.Namespace, results: Results) -> None:
    rows = []
    for threads in args.threads:
        rates = [median(results.puts, (system, threads)) for system in ("revkv", "sqlite3")]
        rows.append([str(threads), *map(c.fmt_rate, rates), c.fmt_ratio(c.ratio(*rates))])
    fsync = results.fsync.median if results.fsync else None
    title = f"Durable puts/s (median of {args.runs} x {args.seconds:g} s)"
    note = (
        f"One thread appending 64 bytes + os.fdatasync: {c.fmt_rate(fsync)}/s on this disk.\n"
        f"revkv: durability='always' (group commit). {SQLITE_CONFIG}"
    )
    c.print_table(title, ["threads", "revkv", "sqlite3", "revkv/sqlite3"], rows, note=note)


def print_reads(args: argparse.Namespace, results: Results) -> None:
    rows = []
    for pattern in ("random", "consecutive"):
        gets = [median(results.gets, (system, pattern)) for system in ("revkv", "sqlite3")]
        label = f"get, {pattern} keys, ops/s"
        rows.append([label, *map(c.fmt_rate, gets), c.fmt_ratio(c.ratio(*gets))])
    for mode in ("prefix", "start_after"):
        times = [median(results.pages, (system, mode)) for system in ("revkv", "sqlite3")]
        label = f"list {PAGE} by {mode}, µs/call"
        rows.append([label, *map(_us, times), c.fmt_ratio(c.ratio(*times))])
    title = (
        f"Reads of the {args.keys:,}-key store, in-process, one thread "
        f"(median of {args.runs} x {args.seconds:g} s)"
    )
    floor = [c.fmt_rate(median(results.gets, ("dict", p))) for p in ("random", "consecutive")]
    note = (
        f"get: the newest version of {GET_SAMPLE:,} keys per batch, picked at random or "
        f"neighbours in key order; Python's floor, dict.get of the same keys in a plain dict: "
        f"{floor[0]}/s random, {floor[1]}/s consecutive. list: one page in the middle of the "
        f"keyspace ({PAGE + 1} rows fetched, with payloads); the median of every call's time."
    )
    c.print_table(title, ["read", "revkv", "sqlite3", "revkv/sqlite3"], rows, note=note)


def print_memory(args: argparse.Namespace, results: Results) -> None:
    load, reopen = results.memory.get("load"), results.memory.get("reopen")
    disk = [results.disk.get(system) for system in ("revkv", "sqlite3")]
    rows = [
        ["RSS, loading", _bytes(load), _bytes(overhead(load)), "-", "-"],
        ["RSS, reopened", _bytes(reopen), _bytes(overhead(reopen)), "-", "-"],
        ["snapshot / db file", *map(_bytes, (disk[0], overhead(disk[0]), disk[1])),
         c.fmt_ratio(c.ratio(*disk))],
    ]  # fmt: skip
    headers = ["bytes per key", "revkv", "beyond payload", "sqlite3", "revkv/sqlite3"]
    note = (
        f"{PAYLOAD_SIZE}-byte payloads, one version each; each RSS figure from a fresh process. "
        "Loading: puts into an in-memory store, every put passing the same author and comment "
        "objects; reopened: revkv.open of the snapshot, where each commit decodes its own. "
        "revkv holds every version in memory, sqlite3 on disk (its RSS does not grow with keys)."
    )
    c.print_table(f"Memory and disk per key ({args.keys:,} keys)", headers, rows, note=note)


def print_cold(args: argparse.Namespace, results: Results) -> None:
    headers = ["store", "open s", "load s", "replay s", "records/s", "revkv/sqlite3"]
    sqlite = median(results.cold, "sqlite3")
    rows = [_cold_row(results, case, sqlite) for case in ("revkv", "revkv+tail")]
    rows.append(["sqlite3", _s(sqlite), "-", "-", "-", "-"])
    replayed = cold_part(results, "revkv+tail", "replayed_records")
    title = f"Cold start of the {args.keys:,}-key store (median of {args.runs}, fresh processes)"
    note = (
        "open s: revkv.open(path) = snapshot load + journal replay (load s, replay s); sqlite3: "
        f"connect + one get. revkv+tail: {args.tail:,} puts journaled after the snapshot "
        f"({_count(replayed)} replayed). Files in the page cache; the interpreter not timed."
    )
    c.print_table(title, headers, rows, note=note)


def _cold_row(results: Results, case: str, sqlite: float | None) -> list[str]:
    seconds = median(results.cold, case)
    replay = cold_part(results, case, "replay_seconds")
    replayed = cold_part(results, case, "replayed_records")
    return [
        case,
        _s(seconds),
        _s(cold_part(results, case, "snapshot_load_seconds")),
        _s(replay),
        c.fmt_rate(replayed / replay if replayed and replay else None),
        c.fmt_ratio(c.ratio(seconds, sqlite)),
    ]


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _bytes(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _us(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e6:,.1f}"


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.3f}"


def print_report(args: argparse.Namespace, results: Results, goals: list[c.Goal]) -> None:
    print_puts(args, results)
    print_reads(args, results)
    print_memory(args, results)
    print_cold(args, results)
    c.console.print(
        "\nRatios are revkv ÷ sqlite3 of the figure shown: above 1 favours revkv for rates, "
        "below 1 for times and sizes.",
        style="dim",
        highlight=False,
    )
    c.print_goals(goals)


def to_json(args: argparse.Namespace, results: Results, goals: list[c.Goal]) -> dict[str, Any]:
    """The figures for scripts: every sample, the medians, the ratios and the goals."""
    return {
        "config": {
            name: getattr(args, name) for name in ("keys", "tail", "seconds", "runs", "threads")
        },
        "sqlite3": SQLITE_CONFIG,
        "fdatasync_per_s": results.fsync.to_json() if results.fsync else None,
        "puts_per_s": _keyed(results.puts),
        "gets_per_s": _keyed(results.gets),
        "list_page_seconds": _keyed(results.pages),
        "memory_bytes_per_key": results.memory,
        "disk_bytes_per_key": results.disk,
        "open_seconds": _keyed(results.cold),
        "open_details": results.cold_detail,
        "ratios_revkv_over_sqlite3": _ratios(args, results),
        "goals": [goal.to_json() for goal in goals],
    }


def _keyed(table: dict[Any, c.Measurement]) -> dict[str, Any]:
    return {_case_name(key): measurement.to_json() for key, measurement in table.items()}


def _ratios(args: argparse.Namespace, results: Results) -> dict[str, float | None]:
    def versus(table: dict[Any, c.Measurement], revkv_key: Any, sqlite_key: Any) -> float | None:
        return c.ratio(median(table, revkv_key), median(table, sqlite_key))

    ratios = {
        f"puts, threads={n}": versus(results.puts, ("revkv", n), ("sqlite3", n))
        for n in args.threads
    }
    for pattern in ("random", "consecutive"):
        ratios[f"gets, {pattern}"] = versus(results.gets, ("revkv", pattern), ("sqlite3", pattern))
    for mode in ("prefix", "start_after"):
        ratios[f"list by {mode}"] = versus(results.pages, ("revkv", mode), ("sqlite3", mode))
    ratios["disk"] = c.ratio(results.disk.get("revkv"), results.disk.get("sqlite3"))
    ratios["open"] = versus(results.cold, "revkv", "sqlite3")
    return ratios


# --------------------------------------------------------------------------- main


def parse_count(text: str) -> int:
    """`1_000_000` or `1000000` (an argparse `type=`)."""
    return c.parse_ints(text)[0]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    parser = c.base_parser(
        __doc__ or "", EPILOG, seconds=1.0 if quick else 3.0, runs=1 if quick else 3
    )
    parser.set_defaults(threads=[1, GOAL_PUT_THREADS])
    keys = 100_000 if quick else 1_000_000
    parser.add_argument(
        "--keys", type=parse_count, default=keys, help="keys in the big store (default 1,000,000)"
    )
    parser.add_argument(
        "--tail",
        type=parse_count,
        default=keys // 10,
        help="journal records on top of the snapshot in the second cold start (default 100,000)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="100,000 keys, one run of 1 s (flags given win)"
    )
    parser.add_argument(
        "--child", choices=("memory", "open-revkv", "open-sqlite"), help=argparse.SUPPRESS
    )
    parser.add_argument("--child-path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1_000 <= args.keys < 10**KEY_DIGITS:
        parser.error(f"--keys must be between 1,000 and {10**KEY_DIGITS - 1:,}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_child(args.child, args.child_path, args.keys)
    with c.bench_dir(args.dir) as root:
        results = run(args, root)
    goals = build_goals(args, results)
    if args.json:
        c.emit_json(to_json(args, results, goals))
    else:
        print_report(args, results, goals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
