"""The client's face and its wire details, without a server: twins, the seam, errors, paths.

`Client` and `AsyncClient` must stay twins (same methods, same parameters); the
transport seam takes `httpx.MockTransport`, which shows exactly what goes on the wire.
"""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime

import httpx
import pytest

import revkv
from revkv._model import DEFAULT
from revkv.client import _wire


def public(cls: type) -> dict[str, object]:
    return {name: value for name, value in vars(cls).items() if not name.startswith("_")}


SYNC_ONLY = {"namespace"}  # the handle is synchronous; AsyncClient users name the namespace


def test_the_twins_have_the_same_methods_and_parameters() -> None:
    sync, aio = public(revkv.Client), public(revkv.AsyncClient)
    assert sync.keys() - SYNC_ONLY == aio.keys()
    for name, method in sync.items():
        if name in SYNC_ONLY:
            continue
        twin = aio[name]
        if isinstance(method, property):
            assert isinstance(twin, property), name
            continue
        if name.startswith("iter_"):  # an iterator there, an async iterator here
            assert inspect.isasyncgenfunction(twin), name
        else:
            assert inspect.iscoroutinefunction(twin), name
        ours, theirs = inspect.signature(method), inspect.signature(twin)
        assert list(ours.parameters.values()) == list(theirs.parameters.values()), name


def mock(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx.MockTransport(handle)


def meta_json(**fields: object) -> dict[str, object]:
    return {
        "key": "a/b", "version": 2, "author": "ü", "comment": "", "empty": False,
        "mtime": "2026-01-02T03:04:05.678Z", "namespace": "ns", "rev": 7,
        "expires": None, **fields,
    }  # fmt: skip


def test_a_put_on_the_wire() -> None:
    seen: list[httpx.Request] = []
    answers = [httpx.Response(200, json=meta_json())]
    with revkv.Client("http://h/base", "s3cret", transport=mock(answers, seen)) as client:
        meta = client.put("ns", "a/b?#", b"\x00", expect=1, author="ü", comment="c", ttl=None)
    (request,) = seen
    assert request.method == "PUT"
    assert request.url.raw_path == b"/base/kv/ns/a%2Fb%3F%23?expect=1"
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.headers["accept"] == "application/json"
    assert dict(request.headers.raw)[b"X-Revkv-Author"] == "ü".encode()  # raw UTF-8
    assert (request.headers["x-revkv-comment"], request.headers["x-revkv-ttl"]) == ("c", "never")
    assert request.content == b"\x00"
    assert (meta.key, meta.version, meta.rev, meta.author) == ("a/b", 2, 7, "ü")
    assert meta.modified == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def test_get_reads_the_payload_then_the_version_meta() -> None:
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(200, content=b"body", headers={"X-Rainer-Version": "2"}),
        httpx.Response(200, json={"items": [meta_json()], "next": 1}),
    ]
    with revkv.Client("http://h", transport=mock(answers, seen)) as client:
        commit = client.get("ns", "a/b")
    assert [str(r.url) for r in seen] == [
        "http://h/kv/ns/a%2Fb",
        "http://h/kv/ns/a%2Fb/history?limit=1&before=3",
    ]
    assert (commit.payload, commit.version, commit.rev) == (b"body", 2, 7)


def test_a_tombstone_on_the_latest_route_is_not_found() -> None:
    answers = [httpx.Response(200, headers={"X-Rainer-Version": "3", "X-Rainer-Empty": "Yes"})]
    client = revkv.Client("http://h", transport=mock(answers, []))
    with client, pytest.raises(revkv.KeyNotFound) as info:
        client.get("ns", "k")
    assert (info.value.namespace, info.value.key) == ("ns", "k")


def error(status: int, code: str, **data: object) -> bytes:
    return json.dumps({"error": {"code": code, "message": f"{code}!", **data}}).encode()


def test_errors_come_back_as_their_class_with_their_data() -> None:
    conflict = _wire.error_of(
        409, error(409, "VersionConflict", current_version=4, exists=True), namespace="n",
        key="k", expected=9,
    )  # fmt: skip
    assert isinstance(conflict, revkv.VersionConflict)
    assert (conflict.current_version, conflict.next_version, conflict.exists) == (4, 5, True)
    assert (conflict.namespace, conflict.key, conflict.expected) == ("n", "k", 9)
    assert str(conflict) == "VersionConflict!"
    compacted = _wire.error_of(410, error(410, "Compacted", oldest_rev=50), requested_rev=3)
    assert isinstance(compacted, revkv.Compacted)
    assert (compacted.requested_rev, compacted.oldest_rev) == (3, 50)
    failed = [{"namespace": "n", "key": "k", "expected": 1, "actual": None}]
    txn = _wire.error_of(409, error(409, "TxnConflict", failed=failed))
    assert isinstance(txn, revkv.TxnConflict)
    assert txn.failed == [("n", "k", 1, None)]
    too_large = _wire.error_of(413, error(413, "PayloadTooLarge", limit=10))
    assert isinstance(too_large, revkv.PayloadTooLarge)
    assert too_large.limit == 10


def test_unknown_answers_fall_back_on_the_status() -> None:
    assert type(_wire.error_of(405, error(405, "MethodNotAllowed"))) is revkv.InvalidRequest
    proxy = _wire.error_of(404, b"<html>nope</html>")
    assert type(proxy) is revkv.NotFound
    assert str(proxy) == "<html>nope</html>"
    assert type(_wire.error_of(502, b"")) is revkv.RevkvError


def test_what_cannot_travel_is_refused_before_sending() -> None:
    with revkv.Client("http://127.0.0.1:9") as client:
        with pytest.raises(revkv.InvalidRequest, match="line break"):
            client.put("ns", "k", b"", comment="two\nlines")
        with pytest.raises(revkv.InvalidRequest, match="between 1970 and 9999"):
            client.put("ns", "k", b"", expires=-5.0)
        with pytest.raises(revkv.InvalidRequest, match="a century"):
            client.put("ns", "k", b"", ttl=1e20)
        with pytest.raises(revkv.InvalidKey):
            client.get("ns", "")


def test_ttl_and_expires_become_one_header() -> None:
    assert _wire.lifetime_headers(DEFAULT, DEFAULT) == {}
    assert _wire.lifetime_headers(2.5, DEFAULT) == {b"X-Revkv-TTL": b"2.5"}
    assert _wire.lifetime_headers(None, DEFAULT) == {b"X-Revkv-TTL": b"never"}
    assert _wire.lifetime_headers(DEFAULT, None) == {b"X-Revkv-Expires": b"never"}
    assert _wire.lifetime_headers(DEFAULT, 160.0) == {b"X-Revkv-Expires": b"160.0"}
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    assert _wire.lifetime_headers(DEFAULT, moment) == {
        b"X-Revkv-Expires": repr(moment.timestamp()).encode()
    }
    with pytest.raises(revkv.InvalidRequest, match="not both"):
        _wire.lifetime_headers(1, 160.0)


@pytest.mark.asyncio
async def test_an_in_process_transport_cannot_watch() -> None:
    transport = httpx.ASGITransport(lambda scope, receive, send: None)
    async with revkv.AsyncClient("http://revkv", transport=transport) as client:
        with pytest.raises(revkv.InvalidRequest, match="streams"):
            await client.watch(0)
