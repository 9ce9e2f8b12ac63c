"""Shared helpers for revkv's benchmarks (`prevalence.py`, `store.py`, `http.py`).

A benchmark is a script, not a test: it runs revkv and its peer in one process, on one machine, in
one run, and prints medians and ratios. Absolute figures from a shared machine are noise; the
ratio between two systems measured minutes apart on the same disk is the figure to quote.

What lives here:

- `base_parser` — the flags every benchmark takes: `--seconds`, `--runs`, `--threads`, `--dir`,
  `--json` (each benchmark may set the defaults of the first two and leave out `--threads`).
- `bench_dir` — a scratch directory (under `--dir`, else `/tmp`), removed afterwards.
- `run_threads` — N threads calling one operation for a fixed time; returns operations/s.
- `batch_rate`, `call_latency` — one thread: operations/s of a batch called for a fixed time
  (for sub-microsecond operations), and the median time of one call.
- `measure_round_robin` — several cases measured in turn, run after run, so a noisy minute
  hurts every case alike; keeps every sample and the median.
- `fsync_rate` — small `os.write` + `os.fdatasync` (or `os.fsync`) in a loop: the physical limit
  of one durable writer on this disk.
- `print_table`, `print_goals`, `emit_json`, `progress` — output. Progress goes to stderr, so
  `--json` leaves stdout to the JSON alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

# The scripts here import this module from their own folder, which Python puts first on
# sys.path; that folder also holds `http.py`, which would hide the standard library's
# `http` from everything imported later (revkv, through httpx). Nothing else is needed
# from it once this module is loaded, so it leaves the path.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _BENCH]

K = TypeVar("K", bound=Hashable)

console = Console()
_stderr = Console(stderr=True)


# --------------------------------------------------------------------------- flags


def parse_ints(text: str) -> list[int]:
    """Parse `1,4,16` into `[1, 4, 16]` (an argparse `type=`)."""
    try:
        values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected integers such as 1,4,16: {text!r}") from error
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers such as 1,4,16: {text!r}")
    return values


def base_parser(
    description: str,
    epilog: str | None = None,
    *,
    seconds: float = 3.0,
    runs: int = 3,
    threads: bool = True,
) -> argparse.ArgumentParser:
    """An argument parser holding the flags every revkv benchmark takes.

    `seconds` and `runs` set those flags' defaults; a benchmark that runs no writer threads of
    its own (`http.py` drives wrk) passes `threads=False` to leave `--threads` out.
    """
    parser = argparse.ArgumentParser(
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=seconds,
        help=f"length of each timed run (default {seconds:g})",
    )
    parser.add_argument(
        "--runs", type=int, default=runs, help=f"runs per case, the median quoted (default {runs})"
    )
    if threads:
        parser.add_argument(
            "--threads",
            type=parse_ints,
            default=[1, 4, 16],
            help="writer thread counts (default 1,4,16)",
        )
    parser.add_argument(
        "--dir",
        default=None,
        help="parent of the scratch directory (default /tmp); pick it to choose the disk",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    return parser


# --------------------------------------------------------------------------- scratch space


@contextlib.contextmanager
def bench_dir(parent: str | None = None) -> Iterator[Path]:
    """A fresh directory under `parent` (default `/tmp`), removed with its content afterwards."""
    root = Path(parent or "/tmp")
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="revkv-bench-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def fresh_subdir(root: Path, name: str) -> Path:
    """A new, empty directory `root/name-N` that no earlier run used."""
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True, slots=True)
class Measurement:
    """Every sample of one case, and their median (the figure to quote)."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def to_json(self) -> dict[str, Any]:
        return {"median": self.median, "samples": list(self.samples)}


def measure_round_robin(
    runs: int, cases: Mapping[K, Callable[[], float]], on_sample: Callable[[K, float], None]
) -> dict[K, Measurement]:
    """Measure each case once per run, in turn, `runs` times; keep every sample.

    Interleaving (a, b, c, a, b, c, …) rather than (a, a, a, b, b, b, …) spreads the machine's
    slow minutes over all cases, so their ratios stay honest even when absolutes wander.
    """
    samples: dict[K, list[float]] = {key: [] for key in cases}
    for _ in range(runs):
        for key, measure in cases.items():
            value = measure()
            samples[key].append(value)
            on_sample(key, value)
    return {key: Measurement(tuple(values)) for key, values in samples.items()}


