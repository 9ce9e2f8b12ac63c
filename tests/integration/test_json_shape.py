"""One JSON shape for a commit, wherever revkv writes one, against a real server.

The same commits (a text put, a binary put by another author, a delete) are read
through every door that writes a commit as JSON: the HTTP answers (`PUT`, `X-Revkv-Meta`
of `GET` and `/meta`, history, `/txn`), `/changes`, the SSE watch and its long poll,
`revkv get --json`, `revkv history --json`, `revkv watch --json` and `revkv export`.
Each must give the same fields with the same values, in the same order; Rainer's own
answers keep Rainer's shape and agree with it. Every JSON body ends with `\\r\\n`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import revkv
from revkv._model import parse_time
from tests.integration.test_cli_url import invoke
from tests.servers import RevkvServer

NS = "shapes"
FIELDS = ["namespace", "key", "version", "rev", "author", "comment", "mtime", "expires",
          "deleted"]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RevkvServer]:
    with RevkvServer(tmp_path_factory.mktemp("served")) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: RevkvServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def written(http: httpx.Client) -> list[dict[str, Any]]:
    """The three commits, as the writes answered them."""
    answers = [
        http.put(f"/kv/{NS}/doc", content="héllo", headers={"X-Revkv-Author": "ann"}),
        http.put(f"/kv/{NS}/bin", content=b"\xff\x00", headers={"X-Revkv-Comment": "raw"}),
        http.delete(f"/kv/{NS}/doc", headers={"X-Revkv-Author": "bob"}),
    ]
    assert [a.status_code for a in answers] == [201, 201, 200]
    return [json.loads(a.content) for a in answers]


def metas(commits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The commits without their payloads, keeping the order of their fields."""
    return [{k: v for k, v in c.items() if not k.startswith("payload")} for c in commits]


def test_a_written_commit_has_the_one_shape(written: list[dict[str, Any]]) -> None:
    assert [list(c) for c in written] == [FIELDS] * 3
    assert [(c["key"], c["version"], c["deleted"]) for c in written] == [
        ("doc", 1, False), ("bin", 1, False), ("doc", 2, True)]  # fmt: skip
    assert [c["rev"] for c in written] == [1, 2, 3]
    assert all(c["mtime"].endswith("Z") and parse_time(c["mtime"]) > 0 for c in written)


def test_the_meta_headers_and_history_say_the_same(
    http: httpx.Client, written: list[dict[str, Any]]
) -> None:
    doc, binary, tomb = written
    assert json.loads(http.get(f"/kv/{NS}/bin").headers["x-revkv-meta"]) == binary
    assert json.loads(http.get(f"/kv/{NS}/doc/1/meta").headers["x-revkv-meta"]) == doc
    assert json.loads(http.get(f"/kv/{NS}/doc/meta").headers["x-revkv-meta"]) == tomb
    history = json.loads(http.get(f"/kv/{NS}/doc/history").content)
    assert history["items"] == [tomb, doc]


def test_rainer_answers_keep_rainers_shape_and_agree(
    http: httpx.Client, written: list[dict[str, Any]]
) -> None:
    tomb = written[2]
    rainer = json.loads(http.get(f"/kv/{NS}/doc/meta").content)
    assert list(rainer) == ["key", "version", "author", "comment", "mtime", "empty"]
    assert {k: rainer[k] for k in ("key", "version", "author", "comment")} == {
        k: tomb[k] for k in ("key", "version", "author", "comment")}  # fmt: skip
    assert rainer["empty"] is tomb["deleted"] is True
    assert tomb["mtime"].startswith(rainer["mtime"][:-1])  # Rainer's: to the millisecond


def test_changes_and_watches_carry_the_same_commits(
    http: httpx.Client, written: list[dict[str, Any]]
) -> None:
    changes = json.loads(http.get("/changes", params={"since": 0, "namespace": NS}).content)
    assert [list(e) for e in changes["events"]] == [["type", "rev", "commit"]] * 3
    assert [e["commit"] for e in changes["events"]] == written
    assert [e["type"] for e in changes["events"]] == ["put", "put", "delete"]
    poll = json.loads(http.get(f"/watch/{NS}", params={"since": 0, "wait": "1s"}).content)
    assert poll["events"] == changes["events"]
    assert sse_events(http, 3) == changes["events"]
    query = {"since": 0, "namespace": NS, "payloads": "yes"}
    with_payloads = http.get("/changes", params=query).json()
    assert metas([e["commit"] for e in with_payloads["events"]]) == written
    payloads = [{k: v for k, v in e["commit"].items() if k.startswith("payload")}
                for e in with_payloads["events"]]  # fmt: skip
    assert payloads == [{"payload": "héllo"}, {"payload_base64": "/wA="}, {"payload": ""}]


