"""`revkv ns list/create/show` and `revkv snapshot` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import revkv
from revkv import _paths as paths
from tests.unit.test_cli_kv import ok, run

SETTINGS = {"name", "max_payload", "default_ttl", "keep_versions", "keep_seconds", "content_type",
            "json_objects_only", "schema", "created_rev"}  # fmt: skip


def test_create_with_settings_then_show(tmp_path: Path) -> None:
    result = ok(tmp_path, "ns", "create", "sessions", "--default-ttl", "60", "--keep-versions",
                "2", "--max-payload", "100", "--content-type", "text/plain")  # fmt: skip
    assert result.stdout == "namespace sessions is ready\n"
    ok(tmp_path, "set", "-n", "sessions", "s1", "token")
    data = json.loads(ok(tmp_path, "ns", "show", "sessions", "--json").stdout)
    assert set(data) == SETTINGS | {"keys"}
    expected = {"default_ttl": 60.0, "keep_versions": 2, "max_payload": 100,
                "content_type": "text/plain", "json_objects_only": False, "keys": 1}  # fmt: skip
    assert data == {**data, **expected}
    lines = ok(tmp_path, "ns", "show", "sessions").stdout.splitlines()
    assert "default_ttl: 60.0" in lines and "keys: 1" in lines and "keep_seconds:" in lines


def test_the_settings_are_enforced(tmp_path: Path) -> None:
    ok(tmp_path, "ns", "create", "small", "--max-payload", "4", "--json-objects-only")
    assert run(tmp_path, "set", "-n", "small", "k", "[1]").exit_code == 2
    result = run(tmp_path, "set", "-n", "small", "k", '{"a": 1}')
    assert result.exit_code == 2
    assert "limit" in result.stderr
    ok(tmp_path, "set", "-n", "small", "k", "{}")


def test_create_twice_is_a_conflict_unless_exist_ok(tmp_path: Path) -> None:
    ok(tmp_path, "ns", "create", "diary", "--json")
    result = run(tmp_path, "ns", "create", "diary")
    assert result.exit_code == 3
    assert "already exists" in result.stderr
    ok(tmp_path, "ns", "create", "diary", "--exist-ok")


def test_bad_names_and_values_exit_2(tmp_path: Path) -> None:
    assert run(tmp_path, "ns", "create", "1bad").exit_code == 2
    assert run(tmp_path, "ns", "create", "good", "--keep-versions", "0").exit_code == 2
    assert run(tmp_path, "ns", "create", "good", "--default-ttl", "-1").exit_code == 2


def test_list_and_show_a_missing_namespace(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "v")
    ok(tmp_path, "ns", "create", "beta", "--keep-seconds", "86400")
    rows = [line.split("\t") for line in ok(tmp_path, "ns", "list").stdout.splitlines()]
    assert rows == [["beta", "1048576", "", "", "86400.0", "", "no"],
                    ["default", "1048576", "", "", "", "", "no"]]  # fmt: skip
    listed = json.loads(ok(tmp_path, "ns", "list", "--json").stdout)
    assert [n["name"] for n in listed] == ["beta", "default"]
    assert set(listed[0]) == SETTINGS
    assert run(tmp_path, "ns", "show", "gamma").exit_code == 1


def test_snapshot_writes_one_that_the_next_open_loads(tmp_path: Path) -> None:
    ok(tmp_path, "set", "k", "v")
    data = json.loads(ok(tmp_path, "snapshot", "--json").stdout)
    assert Path(data["path"]).is_file() and data["rev"] == 1
    assert paths.snapshots(tmp_path)[-1][1] == Path(data["path"])
    assert ok(tmp_path, "snapshot").stdout.startswith("snapshot written: ")
    with revkv.open(tmp_path) as store:
        assert store.backend.system.stats["snapshot_seq"] >= 1
        assert store.get("default", "k").payload == b"v"
