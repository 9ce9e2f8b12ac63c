"""What a prevalence directory takes on disk: its journal segments and its snapshots.

Read from the directory listing when asked (`revkv stats`, a `/metrics` scrape): a few
`stat()` calls, whatever the size of the store. Journal bytes are what the segments
occupy on disk (`st_blocks`, as `du` counts them): segments are preallocated, so a new
one takes its full size at once, and that is what a full disk is made of.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from revkv import _paths as paths


@dataclass(frozen=True, slots=True)
class DiskUsage:
    journal_segments: int
    journal_bytes: int
    snapshots: int
    snapshot_bytes: int

    def as_gauges(self) -> dict[str, float]:
        return {
            "journal_segments": self.journal_segments,
            "journal_bytes": self.journal_bytes,
            "snapshots": self.snapshots,
            "snapshot_bytes": self.snapshot_bytes,
        }


def disk_usage(directory: Path) -> DiskUsage:
    """The segments and snapshots of `directory` now (a file removed meanwhile is skipped)."""
    segments = _sizes((path for _, path in paths.journal_segments(directory)), allocated=True)
    snapshots = _sizes((path for _, path in paths.snapshots(directory)), allocated=False)
    return DiskUsage(len(segments), sum(segments), len(snapshots), sum(snapshots))


def _sizes(files: Iterable[Path], *, allocated: bool) -> list[int]:
    found = []
    for path in files:
        try:
            st = os.stat(path)
        except FileNotFoundError:  # pruned by a snapshot meanwhile
            continue
        found.append(st.st_blocks * 512 if allocated else st.st_size)
    return found
