"""The layout of a data directory, in one place.

A prevalence directory (and so an embedded revkv store) holds::

    LOCK                 the pid of the one process that has it open (which flock()s
                         the directory itself)
    SERVER               JSON {"pid", "url"} of the `revkv serve` that has it open, if
                         one does (written once it listens, removed when it stops)
    SYSTEM               JSON manifest: format version, codec, class of the system,
                         newest journal segment and a bound on its seqs
    journal-<seq>.log    journal segments, named by the seq of their first record
    snapshot-<seq>.snap  snapshots, named by the seq of the last command they contain
    COMPACT              present while a compaction runs (see prevalence/_system.py):
                         an open that finds it finishes the compaction
    *.broken             damaged bytes set aside by repair or quarantine, never read
    *.tmp                half-written files; removed at open

Seqs are written as 20 decimal digits.

Names sort in seq order, so a directory listing is also the replay order.
"""

from __future__ import annotations

import re
from pathlib import Path

LOCK_FILE = "LOCK"
SERVER_FILE = "SERVER"
MANIFEST_FILE = "SYSTEM"
COMPACT_FILE = "COMPACT"
JOURNAL_PREFIX = "journal-"
JOURNAL_SUFFIX = ".log"
SNAPSHOT_PREFIX = "snapshot-"
SNAPSHOT_SUFFIX = ".snap"
BROKEN_SUFFIX = ".broken"
TMP_SUFFIX = ".tmp"

_JOURNAL_RE = re.compile(r"^journal-(\d{20})\.log$")
_SNAPSHOT_RE = re.compile(r"^snapshot-(\d{20})\.snap$")


def journal_name(first_seq: int) -> str:
    return f"{JOURNAL_PREFIX}{first_seq:020d}{JOURNAL_SUFFIX}"


def journal_seq(path: Path) -> int:
    """The first seq a segment's name gives."""
    match = _JOURNAL_RE.match(path.name)
    if match is None:
        raise ValueError(f"{path.name} is not a journal segment's name")
    return int(match.group(1))


def snapshot_name(seq: int) -> str:
    return f"{SNAPSHOT_PREFIX}{seq:020d}{SNAPSHOT_SUFFIX}"


def journal_segments(directory: Path) -> list[tuple[int, Path]]:
    """(first_seq, path) of every journal segment, oldest first."""
    return _numbered(directory, _JOURNAL_RE)


def snapshots(directory: Path) -> list[tuple[int, Path]]:
    """(seq, path) of every snapshot, oldest first."""
    return _numbered(directory, _SNAPSHOT_RE)


def _numbered(directory: Path, pattern: re.Pattern[str]) -> list[tuple[int, Path]]:
    found = []
    for path in directory.iterdir():
        match = pattern.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def broken_name(path: Path) -> Path:
    """A free `.broken` name beside `path` (`x.broken`, `x.1.broken`, ...)."""
    candidate = path.with_name(path.name + BROKEN_SUFFIX)
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{n}{BROKEN_SUFFIX}")
        n += 1
    return candidate
