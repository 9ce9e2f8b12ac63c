"""revkv's object-prevalence engine against coopy, side by side in one run.

Both systems journal every call of a tiny domain object (`Counter.set(key, 50-byte value)`)
through their proxy and return only once the record is on disk. The script measures, on the disk
that holds `--dir`:

1. the raw fsync rate — one thread appending small records with `os.fdatasync`, then with
   `os.fsync`: the physical limit of a single durable writer;
2. durable writes/s from 1, 4 and 16 threads: coopy with `durability="sync"` (its only mode that
   fsyncs; once without and once with its `group_commit_delay`), and revkv with
   `durability="always"`;
3. the restart: a journal of `--records` calls is written, the system closed and reopened, and
   the reopening timed (records replayed per second);
4. the ratios revkv ÷ coopy, and the goals of the issue, each marked pass or fail.

Figures are medians of `--runs` runs, the cases interleaved run by run; quote medians and ratios,
never one absolute time.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import _common as c

VALUE = "v" * 50
KEYS_PER_THREAD = 10_000
REPLAY_KEYS = 10_000
REPLAY_ENGINES = ("coopy", "revkv")

COOPY_FSYNC_NOTE = (
    'coopy fsyncs every call only with durability="sync": each record is pickled, then '
    "RotateFileWrapper.flush() calls os.fsync before the call returns, all under the proxy's "
    'one RLock. Its default, "buffered", only flushes to the page cache (not durable). '
    "group_commit_delay > 0 (sync only; default 0) makes the first waiting writer sleep that "
    "long with the lock released, then one fsync acknowledges every record written meanwhile. "
    "revkv is compared with the better of the two coopy sync runs at each thread count."
)

EPILOG = """\
examples:
  PYTHONPATH=src python bench/prevalence.py
  python bench/prevalence.py --only-peers --seconds 2        # disk and coopy alone
  PYTHONPATH=src python bench/prevalence.py --json | jq .goals
"""


class Counter:
    """The domain object both systems make durable: one dict, one command."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def set(self, key: str, value: str) -> None:
        self.data[key] = value


@dataclass(frozen=True)
class Engine:
    """How the benchmark opens, closes and reopens one prevalence system."""

    key: str
    label: str
    open: Callable[[Path], Any]
    fill_open: Callable[[Path], Any]
    reopen: Callable[[Path], Any]
    close: Callable[[Any], None]
    replayed: Callable[[Any], int]


def coopy_engines(delay: float) -> list[Engine]:
    """coopy in `sync` durability, without and (if `delay` > 0) with group commit."""
    try:
        import coopy
    except ImportError as error:
        sys.exit(f"coopy could not be imported ({error}); install the dev extra: pip install coopy")

    def opener(
        durability: Literal["buffered", "sync"], group_commit_delay: float = 0.0
    ) -> Callable[[Path], Any]:
        return lambda path: coopy.open(
            Counter(), path, durability=durability, group_commit_delay=group_commit_delay
        )

    def make(key: str, label: str, group_commit_delay: float) -> Engine:
        return Engine(
            key=key,
            label=label,
            open=opener("sync", group_commit_delay),
            fill_open=opener("buffered"),  # same journal format, written fast
            reopen=opener("sync"),
            close=lambda proxy: coopy.control(proxy).close(),
            replayed=lambda proxy: coopy.control(proxy).recovery_report.replayed,
        )

    engines = [make("coopy", "coopy sync", 0.0)]
    if delay > 0:
        label = f"coopy group {delay * 1000:g}ms"
        engines.append(make("coopy-group", label, delay))
    return engines


def revkv_engine() -> Engine:
    """revkv's prevalence engine, fsyncing (by group commit) before every call returns."""
    try:
        from revkv.prevalence import control, open_system
    except ImportError as error:
        sys.exit(
            f"revkv.prevalence could not be imported ({error}).\n"
            "Run from the checkout with PYTHONPATH=src (or install it: pip install -e .), "
            "or pass --only-peers to measure the disk and coopy alone."
        )

    def durable(path: Path) -> Any:
        return open_system(Counter(), str(path), codec="pickle", durability="always")

    return Engine(
        key="revkv",
        label="revkv always",
        open=durable,
        fill_open=durable,
        reopen=lambda path: open_system(Counter(), str(path), codec="pickle"),
        close=lambda proxy: control(proxy).close(),
        replayed=lambda proxy: int(control(proxy).stats["replayed_records"]),
    )


