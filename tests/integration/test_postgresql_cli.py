"""The `revkv` command on PostgreSQL: `--db` for store commands, a store moved from a
directory into a database with `export | import` (every version, author and time kept),
and `db = ...` in a server's config file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import revkv
from tests.servers import ROOT, RevkvServer


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "USER": "ann"}
    return subprocess.run(
        [sys.executable, "-m", "revkv.cli", *args],
        input=stdin,
        capture_output=True,
        check=False,
        env=env,
    )


def test_store_commands_take_db(pg_url: str) -> None:
    assert run("--db", pg_url, "set", "cfg/a", "one").returncode == 0
    assert run("--db", pg_url, "set", "cfg/a", "two").returncode == 0
    got = run("--db", pg_url, "get", "cfg/a")
    assert (got.returncode, got.stdout) == (0, b"two")
    assert run("--db", pg_url, "get", "cfg/a", "--version", "1").stdout == b"one"


def test_db_with_url_or_data_is_a_usage_error(pg_url: str, tmp_path: Path) -> None:
    for other in (["--url", "http://127.0.0.1:1"], ["--data", str(tmp_path)]):
        done = run("--db", pg_url, *other, "get", "k")
        assert done.returncode == 2
        assert b"not both" in done.stderr


def test_a_directory_moves_into_a_database_with_every_version(pg_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with revkv.open(data) as store:
        store.create_namespace("cfg", keep_versions=10)
        store.put("cfg", "k", "1", author="ann", comment="first")
        store.put("cfg", "k", "2", author="bob")
        store.delete("cfg", "k", author="cy")
        store.put("cfg", "other", "x")
        before = [store.history("cfg", key).items for key in ("k", "other")]
    exported = run("--data", str(data), "export", "-")
    assert exported.returncode == 0, exported.stderr
    imported = run("--db", pg_url, "import", "-", stdin=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    with revkv.open(pg_url, sweep_interval=None) as moved:
        after = [moved.history("cfg", key).items for key in ("k", "other")]
        assert moved.get_namespace("cfg").keep_versions == 10
        assert moved.get("cfg", "k", 1).payload == b"1"
    strip = lambda metas: [(m.version, m.author, m.comment, m.mtime, m.deleted) for m in metas]  # noqa: E731
    assert [strip(m) for m in after] == [strip(m) for m in before]


class ConfiguredServer(RevkvServer):
    def where(self) -> list[str]:
        return []  # the config file says


def test_a_server_reads_db_from_its_config_file(pg_url: str, tmp_path: Path) -> None:
    config = tmp_path / "revkv.toml"
    config.write_text(f'db = "{pg_url}"\n')
    with revkv.open(pg_url, sweep_interval=None) as store:
        store.put("ns", "k", "in the database")
    with (
        ConfiguredServer(None, "--config", str(config)) as server,
        revkv.Client(server.url) as client,
    ):
        assert client.get("ns", "k").text == "in the database"
    assert not (tmp_path / "revkv-data").exists()


def test_stats_and_backup_on_a_database(pg_url: str, tmp_path: Path) -> None:
    assert run("--db", pg_url, "set", "-n", "cfg", "a", "one").returncode == 0
    assert run("--db", pg_url, "set", "-n", "cfg", "a", "three").returncode == 0
    done = run("--db", pg_url, "stats", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["backend"] == "postgresql"
    assert data["namespaces"]["cfg"] == {
        "keys": 1, "versions": 2, "payload_bytes": 8, "memory_bytes": None
    }  # fmt: skip
    assert data["disk"]["database_bytes"] > 0
    assert data["fsync_seconds"] is None
    text = run("--db", pg_url, "stats")
    assert b"cfg\t1\t2\t8\t-" in text.stdout  # memory: the database's business
    refused = run("--db", pg_url, "backup", str(tmp_path / "copy"))
    assert refused.returncode == 2
    assert b"pg_dump" in refused.stderr and b"Traceback" not in refused.stderr
    with RevkvServer(pg_url) as server:
        over_http = run("--url", server.url, "backup", str(tmp_path / "copy"))
    assert over_http.returncode == 2
    assert b"PostgreSQL" in over_http.stderr
    assert not (tmp_path / "copy").exists()
