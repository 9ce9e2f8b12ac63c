"""Purge against a real server: a marker string written, purged through the HTTP API
with an admin token, and then found nowhere: not in any answer, not in the change feed
or a watch's replay, and not in any file under the data directory, before and after a
restart."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx

from tests.servers import RevkvServer

ADMIN = "admin-token-0123456789ab"
WRITER = "writer-token-0123456789"
CONFIG = f"""
[[tokens]]
name = "admin"
token = "{ADMIN}"
rights = "read-write"

[[tokens]]
name = "app"
token = "{WRITER}"
rights = "read-write"
namespaces = ["app"]
"""
MARKER = b"MARKER-7f3a9c-leaked-secret"


def traces(data: bytes) -> bool:
    """Whether `data` holds the marker, verbatim or base64-encoded (in JSON answers)."""
    encoded = [base64.b64encode(MARKER[i:] + b"..")[:20] for i in range(3)]
    return MARKER in data or any(e in data for e in encoded)


def files_with_marker(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and MARKER in p.read_bytes()]


def answers_with_marker(client: httpx.Client) -> list[str]:
    urls = [
        "/changes?since=0&payloads=1",
        "/watch/app?since=0&wait=0&payloads=1",
        "/kv/app?payload_utf8=1",
        "/kv/app/db/history",
    ]
    return [url for url in urls if traces(client.get(url).content)]


def test_a_purged_marker_is_in_no_answer_and_no_file(tmp_path: Path) -> None:
    config = tmp_path / "revkv.toml"
    config.write_text(CONFIG)
    data = tmp_path / "data"
    admin = {"Authorization": f"Bearer {ADMIN}"}
    writer = {"Authorization": f"Bearer {WRITER}"}
    with (
        RevkvServer(data, "--config", str(config)) as server,
        httpx.Client(base_url=server.url, headers=admin) as client,
    ):
        assert client.put("/kv/app/db", content=MARKER, headers=writer).status_code == 201
        client.post("/compact")  # the marker in a snapshot and in an older segment too
        assert client.put("/kv/app/db", content=b"rotated", headers=writer).status_code == 200
        assert answers_with_marker(client) and files_with_marker(data)

        refused = client.delete("/kv/app/db/history", headers=writer)
        assert refused.status_code == 403  # a namespace's writer is no admin
        assert "admin token" in refused.json()["error"]["message"]
        purged = client.delete("/kv/app/db/history")
        assert purged.status_code == 200, purged.text
        assert purged.json()["purged"] == 1
        assert [m.get("purged", False) for m in purged.json()["items"]] == [False, True]

        gone = client.get("/kv/app/db/1", headers={"Accept": "application/json"})
        assert gone.status_code == 410
        assert gone.json()["error"]["code"] == "VersionPurged"
        assert client.get("/kv/app/db").content == b"rotated"
        assert answers_with_marker(client) == []
        assert files_with_marker(data) == []
    assert files_with_marker(data) == []  # the shutdown wrote nothing back
    with (
        RevkvServer(data, "--config", str(config)) as server,
        httpx.Client(base_url=server.url, headers=admin) as client,
    ):
        assert client.get("/kv/app/db/1").status_code == 410
        assert answers_with_marker(client) == []
    assert files_with_marker(data) == []


def test_compaction_over_http_removes_older_files(tmp_path: Path) -> None:
    config = tmp_path / "revkv.toml"
    config.write_text(CONFIG)
    data = tmp_path / "data"
    with RevkvServer(data, "--config", str(config)) as server:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            client.put("/kv/app/k", content=b"1")
            first = client.post("/compact").json()
            client.put("/kv/app/k", content=b"2")
            second = client.post("/compact").json()
            assert second["removed_files"] >= 2  # the first snapshot and its segment
            assert (data / second["snapshot"]).exists()
            assert not (data / first["snapshot"]).exists()
            names = sorted(p.name for p in data.iterdir())
            assert [n for n in names if n.startswith("snapshot-")] == [second["snapshot"]]
            assert len([n for n in names if n.startswith("journal-")]) == 1
            assert client.get("/kv/app/k/1").content == b"1"
