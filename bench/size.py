"""What a key and a version cost revkv's embedded store, in memory and on disk, beside sqlite3.

For each shape (keys x versions per key x payload bytes) the script fills a fresh store in a
directory (`durability="never"`: only the bytes are measured here, not the fsyncs) and reports,
per version kept:

- memory beyond the payload: what `tracemalloc` sees the store's objects take (the commits, the
  key strings, the histories, the sorted index, the change log's references), minus the payload
  bytes themselves; beside it, `revkv stats`' estimate of the same (`Keyspace.memory_bytes`);
- journal: the bytes of the records written for it (frames, msgpack bodies), which is what the
  journal grows by until a snapshot lets its segments go (segments are preallocated 64 MiB at
  a time, so `revkv stats` shows whole segments);
- snapshot: the bytes of a snapshot taken after the fill;
- sqlite3: the file size of the same versions in a WAL-mode table keyed by (ns, key, version)
  after a checkpoint, the peer's cost on disk; the ratio is revkv's snapshot ÷ sqlite3.

Keys are 16 characters; payloads are distinct (their first bytes number them), as they are when
they come over the network. Figures from one run; memory and sizes do not vary between runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import sys
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import _common as c  # also takes this folder off sys.path (see there)

try:
    from revkv.store._embedded import EmbeddedStore
except ImportError as error:  # pragma: no cover - a usage error
    sys.exit(
        f"revkv could not be imported ({error}).\n"
        "Run from the checkout with PYTHONPATH=src (or install it: pip install -e .)."
    )

SHAPES = ((20_000, 1, 100), (20_000, 1, 1000), (4_000, 5, 100), (4_000, 5, 1000), (2_000, 10, 10))
NS = "size"


@dataclass(frozen=True, slots=True)
class Shape:
    keys: int
    versions: int
    payload: int

    @property
    def total(self) -> int:
        return self.keys * self.versions

    def __str__(self) -> str:
        return f"{self.keys:,} keys x {self.versions} x {self.payload} B"


@dataclass(frozen=True, slots=True)
class Figures:
    memory: float  # bytes per version beyond its payload, measured
    estimate: float  # the same, as `revkv stats` estimates it
    journal: float  # bytes of journal records per version
    snapshot: float  # bytes of snapshot per version
    sqlite: float  # bytes of sqlite3 file per version


def payload(shape: Shape, key: int, version: int) -> bytes:
    number = b"%010d" % (key * shape.versions + version)
    return (number + b"x" * shape.payload)[: shape.payload]


def measure(shape: Shape, root: Path) -> Figures:
    directory = c.fresh_subdir(root, "revkv")
    store = EmbeddedStore(directory, durability="never", snapshot_every=None)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for version in range(shape.versions):
            for key in range(shape.keys):
                store.begin_put(NS, f"key/{key:012d}", payload(shape, key, version)).result()
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    stats = store.stats()
    sizes = stats.namespaces[NS]
    payload_bytes = shape.total * shape.payload
    written = stats.counters["journal_written_bytes"]
    snapshot = Path(store.snapshot() or "")
    snapshot_bytes = snapshot.stat().st_size
    store.close()
    assert sizes.memory_bytes is not None
    return Figures(
        memory=(used - payload_bytes) / shape.total,
        estimate=(sizes.memory_bytes - payload_bytes) / shape.total,
        journal=written / shape.total,
        snapshot=snapshot_bytes / shape.total,
        sqlite=sqlite_bytes(shape, c.fresh_subdir(root, "sqlite")) / shape.total,
    )


def sqlite_bytes(shape: Shape, directory: Path) -> int:
    path = directory / "store.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "CREATE TABLE commits (ns TEXT, key TEXT, version INTEGER, payload BLOB, author TEXT, "
        "comment TEXT, mtime REAL, PRIMARY KEY (ns, key, version)) WITHOUT ROWID"
    )
    with db:
        for version in range(shape.versions):
            db.executemany(
                "INSERT INTO commits VALUES (?, ?, ?, ?, '', '', 1.0)",
                (
                    (NS, f"key/{key:012d}", version + 1, payload(shape, key, version))
                    for key in range(shape.keys)
                ),
            )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return sum(p.stat().st_size for p in directory.iterdir())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = c.base_parser(__doc__ or "", seconds=0, runs=1, threads=False)
    parser.add_argument(
        "--shape",
        action="append",
        metavar="KEYSxVERSIONSxBYTES",
        help="a shape to measure, e.g. 100000x1x100 (repeatable; default: five shapes)",
    )
    args = parser.parse_args(argv)
    shapes = []
    for text in args.shape or [f"{k}x{v}x{p}" for k, v, p in SHAPES]:
        try:
            keys, versions, size = (int(part) for part in text.split("x"))
        except ValueError:
            parser.error(f"--shape {text!r} is not KEYSxVERSIONSxBYTES (e.g. 100000x1x100)")
        if keys < 1 or versions < 1 or size < 0:
            parser.error(f"--shape {text!r}: keys and versions from 1, bytes from 0")
        shapes.append(Shape(keys, versions, size))
    args.shapes = shapes
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results: list[tuple[Shape, Figures]] = []
    with c.bench_dir(args.dir) as root:
        for shape in args.shapes:
            c.progress(f"filling {shape} …")
            results.append((shape, measure(shape, root)))
    if args.json:
        c.emit_json(
            {
                str(shape): {
                    "memory_bytes_per_version_beyond_payload": f.memory,
                    "estimated_memory_bytes_per_version_beyond_payload": f.estimate,
                    "journal_bytes_per_version": f.journal,
                    "snapshot_bytes_per_version": f.snapshot,
                    "sqlite3_bytes_per_version": f.sqlite,
                    "snapshot_over_sqlite3": c.ratio(f.snapshot, f.sqlite),
                }
                for shape, f in results
            }
        )
        return 0
    rows = [
        [
            str(shape),
            f"{f.memory:,.0f}",
            f"{f.estimate:,.0f}",
            f"{f.journal:,.0f}",
            f"{f.snapshot:,.0f}",
            f"{f.sqlite:,.0f}",
            c.fmt_ratio(c.ratio(f.snapshot, f.sqlite)),
        ]
        for shape, f in results
    ]
    c.print_table(
        "Bytes per version kept (a key with one version: per key)",
        ["shape", "memory beyond payload", "stats' estimate", "journal", "snapshot",
         "sqlite3 file", "snapshot ÷ sqlite3"],
        rows,
        note=(
            f"Python {sys.version.split()[0]} on {os.uname().sysname}; memory by tracemalloc; "
            "journal and snapshot include the payload, memory does not"
        ),
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
