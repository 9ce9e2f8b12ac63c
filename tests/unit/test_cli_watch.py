"""`revkv watch` through click's runner: replay with --no-follow (the live follow runs in
tests/integration/test_cli_watch.py, in its own process)."""

from __future__ import annotations

import json
from pathlib import Path

import revkv
from tests.unit.test_cli_kv import ok, run


def populate(data: Path) -> None:
    with revkv.open(data) as store:
        store.put("default", "users/a", b"1", author="ann")
        store.put("other", "x", b"2", author="bob")
        store.put("default", "users/a", b"3", author="ann")
        store.delete("default", "users/a", author="cy")
        store.put("default", "misc", b"5", author="dee")


def test_watch_since_replays_changes_one_line_each(tmp_path: Path) -> None:
    populate(tmp_path)
    lines = ok(tmp_path, "watch", "--since", "0", "--no-follow").stdout.splitlines()
    rows = [line.split("\t") for line in lines]
    assert [r[:6] for r in rows] == [
        ["1", "put", "default", "users/a", "1", "ann"],
        ["3", "put", "default", "users/a", "2", "ann"],
        ["4", "delete", "default", "users/a", "3", "cy"],
        ["5", "put", "default", "misc", "1", "dee"],
    ]
    assert all(r[6].endswith("Z") for r in rows)


def test_watch_filters_by_prefix_and_rev_across_namespaces(tmp_path: Path) -> None:
    populate(tmp_path)
    lines = ok(tmp_path, "watch", "--since", "1", "--prefix", "users/", "--no-follow").stdout
    assert [line.split("\t")[0] for line in lines.splitlines()] == ["3", "4"]
    every = ok(tmp_path, "watch", "-A", "--since", "0", "--no-follow").stdout.splitlines()
    assert [line.split("\t")[2] for line in every] == ["default", "other"] + ["default"] * 3


def test_watch_json_is_json_lines(tmp_path: Path) -> None:
    populate(tmp_path)
    lines = ok(tmp_path, "watch", "--since", "3", "--json", "--no-follow").stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [(e["type"], e["rev"], e["commit"]["key"], e["commit"]["deleted"]) for e in events] == [
        ("delete", 4, "users/a", True), ("put", 5, "misc", False),
    ]  # fmt: skip
    assert set(events[0]) == {"type", "rev", "commit"}  # as the server sends an event
    assert set(events[0]["commit"]) == {"namespace", "key", "version", "rev", "author",
                                        "comment", "mtime", "expires", "deleted"}  # fmt: skip


def test_watch_without_since_starts_now(tmp_path: Path) -> None:
    populate(tmp_path)
    assert ok(tmp_path, "watch", "--no-follow").stdout == ""


def test_watch_of_a_missing_store_is_a_usage_error(tmp_path: Path) -> None:
    assert run(tmp_path / "nope", "watch", "--no-follow").exit_code == 2