# --------------------------------------------------------------------------- measuring


@dataclass
class Results:
    """Everything one run measured, keyed as the tables print it."""

    disk: dict[str, c.Measurement] = field(default_factory=dict)
    writes: dict[tuple[str, int], c.Measurement] = field(default_factory=dict)
    replay: dict[tuple[str, int], c.Measurement] = field(default_factory=dict)
    replayed: dict[tuple[str, int], int] = field(default_factory=dict)


def measure_disk(args: argparse.Namespace, root: Path) -> dict[str, c.Measurement]:
    """Syncs/s of one writer, with `os.fdatasync` and with `os.fsync`."""
    probes: dict[str, Callable[[], float]] = {
        "fdatasync": lambda: c.fsync_rate(root, args.seconds, os.fdatasync),
        "fsync": lambda: c.fsync_rate(root, args.seconds, os.fsync),
    }
    return c.measure_round_robin(args.runs, probes, _report_sample("syncs/s"))


def writes_per_second(engine: Engine, threads: int, seconds: float, root: Path) -> float:
    """One timed run on a fresh directory: durable `set` calls per second from `threads`."""
    path = c.fresh_subdir(root, engine.key)
    proxy = engine.open(path)
    try:
        return c.run_threads(
            threads, seconds, lambda t, i: proxy.set(f"t{t}:{i % KEYS_PER_THREAD}", VALUE)
        )
    finally:
        engine.close(proxy)
        shutil.rmtree(path, ignore_errors=True)


def measure_writes(
    args: argparse.Namespace, engines: Sequence[Engine], root: Path
) -> dict[tuple[str, int], c.Measurement]:
    """Durable writes/s of every engine at every thread count."""
    cases: dict[tuple[str, int], Callable[[], float]] = {
        (engine.key, threads): _bind(writes_per_second, engine, threads, args.seconds, root)
        for threads in args.threads
        for engine in engines
    }
    return c.measure_round_robin(args.runs, cases, _report_sample("writes/s", "threads"))


