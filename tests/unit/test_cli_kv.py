"""`revkv set/get/meta/list/history/delete/revert` through click's runner, on real stores."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import revkv
from revkv.cli import cli

AUTHOR_ENV = {"USER": "ann", "LOGNAME": "ann"}


def run(
    data: Path, *args: str, input: bytes | str | None = None, env: dict[str, str] | None = None
) -> Result:
    """`revkv --data DATA ARGS...`; unexpected exceptions propagate instead of exiting 1."""
    runner = CliRunner(env={**AUTHOR_ENV, **(env or {})})
    return runner.invoke(cli, ["--data", str(data), *args], input=input, catch_exceptions=False)


def ok(data: Path, *args: str, input: bytes | str | None = None) -> Result:
    result = run(data, *args, input=input)
    assert result.exit_code == 0, result.output
    return result


def as_json(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


META_FIELDS = {"namespace", "key", "version", "rev", "author", "comment", "mtime", "expires",
               "deleted"}  # fmt: skip


def test_set_then_get_round_trips_the_bytes(tmp_path: Path) -> None:
    result = ok(tmp_path, "set", "greeting", "hello world", "-m", "first draft")
    assert result.stdout == "committed default/greeting version 1 (rev 1)\n"
    assert ok(tmp_path, "get", "greeting").stdout_bytes == b"hello world"


def test_set_dash_reads_binary_stdin_and_get_writes_it_back(tmp_path: Path) -> None:
    payload = bytes(range(256)) + b"\r\n\x00"
    ok(tmp_path, "set", "-n", "blobs", "all-bytes", "-", input=payload)
    assert ok(tmp_path, "get", "-n", "blobs", "all-bytes").stdout_bytes == payload


def test_set_records_author_comment_and_ttl(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "v", "-m", "why", "--ttl", "3600")
    ok(tmp_path, "set", "k", "w", "--author", "bob")
    with revkv.open(tmp_path) as store:
        first, second = store.get("default", "k", 1), store.get("default", "k", 2)
    assert (first.author, first.comment) == ("ann", "why")
    assert first.expires is not None and first.expires - first.mtime == pytest.approx(3600)
    assert (second.author, second.comment, second.expires) == ("bob", "", None)


def test_set_with_expect_is_compare_and_set_on_the_version_read(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "one", "--expect", "absent")
    result = run(tmp_path, "set", "k", "stale", "--expect", "0")
    assert result.exit_code == 3
    assert "it is at version 1" in result.stderr
    assert "pass expect=1" in result.stderr
    ok(tmp_path, "set", "k", "two", "--expect", "1")
    assert ok(tmp_path, "get", "k").stdout == "two"
    assert run(tmp_path, "set", "k", "x", "--expect", "exists").exit_code == 0
    bad = run(tmp_path, "set", "k", "x", "--expect", "two")
    assert bad.exit_code == 2
    assert "'two' is not a version" in bad.stderr


def test_get_json_gives_meta_and_payload_as_text_or_base64(tmp_path: Path) -> None:
    ok(tmp_path, "set", "text", "héllo")
    ok(tmp_path, "set", "bin", "-", input=b"\xff\x00")
    text = as_json(run(tmp_path, "get", "text", "--json"))
    assert isinstance(text, dict)
    assert set(text) == META_FIELDS | {"payload"}
    assert (text["payload"], text["author"]) == ("héllo", "ann")
    binary = as_json(run(tmp_path, "get", "bin", "--json"))
    assert set(binary) == META_FIELDS | {"payload_base64"}
    assert binary["payload_base64"] == "/wA="


def test_get_an_older_version(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "one")
    ok(tmp_path, "set", "k", "two")
    assert ok(tmp_path, "get", "k", "--version", "1").stdout == "one"
    assert run(tmp_path, "get", "k", "--version", "9").exit_code == 1


def test_not_found_exits_1(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "v")
    for args in (
        ["get", "nope"],
        ["meta", "nope"],
        ["history", "nope"],
        ["get", "-n", "nons", "k"],
    ):
        result = run(tmp_path, *args)
        assert result.exit_code == 1, args
        assert result.stderr.startswith("revkv: ") and "not" in result.stderr
        assert result.stdout == ""


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run(tmp_path / "missing", "get", "k").exit_code == 2  # a mistyped --data
    ok(tmp_path, "set", "k", "v")
    assert run(tmp_path, "get", "k", "--version", "0").exit_code == 2
    assert run(tmp_path, "set", "-n", "bad name", "k", "v").exit_code == 2
    result = run(tmp_path, "set", "a\x01b", "v")
    assert result.exit_code == 2
    assert "control character" in result.stderr


def test_another_error_exits_4_the_directory_in_use(tmp_path: Path) -> None:
    store = revkv.open(tmp_path)
    try:
        result = run(tmp_path, "get", "k")
    finally:
        store.close()
    assert result.exit_code == 4
    assert "in use by" in result.stderr


def test_meta_prints_fields_and_json(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "v", "-m", "note")
    lines = ok(tmp_path, "meta", "k").stdout.splitlines()
    assert lines[:6] == ["namespace: default", "key: k", "version: 1", "rev: 1", "author: ann",
                         "comment: note"]  # fmt: skip
    assert lines[6].startswith("mtime: 20") and lines[6].endswith("Z")
    data = as_json(run(tmp_path, "meta", "k", "--json"))
    assert isinstance(data, dict) and set(data) == META_FIELDS


def test_meta_all_shows_a_tombstone(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "v")
    ok(tmp_path, "delete", "k")
    assert run(tmp_path, "meta", "k").exit_code == 1
    data = as_json(run(tmp_path, "meta", "k", "--all", "--json"))
    assert data == {**data, "deleted": True, "version": 2}  # type: ignore[dict-item]


def test_list_is_tab_separated_in_a_pipe(tmp_path: Path) -> None:
    ok(tmp_path, "set", "users/b", "bee")
    ok(tmp_path, "set", "users/a", "a")
    ok(tmp_path, "set", "other", "o")
    rows = [line.split("\t") for line in ok(tmp_path, "list").stdout.splitlines()]
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
        ("other", "1", "ann", "1"), ("users/a", "1", "ann", "1"), ("users/b", "1", "ann", "3"),
    ]  # fmt: skip
    prefixed = ok(tmp_path, "list", "--prefix", "users/").stdout.splitlines()
    assert [line.split("\t")[0] for line in prefixed] == ["users/a", "users/b"]


def test_list_all_includes_deleted_keys_with_their_state(tmp_path: Path) -> None:
    ok(tmp_path, "set", "gone", "x")
    ok(tmp_path, "set", "kept", "y")
    ok(tmp_path, "delete", "gone")
    assert [line.split("\t")[0] for line in ok(tmp_path, "list").stdout.splitlines()] == ["kept"]
    rows = [line.split("\t") for line in ok(tmp_path, "list", "--all").stdout.splitlines()]
    assert [(r[0], r[-1]) for r in rows] == [("gone", "deleted"), ("kept", "live")]
    items = as_json(run(tmp_path, "list", "--all", "--json"))
    assert isinstance(items, list)
    assert [(i["key"], i["state"], i["size"]) for i in items] == [("gone", "deleted", 0),
                                                                   ("kept", "live", 1)]  # fmt: skip
    assert set(items[0]) == META_FIELDS | {"size", "state"}


def test_list_pages_through_many_keys(tmp_path: Path) -> None:
    with revkv.open(tmp_path) as store:
        for i in range(2500):
            store.put("default", f"k{i:05d}", b"x")
    assert len(ok(tmp_path, "list").stdout.splitlines()) == 2500


def test_history_newest_first(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "one", "-m", "first")
    ok(tmp_path, "set", "k", "two", "-m", "second")
    ok(tmp_path, "delete", "k", "-m", "gone")
    rows = [line.split("\t") for line in ok(tmp_path, "history", "k").stdout.splitlines()]
    assert [(r[0], r[3], r[4], r[5]) for r in rows] == [
        ("3", "ann", "delete", "gone"), ("2", "ann", "put", "second"), ("1", "ann", "put", "first")
    ]  # fmt: skip
    versions = as_json(run(tmp_path, "history", "k", "--json"))
    assert isinstance(versions, list)
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert set(versions[0]) == META_FIELDS


def test_delete_and_revert_bring_a_key_back(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "one")
    ok(tmp_path, "set", "k", "two")
    assert ok(tmp_path, "delete", "k").stdout == "deleted default/k version 3 (rev 3)\n"
    assert run(tmp_path, "get", "k").exit_code == 1
    assert run(tmp_path, "delete", "k").exit_code == 1
    data = as_json(run(tmp_path, "revert", "k", "1", "--json"))
    assert data == {**data, "version": 4, "comment": "revert to version 1", "author": "ann"}  # type: ignore[dict-item]
    assert ok(tmp_path, "get", "k").stdout == "one"


def test_delete_and_revert_with_expect_are_compare_and_set(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "one")
    assert run(tmp_path, "delete", "k", "--expect", "2").exit_code == 3
    ok(tmp_path, "set", "k", "two")
    assert run(tmp_path, "revert", "k", "1", "--expect", "1").exit_code == 3
    ok(tmp_path, "revert", "k", "1", "--expect", "2", "-m", "undo")
    assert run(tmp_path, "revert", "k", "7").exit_code == 1


def test_set_json_prints_the_commit(tmp_path: Path) -> None:
    data = as_json(run(tmp_path, "set", "k", "v", "--json"))
    assert isinstance(data, dict) and set(data) == META_FIELDS
    assert (data["version"], data["author"]) == (1, "ann")


def test_the_namespace_can_come_from_the_environment(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "v", "-n", "diary")
    result = run(tmp_path, "get", "k", env={"REVKV_NAMESPACE": "diary"})
    assert (result.exit_code, result.stdout) == (0, "v")


def test_set_expect_absent_creates_an_expired_key_again(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "old", "--ttl", "0.05")
    time.sleep(0.1)
    assert run(tmp_path, "set", "k", "new", "--expect", "1").exit_code == 3
    ok(tmp_path, "set", "k", "new", "--expect", "absent")
    assert ok(tmp_path, "get", "k").stdout == "new"
