"""The prevalent system: commands, decorators, clock, snapshots, the directory lock."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import pytest

from revkv import _paths as paths
from revkv.errors import (
    ClockMisuse,
    DirectoryLocked,
    PrevalenceError,
    ReplayDiverged,
)
from revkv.prevalence import control, init_persistent_system, open_system
from tests.domains import Counter, UsesTimeTime, UsesWallClock


def reopen(path: Path, **kw: object) -> Counter:
    return open_system(Counter, path, **kw)  # type: ignore[no-any-return]


def test_state_survives_a_restart(tmp_path: Path) -> None:
    system = reopen(tmp_path)
    system.set("a", 1)
    assert system.incr("n", 5) == 5
    system.close()
    system = reopen(tmp_path)
    assert system.data == {"a": 1, "n": 5}
    assert control(system).stats["replayed_records"] == 2
    system.close()


def test_a_class_or_an_instance_may_be_given(tmp_path: Path) -> None:
    initial = Counter()
    initial.data["seed"] = 1
    system = open_system(initial, tmp_path / "i")
    assert system.get("seed") == 1
    system.close()
    system = open_system(Counter, tmp_path / "c")
    assert system.size() == 0
    system.close()


def test_init_persistent_system_defaults_to_the_class_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    system = init_persistent_system(Counter())
    system.set("x", 1)
    assert system.basedir_abspath() == [str(tmp_path / "counter")]
    system.close()
    assert (tmp_path / "counter" / paths.MANIFEST_FILE).exists()


def test_readonly_calls_are_not_journaled(tmp_path: Path) -> None:
    system = reopen(tmp_path)
    system.set("a", 1)
    for _ in range(10):
        assert system.get("a") == 1
        assert system.peek("a") == 1
    assert control(system).journal.last_seq == 1
    system.close()


def test_a_command_that_raises_is_journaled_and_raises_again_on_replay(tmp_path: Path) -> None:
    system = reopen(tmp_path)
    system.set("a", 1)
    with pytest.raises(KeyError):
        system.delete("missing")
    assert control(system).journal.last_seq == 2
    system.close()
    system = reopen(tmp_path)  # the replayed KeyError is expected, not divergence
    assert system.data == {"a": 1}
    system.close()


@pytest.mark.parametrize("where", ["disk", "memory"])
def test_abort_exception_leaves_no_trace(tmp_path: Path, where: str) -> None:
    system = reopen(tmp_path) if where == "disk" else open_system(Counter, None)
    system.set_positive("a", 1)
    with pytest.raises(ValueError, match="not positive"):
        system.set_positive("b", -1)
    assert system.data == {"a": 1}
    assert system.log == ["a"]
    assert control(system).journal.last_seq == 1
    system.set("c", 3)  # still writable after the rollback
    assert system.data == {"a": 1, "c": 3}
    system.close()
    if where == "disk":
        system = reopen(tmp_path)
        assert system.data == {"a": 1, "c": 3}
        system.close()


def test_the_clock_replays_the_recorded_time(tmp_path: Path) -> None:
    system = reopen(tmp_path)
    first = system.stamp("t")
    time.sleep(0.01)
    system.close()
    system = reopen(tmp_path)
    assert system.get("t") == first
    clock = control(system).clock
    assert isinstance(clock.now(), datetime)
    assert isinstance(clock.today(), date)
    assert clock.utcnow().tzinfo is None
    system.close()


def test_command_time_never_goes_backwards(tmp_path: Path) -> None:
    system = reopen(tmp_path)
    stamps = [system.stamp(str(i)) for i in range(50)]
    assert stamps == sorted(stamps)
    system.close()


@pytest.mark.parametrize(
    ("cls", "call"), [(UsesWallClock, "datetime.now()"), (UsesTimeTime, "time.time()")]
)
def test_clock_validation_names_the_method(tmp_path: Path, cls: type, call: str) -> None:
    with pytest.raises(ClockMisuse, match=f"{cls.__name__}.touch calls {call}") as info:
        open_system(cls, tmp_path)
    assert info.value.method == f"{cls.__name__}.touch"
    system = open_system(cls, tmp_path, validate_clock=False)
    system.touch()
    system.close()


def test_a_second_opener_is_told_who_holds_the_directory(tmp_path: Path) -> None:
    system = reopen(tmp_path)
    with pytest.raises(DirectoryLocked, match=r"in use by process \d+") as info:
        reopen(tmp_path)
    assert info.value.pid is not None
    system.close()
    reopen(tmp_path).close()  # free again once closed


def test_the_codec_of_a_directory_is_remembered(tmp_path: Path) -> None:
    reopen(tmp_path).close()
    with pytest.raises(PrevalenceError, match="open it with codec='pickle'"):
        reopen(tmp_path, codec="msgpack")


def test_msgpack_codec_keeps_plain_data(tmp_path: Path) -> None:
    system = reopen(tmp_path, codec="msgpack")
    system.set("b", b"\x00\xff")
    system.set("l", [1, "two", None])
    system.take_snapshot()
    system.set("after", {"k": 1.5})
    system.close()
    system = reopen(tmp_path, codec="msgpack")
    assert system.data == {"b": b"\x00\xff", "l": [1, "two", None], "after": {"k": 1.5}}
    system.close()


def test_msgpack_refuses_objects_with_a_clear_error(tmp_path: Path) -> None:
    system = reopen(tmp_path, codec="msgpack")
    with pytest.raises(PrevalenceError, match="cannot be journaled with the msgpack codec"):
        system.set("x", object())
    assert system.data == {}  # refused before it ran
    system.close()


def test_snapshot_then_replay_of_the_rest(tmp_path: Path) -> None:
    system = reopen(tmp_path)
    for i in range(10):
        system.set(str(i), i)
    system.take_snapshot()
    for i in range(10, 15):
        system.set(str(i), i)
    system.close()
    system = reopen(tmp_path)
    stats = control(system).stats
    assert stats["snapshot_seq"] == 10
    assert stats["replayed_records"] == 5
    assert len(system.data) == 15
    system.close()


def test_old_snapshots_and_covered_segments_are_removed(tmp_path: Path) -> None:
    system = reopen(tmp_path, segment_size=512, keep_snapshots=2)
    for round_ in range(4):
        for i in range(30):
            system.set(f"{round_}-{i}", "x" * 20)
        system.take_snapshot()
    system.close()
    snaps = paths.snapshots(tmp_path)
    assert [seq for seq, _ in snaps] == [90, 120]
    assert paths.journal_segments(tmp_path)[0][0] <= 91
    system = reopen(tmp_path)
    assert len(system.data) == 120
    system.close()


def test_keep_journal_keeps_every_segment(tmp_path: Path) -> None:
    system = reopen(tmp_path, segment_size=512, keep_journal=True)
    for i in range(60):
        system.set(str(i), "x" * 20)
    system.take_snapshot()
    system.close()
    assert paths.journal_segments(tmp_path)[0][0] == 1


def test_automatic_snapshots_every_n_commands(tmp_path: Path) -> None:
    system = reopen(tmp_path, snapshot_every=10)
    for i in range(35):
        system.set(str(i), i)
    deadline = time.monotonic() + 10
    while paths.snapshots(tmp_path)[-1][0] < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert paths.snapshots(tmp_path)[-1][0] >= 30
    system.close()


def test_automatic_snapshots_every_t_seconds(tmp_path: Path) -> None:
    system = reopen(tmp_path)
    system.set("a", 1)
    system.start_snapshot_manager(0.05)
    deadline = time.monotonic() + 10
    while paths.snapshots(tmp_path)[-1][0] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert paths.snapshots(tmp_path)[-1][0] == 1
    system.close()


def test_setting_attributes_from_outside_is_refused(tmp_path: Path) -> None:
    system = reopen(tmp_path)
    with pytest.raises(PrevalenceError, match="would not be journaled"):
        system.data = {}
    system.close()


def test_writes_after_close_are_refused_before_they_run(tmp_path: Path) -> None:
    system = reopen(tmp_path)
    system.close()
    with pytest.raises(PrevalenceError, match="closed"):
        system.set("a", 1)


def test_replay_divergence_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = reopen(tmp_path)
    system.set("a", 1)
    system.close()

    def broken_set(self: Counter, key: str, value: object) -> None:
        raise RuntimeError("new code")

    monkeypatch.setattr(Counter, "set", broken_set)
    with pytest.raises(ReplayDiverged, match=r"command #1 \(set\)"):
        reopen(tmp_path)
    system = reopen(tmp_path, replay_errors="log")
    assert system.data == {}
    system.close()


def test_the_proxy_is_a_context_manager_and_has_dunders(tmp_path: Path) -> None:
    with open_system(dict, tmp_path) as system:
        system["a"] = 1
        system.update(b=2)
        assert len(system) == 2
        assert "a" in system
        assert system["b"] == 2
        del system["a"]
        assert sorted(system) == ["b"]
    with open_system(dict, tmp_path) as system:
        assert dict(system.items()) == {"b": 2}
