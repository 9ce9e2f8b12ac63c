"""`SYSTEM`, the manifest of a prevalence directory: what it holds and where its journal ends.

A JSON object, rewritten atomically (temp file, fsync, rename, fsync the directory)::

    {"format": 1, "codec": "msgpack", "class": "revkv.store._state:StoreState",
     "newest_segment": 1234, "reserved_through": 1050000}

`newest_segment` is the first seq of the newest journal segment the journal has started;
it is written before that segment takes its first record. `reserved_through` is a seq the
journal has not passed: it is raised (a million at a time) before a record beyond it is
written, so it bounds every seq, and so every rev, ever handed out, even when the records
themselves are lost. A repair that accepts a loss goes on after it. `cuts` lists, for
every repair that set records aside, (the last seq kept, the last seq set aside): revs
in between were seen by clients and are gone, so a watch resuming from one is refused
(`RevAhead`) for as long as the directory lives, snapshots and pruning notwithstanding.

Segments are only ever removed from the old end (by snapshot pruning), so a directory
whose newest segment starts before `newest_segment` has lost its newest segment, and with
it records that were acknowledged. That is the one loss the journal's own checks cannot
see: every segment still present verifies, and nothing follows them to say that
something should.

A manifest that does not parse, or lacks a field, is damage (`ManifestCorrupted`), never
silently rewritten: it names the codec the directory was written with.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from revkv import _paths as paths
from revkv.errors import ManifestCorrupted

FORMAT = 1


@dataclass(frozen=True, slots=True)
class Manifest:
    format: int
    codec: str
    cls: str
    newest_segment: int | None = None  # None: written before revkv recorded it
    reserved_through: int = 0
    cuts: tuple[tuple[int, int], ...] = ()

    def as_json(self) -> str:
        data = asdict(self)
        data["class"] = data.pop("cls")
        if self.newest_segment is None:
            del data["newest_segment"], data["reserved_through"]
        if self.cuts:
            data["cuts"] = [list(cut) for cut in self.cuts]
        else:
            del data["cuts"]
        return json.dumps(data, indent=2) + "\n"


def read_manifest(directory: Path) -> Manifest | None:
    """The directory's manifest; None for a new directory; `ManifestCorrupted` when damaged,
    or missing from a directory that holds a journal or snapshots (deleting it would
    otherwise silence every check it makes possible)."""
    path = directory / paths.MANIFEST_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if paths.journal_segments(directory) or paths.snapshots(directory):
            raise ManifestCorrupted(
                path, "it is missing, but the directory holds journal segments or snapshots"
            ) from None
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestCorrupted(path, f"it is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ManifestCorrupted(path, "it is not a JSON object")
    fields = {"format": int, "codec": str, "class": str}
    for name, kind in fields.items():
        if not isinstance(data.get(name), kind):
            raise ManifestCorrupted(path, f"its {name!r} is missing or not a {kind.__name__}")
    newest = data.get("newest_segment")
    reserved = data.get("reserved_through", 0)
    for name, value in (("newest_segment", newest), ("reserved_through", reserved)):
        if value is not None and (type(value) is not int or value < 0):
            raise ManifestCorrupted(path, f"its {name!r} is not a seq")
    cuts = data.get("cuts", [])
    if not isinstance(cuts, list) or not all(
        isinstance(c, list) and len(c) == 2 and all(type(n) is int for n in c) for c in cuts
    ):
        raise ManifestCorrupted(path, "its 'cuts' is not a list of [kept, set aside] seqs")
    if data["format"] != FORMAT:
        raise ManifestCorrupted(path, f"format {data['format']} is not supported")
    return Manifest(
        data["format"],
        data["codec"],
        data["class"],
        newest,
        reserved or 0,
        tuple((a, b) for a, b in cuts),
    )


def write_manifest(directory: Path, manifest: Manifest) -> None:
    path = directory / paths.MANIFEST_FILE
    tmp = path.with_name(path.name + paths.TMP_SUFFIX)
    try:
        with open(tmp, "w") as f:
            f.write(manifest.as_json())
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
