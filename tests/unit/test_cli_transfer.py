"""`revkv export` and `revkv import`: every version survives the round trip."""

from __future__ import annotations

import json
import time
from pathlib import Path

import revkv
from revkv._model import Commit, Put, parse_time
from tests.unit.test_cli_kv import ok, run

VERSION_FIELDS = {"kind", "namespace", "key", "version", "rev", "author", "comment", "mtime",
                  "expires", "deleted"}  # fmt: skip


def populate(data: Path) -> None:
    with revkv.open(data) as store:
        store.create_namespace("config", content_type="application/json", max_payload=1000)
        store.put("config", "app.json", b'{"v": 1}', author="ann", comment="first")
        store.put("config", "app.json", b'{"v": 2}', author="bob", comment="second")
        store.put("default", "bin", bytes(range(256)), author="cy")
        store.put("default", "temp", b"t", ttl=3600)
        store.put("default", "gone", b"x")
        store.delete("default", "gone", author="dee", comment="obsolete")
        store.put("default", "ünïcode/κλειδί", "värde")


def every_version(data: Path) -> list[Commit]:
    with revkv.open(data) as store:
        found = []
        for ns in store.namespaces():
            for head in store.list(ns.name, include_deleted=True).items:
                for version in range(1, head.version + 1):
                    found.append(store.get(ns.name, head.key, version))
        return found


def same(a: Commit, b: Commit) -> bool:
    return a.meta.to_dict() | {"rev": 0} == b.meta.to_dict() | {"rev": 0} and (
        a.mtime, a.expires, a.payload) == (b.mtime, b.expires, b.payload)  # fmt: skip


