"""Revs never go back: a repair that sets records aside goes on after the highest seq it
set aside, and a resume point past the current rev is refused (`RevAhead`, 410)."""

from __future__ import annotations

import struct
from pathlib import Path

import httpx
import pytest

import revkv
from revkv import _paths as paths
from revkv.errors import Compacted, JournalCorrupted, RevAhead
from revkv.http import create_app
from revkv.prevalence import control, open_system
from revkv.prevalence._frames import FRAME_HEADER_LEN, LENGTH_MASK, SEGMENT_HEADER_LEN
from revkv.prevalence._journal import create_segment
from revkv.prevalence._repair import check, repair
from tests.domains import Counter


def record_offsets(segment: Path) -> list[int]:
    data = segment.read_bytes()
    offsets, pos = [], SEGMENT_HEADER_LEN
    while pos + FRAME_HEADER_LEN <= len(data):
        (word,) = struct.unpack_from("<I", data, pos + 4)
        if word == 0:
            break
        offsets.append(pos)
        length = word & LENGTH_MASK
        pos += FRAME_HEADER_LEN + length + (-length % 8)
    return offsets


def damage_record(directory: Path, index: int) -> None:
    """Flip a byte in the body of the `index`th record of the (only) segment."""
    ((_, segment),) = paths.journal_segments(directory)
    offset = record_offsets(segment)[index] + FRAME_HEADER_LEN + 2
    with open(segment, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x55]))


def test_after_a_repair_the_journal_goes_on_after_the_highest_seq_set_aside(
    tmp_path: Path,
) -> None:
    system = open_system(Counter, tmp_path)
    for i in range(10):
        system.set(f"k{i}", i)
    system.close()
    damage_record(tmp_path, 4)  # records 5..10 stop verifying at 5
    report = repair(tmp_path)
    assert (report.last_good_seq, report.highest_seq) == (4, 10)
    assert check(tmp_path).damaged is None
    system = open_system(Counter, tmp_path)
    assert sorted(system.data) == ["k0", "k1", "k2", "k3"]
    system.set("after", 1)
    assert control(system).journal.last_seq == 11  # not 5: seqs 5..10 were handed out
    system.close()
    system = open_system(Counter, tmp_path)  # the gap is the cut segment's, exactly
    assert sorted(system.data) == ["after", "k0", "k1", "k2", "k3"]
    system.set("again", 2)
    assert control(system).journal.last_seq == 12
    system.close()


def test_a_gap_other_than_the_cut_is_still_a_missing_segment(tmp_path: Path) -> None:
    system = open_system(Counter, tmp_path)
    for i in range(10):
        system.set(f"k{i}", i)
    system.close()
    create_segment(tmp_path, 16, SEGMENT_HEADER_LEN, skipped=3)  # 11 and 12 are missing
    with pytest.raises(JournalCorrupted, match="gap or overlap"):
        open_system(Counter, tmp_path)
    (tmp_path / paths.journal_name(16)).unlink()
    create_segment(tmp_path, 16, SEGMENT_HEADER_LEN, skipped=5)  # exactly 11..15 set aside
    system = open_system(Counter, tmp_path)
    system.set("after", 1)
    assert control(system).journal.last_seq == 16
    system.close()


def repaired_store(directory: Path) -> int:
    """A store of ten puts whose last six a repair set aside; the rev it had reached."""
    with revkv.open(directory) as store:
        for i in range(10):
            top = store.put("ns", f"k{i}", b"v").rev
    ((_, segment),) = paths.journal_segments(directory)
    offsets = record_offsets(segment)
    with open(segment, "r+b") as f:
        f.seek(offsets[len(offsets) - 6] + FRAME_HEADER_LEN + 2)
        f.write(b"\xee")
    repair(directory)
    return top


def test_a_resume_point_past_the_current_rev_is_rev_ahead(tmp_path: Path) -> None:
    seen = repaired_store(tmp_path)
    with revkv.open(tmp_path) as store:
        current = store.rev
        assert current < seen
        with pytest.raises(RevAhead) as info:
            store.changes(seen)
        assert isinstance(info.value, Compacted)
        assert (info.value.requested_rev, info.value.current_rev) == (seen, current)
        with pytest.raises(RevAhead):
            store.watch(seen)
        with store.watch(seen, resync=True) as watch:
            reset = watch.next(timeout=5)
            assert reset is not None and reset.type == "reset" and reset.rev == current
        assert store.put("ns", "new", b"v").rev == seen + 1  # never a rev seen before
        with pytest.raises(RevAhead):  # still: what it saw up to `seen` is partly gone
            store.changes(seen)
        assert [e.rev for e in store.changes(current)] == [seen + 1]


@pytest.mark.asyncio
async def test_http_answers_410_rev_ahead_with_the_current_rev(tmp_path: Path) -> None:
    seen = repaired_store(tmp_path)
    with revkv.open(tmp_path) as store:
        app = create_app(store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for url, headers in [
                (f"/watch/ns?since={seen}&wait=0", {}),
                (f"/watch/ns?since={seen}", {}),
                ("/watch/ns?wait=0", {"Last-Event-ID": str(seen)}),
            ]:
                response = await client.get(url, headers=headers)
                assert response.status_code == 410, url
                error = response.json()["error"]
                assert error["code"] == "RevAhead"
                assert error["current_rev"] == store.rev


def test_a_resume_point_inside_a_cut_is_refused_after_snapshots_pruned_the_cut(
    tmp_path: Path,
) -> None:
    """The cut is remembered in SYSTEM, not only by the segment that follows it."""
    seen = repaired_store(tmp_path)
    with revkv.open(tmp_path, segment_size=4096) as store:
        kept = store.rev
        for i in range(100):  # past several segments
            store.put("ns", f"later{i}", b"x" * 100)
        store.snapshot()
        store.put("ns", "one-more", b"y")
        store.snapshot()
    assert paths.journal_segments(tmp_path)[0][0] > seen  # the cut segment is gone
    with revkv.open(tmp_path) as store:
        with pytest.raises(RevAhead):
            store.changes(seen)
        with pytest.raises(RevAhead):
            store.changes(kept + 1)
        assert store.changes(kept)[0].rev == seen + 1