def sse_events(http: httpx.Client, count: int) -> list[dict[str, Any]]:
    """The first `count` events of the SSE watch from rev 0."""
    found: list[dict[str, Any]] = []
    with http.stream("GET", f"/watch/{NS}", params={"since": 0}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                found.append(json.loads(line[len("data: ") :]))
                if len(found) == count:
                    return found
    raise AssertionError(f"the stream ended after {found}")


def test_the_cli_prints_the_same_commits(
    server: RevkvServer, written: list[dict[str, Any]]
) -> None:
    doc, binary, tomb = written
    url = ("--url", server.url)
    got = json.loads(invoke(*url, "get", "-n", NS, "bin", "--json").stdout)
    assert got == {**binary, "payload_base64": "/wA="}
    assert list(got) == [*FIELDS, "payload_base64"]
    old = json.loads(invoke(*url, "get", "-n", NS, "doc", "--version", "1", "--json").stdout)
    assert old == {**doc, "payload": "héllo"}
    assert json.loads(invoke(*url, "history", "-n", NS, "doc", "--json").stdout) == [tomb, doc]
    watched = invoke(*url, "watch", "-n", NS, "--since", "0", "--no-follow", "--json").stdout
    assert [json.loads(line)["commit"] for line in watched.splitlines()] == written


def test_export_writes_the_same_commits_and_imports_them_exactly(
    server: RevkvServer, written: list[dict[str, Any]], tmp_path: Path
) -> None:
    dump = invoke("--url", server.url, "export", "-n", NS, "-").stdout
    records = [json.loads(line) for line in dump.splitlines()]
    versions = [r for r in records if r["kind"] == "version"]
    exported = {(r["key"], r["version"]): {k: v for k, v in r.items() if k != "kind"}
                for r in versions}  # fmt: skip
    assert metas([exported["doc", 1], exported["bin", 1], exported["doc", 2]]) == written
    assert invoke("--data", str(tmp_path), "import", "-", input=dump).exit_code == 0
    with revkv.open(tmp_path) as store:
        metas_back = [store.meta(NS, "doc", 1), store.meta(NS, "bin", 1),
                      store.meta(NS, "doc", 2, include_deleted=True)]  # fmt: skip
        payloads = [store.get(NS, "doc", 1).payload, store.get(NS, "bin", 1).payload]
    assert [m.to_dict() | {"rev": 0} for m in metas_back] == [
        c | {"rev": 0} for c in written]  # fmt: skip
    assert [m.mtime for m in metas_back] == [parse_time(c["mtime"]) for c in written]
    assert payloads == ["héllo".encode(), b"\xff\x00"]


def test_the_client_reads_the_exact_time(
    server: RevkvServer, written: list[dict[str, Any]]
) -> None:
    with revkv.Client(server.url) as client:
        got = client.get(NS, "bin")
        history = client.history(NS, "doc").items
    assert got.to_dict() == written[1]
    assert got.mtime == parse_time(written[1]["mtime"])
    assert [m.to_dict() for m in history] == [written[2], written[0]]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/", None),
        ("GET", "/health", None),
        ("GET", "/ns", None),
        ("GET", "/kv", None),
        ("GET", f"/ns/{NS}", None),
        ("GET", f"/kv/{NS}", None),  # Rainer's listing
        ("GET", f"/kv/{NS}?limit=5", None),
        ("GET", f"/kv/{NS}/bin/meta", None),
        ("GET", f"/kv/{NS}/bin/history", None),
        ("GET", "/changes?since=0", None),
        ("GET", f"/watch/{NS}?since=0&wait=1s", None),
        ("GET", "/stats", None),
        ("GET", "/openapi.json", None),
        ("POST", "/txn", {"writes": [{"op": "put", "namespace": "other", "key": "t"}]}),
        ("GET", "/no/such/route", None),  # errors too
        ("PUT", "/kv/no%20such/k", None),
        ("POST", "/txn", {"writes": "no"}),
        ("PATCH", f"/kv/{NS}/bin", None),
    ],
)
def test_every_json_body_ends_with_crlf(
    http: httpx.Client, written: list[dict[str, Any]], method: str, path: str, body: Any
) -> None:
    answer = http.request(method, path, json=body)
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.content.endswith(b"}\r\n") or answer.content.endswith(b"]\r\n")
    json.loads(answer.content)


def test_the_root_sends_a_browser_to_the_page_and_tells_a_program_the_doors(
    http: httpx.Client,
) -> None:
    page = http.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert (page.status_code, page.headers["location"]) == (303, "/ui/")
    assert http.get("/", headers={"Accept": "text/html"}, follow_redirects=True).status_code == 200
    about = http.get("/", headers={"Accept": "application/json"})
    assert about.json() == {
        "name": "revkv",
        "version": revkv.__version__,
        "links": {"ui": "/ui/", "openapi": "/openapi.json", "kv": "/kv", "health": "/health"},
    }
    for link in about.json()["links"].values():
        assert http.get(link).status_code == 200, link
