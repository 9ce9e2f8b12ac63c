"""What `revkv stats` tells: the memory estimate against tracemalloc, the fsync
histogram, and the command's output on a real directory."""

from __future__ import annotations

import gc
import json
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

import revkv
from revkv.cli import cli
from revkv.prevalence._latency import LatencyHistogram
from revkv.store._embedded import EmbeddedStore


@pytest.mark.parametrize(("keys", "versions", "size"), [(4000, 1, 100), (1000, 4, 1000)])
def test_the_memory_estimate_is_near_what_tracemalloc_measures(
    keys: int, versions: int, size: int
) -> None:
    store = EmbeddedStore(None, change_log_size=1)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for version in range(versions):
            for i in range(keys):
                payload = (b"%08d" % (i * versions + version)) + b"x" * (size - 8)
                store.begin_put("sized", f"key{i:06d}", payload).result()
        gc.collect()
        measured = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    estimate = store.stats().namespaces["sized"].memory_bytes
    store.close()
    assert estimate is not None
    assert 0.85 < estimate / measured < 1.15, (estimate, measured)


def test_the_histogram_counts_each_fsync_in_its_bucket() -> None:
    histogram = LatencyHistogram((0.001, 0.01, 0.1))
    for seconds in (0.0005, 0.001, 0.002, 0.05, 3.0):
        histogram.observe(seconds)
    snapshot = histogram.snapshot()
    assert snapshot.cumulative == (2, 3, 4, 5)
    assert snapshot.count == 5
    assert snapshot.sum == pytest.approx(3.0535)
    assert snapshot.quantile(0.5) == 0.01
    assert snapshot.quantile(0.99) == float("inf")
    data = snapshot.to_dict()
    assert data["p99"] is None  # past the last bound
    assert data["buckets"] == [[0.001, 2], [0.01, 3], [0.1, 4]]


def test_revkv_stats_on_a_directory(tmp_path: Path) -> None:
    with revkv.open(tmp_path) as store:
        store.put("diary", "1", "day 1")
        store.put("diary", "1", "day one")
        store.put("notes", "n", "x" * 1000)
    runner = CliRunner()
    result = runner.invoke(cli, ["--data", str(tmp_path), "stats", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["backend"] == "embedded"
    assert data["rev"] == 3
    assert data["namespaces"]["diary"]["keys"] == 1
    assert data["namespaces"]["diary"]["versions"] == 2
    assert data["namespaces"]["diary"]["payload_bytes"] == 5 + 7
    assert data["namespaces"]["notes"]["payload_bytes"] == 1000
    assert data["disk"]["journal_segments"] == 1
    assert data["disk"]["snapshots"] >= 1
    assert data["fsync_seconds"]["count"] == 0  # counted from this open on
    text = runner.invoke(cli, ["--data", str(tmp_path), "stats"])
    assert text.exit_code == 0, text.output
    assert "diary\t1\t2\t12\t" in text.output  # tab-separated in a pipe
    assert "journal: " in text.output


def test_revkv_stats_of_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data", str(tmp_path / "nothing"), "stats"])
    assert result.exit_code == 2
    assert "there is no store" in result.output