def fill_journal(engine: Engine, path: Path, records: int, threads: int) -> None:
    """Write exactly `records` calls into a new system at `path`, then close it."""
    proxy = engine.fill_open(path)
    numbers = itertools.count()

    def writer() -> None:
        while (number := next(numbers)) < records:
            proxy.set(f"k{number % REPLAY_KEYS}", VALUE)

    pool = [threading.Thread(target=writer) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    engine.close(proxy)


def replay_rate(engine: Engine, source: Path, root: Path, counts: dict[str, int]) -> float:
    """Time reopening a copy of `source`; records replayed per second (count into `counts`)."""
    path = c.fresh_subdir(root, f"{engine.key}-replay")
    shutil.copytree(source, path, dirs_exist_ok=True)
    started = time.perf_counter()
    proxy = engine.reopen(path)
    elapsed = time.perf_counter() - started
    counts[engine.key] = engine.replayed(proxy)
    engine.close(proxy)
    shutil.rmtree(path, ignore_errors=True)
    return counts[engine.key] / elapsed


def measure_replay(
    args: argparse.Namespace, engines: Sequence[Engine], root: Path, results: Results
) -> None:
    """Per engine and journal length: fill once, then time `--runs` reopenings of copies."""
    for records in args.records:
        counts: dict[str, int] = {}
        cases: dict[tuple[str, int], Callable[[], float]] = {}
        for engine in engines:
            source = c.fresh_subdir(root, f"{engine.key}-journal")
            started = time.perf_counter()
            fill_journal(engine, source, records, max(args.threads))
            c.progress(f"{engine.label}: wrote {records:,} records in {_since(started):.1f} s")
            cases[(engine.key, records)] = _bind(replay_rate, engine, source, root, counts)
        results.replay.update(
            c.measure_round_robin(args.runs, cases, _report_sample("records/s", "records"))
        )
        results.replayed.update({(key, records): count for key, count in counts.items()})


def _bind(function: Callable[..., float], *arguments: Any) -> Callable[[], float]:
    return lambda: function(*arguments)


def _since(started: float) -> float:
    return time.perf_counter() - started


def _report_sample(unit: str, count: str = "") -> Callable[[Any, float], None]:
    """Print each sample as it comes: `coopy, 4 threads: 5,332 writes/s`."""

    def report(case: Any, value: float) -> None:
        name = f"{case[0]}, {count}={case[1]:,}" if isinstance(case, tuple) else str(case)
        c.progress(f"{name}: {value:,.0f} {unit}")

    return report


def run(args: argparse.Namespace, engines: Sequence[Engine], root: Path) -> Results:
    """All three cases, in the order the report prints them."""
    results = Results(disk=measure_disk(args, root))
    results.writes = measure_writes(args, engines, root)
    replay_engines = [engine for engine in engines if engine.key in REPLAY_ENGINES]
    measure_replay(args, replay_engines, root, results)
    return results


# --------------------------------------------------------------------------- figures


def median(table: dict[tuple[str, int], c.Measurement], key: tuple[str, int]) -> float | None:
    measurement = table.get(key)
    return None if measurement is None else measurement.median


def fsync_limit(results: Results) -> float:
    """The faster of the two sync calls: the bound a one-thread writer is held to."""
    return max(measurement.median for measurement in results.disk.values())


def coopy_best(results: Results, threads: int) -> float | None:
    """coopy's best durable writes/s at `threads`, with or without group commit."""
    rates = [m.median for (key, n), m in results.writes.items() if n == threads and "coopy" in key]
    return max(rates, default=None)


def replay_seconds(results: Results, key: tuple[str, int]) -> float | None:
    rate = median(results.replay, key)
    return None if not rate else results.replayed[key] / rate


def build_goals(args: argparse.Namespace, results: Results) -> list[c.Goal]:
    """The issue's targets: one thread near the disk, many threads well past coopy, fast replay."""
    one, many = min(args.threads), max(args.threads)
    single = median(results.writes, ("revkv", one))
    share = c.ratio(single, fsync_limit(results))
    versus = c.ratio(median(results.writes, ("revkv", many)), coopy_best(results, many))
    goals = [
        c.Goal(f"revkv, {one} thread ≥ 90% of the fsync rate", share, 0.9, _percent(share)),
        c.Goal(
            f"revkv, {many} threads ≥ 3x coopy's best durable", versus, 3.0, c.fmt_ratio(versus)
        ),
    ]
    for records in args.records:
        rate = median(results.replay, ("revkv", records))
        name = f"revkv replay of {records:,} records ≥ 500,000/s"
        goals.append(c.Goal(name, rate, 500_000, f"{c.fmt_rate(rate)} records/s"))
    return goals


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


# --------------------------------------------------------------------------- report


def print_disk(results: Results) -> None:
    rows = [
        [f"64-byte os.write + os.{name}", c.fmt_rate(m.median)] for name, m in results.disk.items()
    ]
    c.print_table("Disk: the physical limit of one durable writer", ["probe", "syncs/s"], rows)


def print_writes(args: argparse.Namespace, engines: Sequence[Engine], results: Results) -> None:
    has_revkv = any(engine.key == "revkv" for engine in engines)
    ratios = ["revkv/coopy sync", "revkv/coopy best"] if has_revkv else []
    headers = ["threads", *(engine.label for engine in engines), *ratios]
    rows = []
    for threads in args.threads:
        rates = [median(results.writes, (engine.key, threads)) for engine in engines]
        row = [str(threads), *(c.fmt_rate(rate) for rate in rates)]
        if has_revkv:
            revkv = median(results.writes, ("revkv", threads))
            row.append(c.fmt_ratio(c.ratio(revkv, median(results.writes, ("coopy", threads)))))
            row.append(c.fmt_ratio(c.ratio(revkv, coopy_best(results, threads))))
        rows.append(row)
    title = f"Durable writes/s (median of {args.runs} x {args.seconds:g} s)"
    c.print_table(title, headers, rows, note=COOPY_FSYNC_NOTE)


def print_replay(args: argparse.Namespace, engines: Sequence[Engine], results: Results) -> None:
    keys = [engine.key for engine in engines if engine.key in REPLAY_ENGINES]
    headers = ["records", *(f"{k} {unit}" for k in keys for unit in ("ms", "rec/s"))]
    headers += ["revkv/coopy"] if "revkv" in keys else []
    rows = []
    for records in args.records:
        row = [f"{records:,}"]
        for key in keys:
            seconds = replay_seconds(results, (key, records))
            row += [_ms(seconds), c.fmt_rate(median(results.replay, (key, records)))]
        if "revkv" in keys:
            rates = [median(results.replay, (key, records)) for key in ("revkv", "coopy")]
            row.append(c.fmt_ratio(c.ratio(*rates)))
        rows.append(row)
    title = f"Restart: reopen and replay the journal (median of {args.runs}, warm page cache)"
    c.print_table(title, headers, rows, note=_replay_warning(args, keys, results))


def _replay_warning(args: argparse.Namespace, keys: Sequence[str], results: Results) -> str | None:
    short = [
        f"{key} replayed {results.replayed[(key, n)]:,} of {n:,}"
        for key in keys
        for n in args.records
        if results.replayed.get((key, n)) != n
    ]
    return ("warning: " + "; ".join(short)) if short else None


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f}"