def test_export_then_import_keeps_every_version_as_it_was(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    populate(source)
    exported = ok(source, "export", str(tmp_path / "backup.jsonl"))
    assert exported.stderr == "exported 7 versions of 5 keys in 2 namespaces\n"
    imported = ok(target, "import", str(tmp_path / "backup.jsonl"))
    assert imported.stderr == "imported 7 versions and the settings of 2 namespaces\n"
    before, after = every_version(source), every_version(target)
    assert len(before) == len(after) == 7
    assert all(same(a, b) for a, b in zip(before, after, strict=True))
    with revkv.open(target) as store:
        config = store.get_namespace("config")
        assert (config.content_type, config.max_payload) == ("application/json", 1000)
        assert store.get("default", "temp").expires is not None


def test_the_file_is_json_lines_with_text_or_base64_payloads(tmp_path: Path) -> None:
    populate(tmp_path)
    records = [json.loads(line) for line in ok(tmp_path, "export", "-").stdout.splitlines()]
    assert [r["kind"] for r in records] == ["namespace"] + ["version"] * 2 + ["namespace"] + [
        "version"] * 5  # fmt: skip
    versions = [r for r in records if r["kind"] == "version"]
    assert all(set(r) - VERSION_FIELDS in ({"payload"}, {"payload_base64"}) for r in versions)
    by_key = {(r["key"], r["version"]): r for r in versions}
    assert "payload" not in by_key["bin", 1]
    assert by_key["ünïcode/κλειδί", 1] == {**by_key["ünïcode/κλειδί", 1], "payload": "värde"}
    assert by_key["gone", 2] == {**by_key["gone", 2], "deleted": True, "author": "dee",
                                 "comment": "obsolete", "payload": ""}  # fmt: skip
    assert isinstance(by_key["gone", 2]["mtime"], str)  # ISO 8601, as every JSON of revkv
    with revkv.open(tmp_path) as store:
        exact = store.meta("default", "gone", 2, include_deleted=True).mtime
    assert parse_time(by_key["gone", 2]["mtime"]) == exact


def test_export_only_some_namespaces_through_a_pipe(tmp_path: Path) -> None:
    populate(tmp_path / "source")
    dump = ok(tmp_path / "source", "export", "-n", "config", "-").stdout
    assert {json.loads(line).get("namespace", "config") for line in dump.splitlines()} == {"config"}
    ok(tmp_path / "target", "import", "-", input=dump)
    assert ok(tmp_path / "target", "get", "-n", "config", "app.json", "--version", "1").stdout == (
        '{"v": 1}'
    )
    assert run(tmp_path / "target", "get", "bin").exit_code == 1


def test_import_into_a_store_with_those_keys_is_a_conflict(tmp_path: Path) -> None:
    populate(tmp_path / "source")
    dump = ok(tmp_path / "source", "export", "-").stdout
    ok(tmp_path / "target", "set", "-n", "default", "gone", "mine")
    result = run(tmp_path / "target", "import", "-", input=dump)
    assert result.exit_code == 3
    assert "default/gone: the file has version 1 but the store's history" in result.stderr
    assert "import stopped: 2 versions imported" in result.stderr  # config came first


def test_a_bad_line_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    bad = '{"kind": "namespace", "name": "n"}\n{"namespace": "n", "key": "k"}\n'
    result = run(tmp_path, "import", "-", input=bad)
    assert result.exit_code == 2
    assert "line 2" in result.stderr
    result = run(tmp_path, "import", "-", input="not json\n")
    assert result.exit_code == 2 and "line 1" in result.stderr


def test_import_takes_hand_written_lines_with_iso_times(tmp_path: Path) -> None:
    lines = [
        {"namespace": "n", "key": "k", "version": 1, "mtime": "2020-01-02T03:04:05.5Z",
         "author": "ann", "payload": "one"},
        {"namespace": "n", "key": "k", "version": 2, "mtime": 1577934245.0, "payload": "dHdv",
         "base64": True},
    ]  # fmt: skip
    ok(tmp_path, "import", "-", input="".join(json.dumps(line) + "\n" for line in lines))
    with revkv.open(tmp_path) as store:
        first, second = store.get("n", "k", 1), store.get("n", "k", 2)
    assert (first.mtime, first.author, first.payload) == (1577934245.5, "ann", b"one")
    assert (second.mtime, second.payload) == (1577934245.0, b"two")
    result = run(
        tmp_path / "b", "import", "-", input=json.dumps({**lines[0], "mtime": "2020-01-02"})
    )
    assert result.exit_code == 2 and "zone" in result.stderr


def test_a_large_import_goes_in_batches(tmp_path: Path) -> None:
    now = time.time()
    lines = "".join(
        json.dumps({"namespace": "big", "key": f"k{i % 7}", "version": i // 7 + 1, "mtime": now,
                    "payload": str(i)}) + "\n"
        for i in range(2500)
    )  # fmt: skip
    assert ok(tmp_path, "import", "-", input=lines).stderr.startswith("imported 2500 versions")
    assert ok(tmp_path, "get", "-n", "big", "k3").stdout == "2495"


def test_a_namespace_with_retention_round_trips(tmp_path: Path) -> None:
    with revkv.open(tmp_path / "source") as store:
        store.create_namespace("short", keep_versions=2)
        for i in range(5):
            store.put("short", "k", str(i))
    dump = ok(tmp_path / "source", "export", "-").stdout
    ok(tmp_path / "target", "import", "-", input=dump)


def kept_versions(data: Path) -> list[Commit]:
    """Every version a store keeps (retention may have dropped the first ones)."""
    with revkv.open(data) as store:
        return [
            store.get(ns.name, head.key, meta.version)
            for ns in store.namespaces()
            for head in store.list(ns.name, include_deleted=True).items
            for meta in reversed(list(store.iter_history(ns.name, head.key)))
        ]


def test_import_keep_revs_restores_every_version_at_its_rev(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    populate(source)
    with revkv.open(source) as store:
        store.create_namespace("short", keep_versions=2)
        for n in range(5):  # retention leaves a gap of revs behind
            store.put("short", "k", f"v{n}")
        store.txn(
            [],
            [
                Put(namespace="default", key="t1", payload=b"1"),
                Put(namespace="short", key="t2", payload=b"2"),
            ],
        )  # one rev
        store.create_namespace("unused", max_payload=10)
        source_rev = store.rev
    ok(source, "export", str(tmp_path / "backup.jsonl"))
    imported = ok(target, "import", "--keep-revs", str(tmp_path / "backup.jsonl"))
    assert "at their revs" in imported.stderr
    before, after = kept_versions(source), kept_versions(target)
    assert [(c.namespace, c.key, c.version, c.rev) for c in before] == [
        (c.namespace, c.key, c.version, c.rev) for c in after
    ]
    assert len(before) == 7 + 2 + 2
    assert all(same(a, b) for a, b in zip(before, after, strict=True))
    with revkv.open(target) as store:
        assert store.get_namespace("short").keep_versions == 2
        assert store.get_namespace("unused").max_payload == 10
        assert store.get_namespace("config").max_payload == 1000
        assert store.rev >= max(c.rev for c in before)
        assert store.rev <= source_rev + 3  # at most the settings left without a free rev
        assert store.get("short", "t2").rev == store.get("default", "t1").rev
        store.put("default", "after", "x")  # and it goes on from there


def test_import_keep_revs_refuses_a_store_that_is_not_empty(tmp_path: Path) -> None:
    populate(tmp_path / "source")
    dump = ok(tmp_path / "source", "export", "-").stdout
    ok(tmp_path / "target", "set", "other", "mine")
    result = run(tmp_path / "target", "import", "--keep-revs", "-", input=dump)
    assert result.exit_code == 2
    assert "--keep-revs imports into an empty store only" in result.stderr
    assert ok(tmp_path / "target", "get", "other").stdout == "mine"


def test_import_keep_revs_refuses_a_file_without_revs(tmp_path: Path) -> None:
    line = {"namespace": "n", "key": "k", "version": 1, "mtime": 1577934245.0, "payload": "x"}
    result = run(tmp_path, "import", "--keep-revs", "-", input=json.dumps(line) + "\n")
    assert result.exit_code == 2
    assert "import it without --keep-revs" in result.stderr
    assert not (tmp_path / "SYSTEM").exists() or run(tmp_path, "list").stdout == ""


def test_purged_versions_export_and_import_purged(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    with revkv.open(source) as store:
        for i in range(1, 4):
            store.put("default", "secret", f"leaked {i}", author="ann", comment=f"c{i}")
        store.purge("default", "secret", before_version=3)
        store.put("default", "gone", b"x")
        store.purge("default", "gone", all_versions=True)
    ok(source, "export", str(tmp_path / "backup.jsonl"))
    lines = [json.loads(line) for line in (tmp_path / "backup.jsonl").read_text().splitlines()]
    purged = [r for r in lines if r.get("purged")]
    assert [(r["key"], r["version"], r["payload"]) for r in purged] == [
        ("gone", 1, ""),
        ("secret", 1, ""),
        ("secret", 2, ""),
    ]
    assert b"leaked 1" not in (tmp_path / "backup.jsonl").read_bytes()
    ok(target, "import", str(tmp_path / "backup.jsonl"))
    with revkv.open(target) as store:
        history = store.history("default", "secret").items
        assert [(m.version, m.purged, m.comment) for m in history] == [
            (3, False, "c3"),
            (2, True, "c2"),
            (1, True, "c1"),
        ]
        assert store.get("default", "secret").payload == b"leaked 3"
        assert store.head("default", "gone").purged