def run_threads(threads: int, seconds: float, operation: Callable[[int, int], object]) -> float:
    """Run `operation(thread_index, call_index)` in `threads` threads for `seconds`; ops/s.

    All threads start together at a barrier; each stops calling once its time is up, and the
    rate is the calls completed divided by the time until the last thread finished. The first
    exception raised by any thread is re-raised here.
    """
    counts = [0] * threads
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def worker(index: int) -> None:
        barrier.wait()
        deadline = time.perf_counter() + seconds
        done = 0
        try:
            while time.perf_counter() < deadline:
                operation(index, done)
                done += 1
        except BaseException as error:
            errors.append(error)
        counts[index] = done

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return sum(counts) / elapsed


def batch_rate(seconds: float, batch: Callable[[], object], size: int) -> float:
    """Operations/s of `batch()`, which does `size` operations, called for `seconds`.

    Timing batches rather than single calls keeps the clock out of a sub-microsecond loop.
    """
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        batch()
        done += size
    return done / (time.perf_counter() - started)


def call_latency(seconds: float, call: Callable[[], object]) -> float:
    """The median time of one `call()`, in seconds, over the calls made for `seconds`."""
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while (started := time.perf_counter()) < deadline:
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fsync_rate(
    directory: Path,
    seconds: float,
    sync: Callable[[int], None] = os.fdatasync,
    record_size: int = 64,
) -> float:
    """Appends of `record_size` bytes, each followed by `sync(fd)`, per second.

    One writer, one file, nothing batched: the most durable writes/s one thread can get from
    this disk, and the yardstick for any single-threaded durable write path.
    """
    path = directory / f"fsync-probe-{sync.__name__}"
    record = b"r" * record_size
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        done = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            os.write(fd, record)
            sync(fd)
            done += 1
        return done / (time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """`numerator / denominator`, or None when either side is missing or zero."""
    if not numerator or not denominator:
        return None
    return numerator / denominator


# --------------------------------------------------------------------------- output


def fmt_rate(value: float | None) -> str:
    """`12345.6` → `12,346`; None → `-`."""
    return "-" if value is None else f"{value:,.0f}"


def fmt_ratio(value: float | None) -> str:
    """`2.345` → `2.35x`; None → `-`."""
    return "-" if value is None else f"{value:.2f}x"


def progress(message: str) -> None:
    """One dim line on stderr, so stdout stays clean for `--json`."""
    _stderr.print(f"[dim]{message}[/dim]", highlight=False)


def print_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    note: str | None = None,
) -> None:
    """A heading, a rich table (figures right-aligned), and an optional note below it."""
    console.print()
    console.print(f"[bold]{title}[/bold]", highlight=False)
    table = Table()
    for index, header in enumerate(headers):
        table.add_column(header, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if note:
        console.print(note, style="dim", highlight=False)


@dataclass(frozen=True, slots=True)
class Goal:
    """A target from an issue: `measured` must reach `target` (both in the same unit).

    With `at_most=True` the target is a ceiling instead (bytes per key, seconds to open):
    `measured` must not exceed it.
    """

    name: str
    measured: float | None
    target: float
    shown: str
    at_most: bool = False

    @property
    def passed(self) -> bool:
        if self.measured is None:
            return False
        return self.measured <= self.target if self.at_most else self.measured >= self.target

    def to_json(self) -> dict[str, Any]:
        return {
            "goal": self.name,
            "measured": self.measured,
            "target": self.target,
            "at_most": self.at_most,
            "passed": self.passed,
        }


def print_goals(goals: Sequence[Goal]) -> None:
    """The goals with a pass/fail mark each; a missing figure fails."""
    rows = [
        [goal.name, goal.shown, "[green]✔ pass[/green]" if goal.passed else "[red]✘ fail[/red]"]
        for goal in goals
    ]
    print_table("Goals", ["goal", "measured", ""], rows)


def emit_json(figures: Mapping[str, Any]) -> None:
    """Print `figures` as indented JSON on stdout (for scripts: `--json | jq …`)."""
    json.dump(_rounded(figures), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _rounded(value: Any) -> Any:
    """Floats to four significant digits, everywhere inside `value`."""
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, Mapping):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value