def print_report(
    args: argparse.Namespace, engines: Sequence[Engine], results: Results, goals: list[c.Goal]
) -> None:
    print_disk(results)
    print_writes(args, engines, results)
    print_replay(args, engines, results)
    if goals:
        single = median(results.writes, ("revkv", min(args.threads)))
        limit = fsync_limit(results)
        c.console.print(
            f"\nrevkv, {min(args.threads)} thread: {c.fmt_rate(single)} writes/s = "
            f"{_percent(c.ratio(single, limit))} of the fsync rate ({c.fmt_rate(limit)}/s)",
            highlight=False,
        )
        c.print_goals(goals)


def to_json(
    args: argparse.Namespace, engines: Sequence[Engine], results: Results, goals: list[c.Goal]
) -> dict[str, Any]:
    """The figures for scripts: every sample, the medians, the ratios and the goals."""
    return {
        "config": {
            "seconds": args.seconds,
            "runs": args.runs,
            "threads": args.threads,
            "records": args.records,
            "coopy_group_commit_delay": args.coopy_delay,
        },
        "coopy_fsync_mode": COOPY_FSYNC_NOTE,
        "disk_syncs_per_s": {name: m.to_json() for name, m in results.disk.items()},
        "writes_per_s": {e.key: _by_count(results.writes, e.key) for e in engines},
        "replay_records_per_s": {key: _by_count(results.replay, key) for key in REPLAY_ENGINES},
        "replayed_records": {f"{k}/{n}": count for (k, n), count in results.replayed.items()},
        "ratios": _ratios(args, results),
        "goals": [goal.to_json() for goal in goals],
    }


def _by_count(table: dict[tuple[str, int], c.Measurement], key: str) -> dict[str, Any]:
    return {str(n): m.to_json() for (k, n), m in table.items() if k == key}


def _ratios(args: argparse.Namespace, results: Results) -> dict[str, Any]:
    def revkv_over(table: dict[tuple[str, int], c.Measurement], n: int) -> float | None:
        return c.ratio(median(table, ("revkv", n)), median(table, ("coopy", n)))

    single = median(results.writes, ("revkv", min(args.threads)))
    return {
        "revkv_over_coopy_sync": {str(n): revkv_over(results.writes, n) for n in args.threads},
        "revkv_over_coopy_best": {
            str(n): c.ratio(median(results.writes, ("revkv", n)), coopy_best(results, n))
            for n in args.threads
        },
        "revkv_1_thread_over_fsync": c.ratio(single, fsync_limit(results)),
        "replay_revkv_over_coopy": {str(n): revkv_over(results.replay, n) for n in args.records},
    }


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = c.base_parser(__doc__ or "", EPILOG)
    parser.add_argument(
        "--records",
        type=c.parse_ints,
        default=[20_000, 200_000],
        help="journal lengths for the restart case (default 20000,200000)",
    )
    parser.add_argument(
        "--coopy-delay",
        type=float,
        default=0.0005,
        help="coopy's group_commit_delay in seconds for its second sync run; 0 skips it",
    )
    parser.add_argument(
        "--only-peers", action="store_true", help="measure the disk and coopy only, not revkv"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    engines = coopy_engines(args.coopy_delay)
    if not args.only_peers:
        engines.append(revkv_engine())
    with c.bench_dir(args.dir) as root:
        results = run(args, engines, root)
    goals = [] if args.only_peers else build_goals(args, results)
    if args.json:
        c.emit_json(to_json(args, engines, results, goals))
    else:
        print_report(args, engines, results, goals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
