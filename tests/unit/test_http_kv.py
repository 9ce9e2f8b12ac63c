"""The /kv door in process: Rainer's servlet contract byte for byte (reference/rainer-http.md
§5.2), then revkv's own verbs on the same paths."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio

import revkv
from revkv._auth import Auth
from revkv._config import Token
from revkv._service import Service
from revkv.http import create_app
from revkv.query import _parse as limits
from revkv.testing import open_service
from tests.asgi import asgi_client

pytestmark = pytest.mark.asyncio

JSON = {"Accept": "application/json"}
META_FIELDS = {"key", "version", "author", "comment", "mtime", "empty"}
JODA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TRUE_SPELLINGS = ["yes", "YES", "Yes", "true", "True", "TRUE", "1"]
FALSE_SPELLINGS = ["no", "NO", "No", "false", "False", "FALSE", "0"]


@pytest_asyncio.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(service)) as client:
        yield client


async def post(
    client: httpx.AsyncClient,
    path: str,
    body: bytes = b"",
    author: str | None = "dude",
    **headers: str | bytes,
) -> httpx.Response:
    """A Rainer POST as pyrainer sends it (octet-stream body, X-Rainer-* headers)."""
    sent: dict[str, str | bytes] = {"Content-Type": "application/octet-stream"}
    if author is not None:
        sent["X-Rainer-Author"] = author
    sent.update({k.replace("_", "-"): v for k, v in headers.items()})
    return await client.post(path, content=body, headers=sent)


def parse_crlf_json(response: httpx.Response) -> Any:
    assert response.headers["content-type"] == "application/json"
    assert response.content.endswith(b"\r\n")
    assert not response.content.endswith(b"\r\n\r\n")
    return json.loads(response.content)


def assert_text_error(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.content == text.encode()


def assert_json_error(response: httpx.Response, status: int, code: str | None = None) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    return error


# -- GET / : the listing -------------------------------------------------------------------


async def test_list_of_nothing_is_an_empty_object_and_crlf(client: httpx.AsyncClient) -> None:
    for path in ("/kv/things", "/kv/things/"):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.content == b"{}\r\n"


async def test_list_shows_latest_metas_and_hides_empty_commits_unless_all(
    client: httpx.AsyncClient,
) -> None:
    await post(client, "/kv/things/a/1", b'{"s": "hey"}', X_Rainer_Comment="first")
    await post(client, "/kv/things/a/2", b'{"s": "rofl"}', author="xxx", X_Rainer_Comment="yyy")
    await post(client, "/kv/things/b/1", b"bee")
    await post(client, "/kv/things/b/2", X_Rainer_Empty="yes")

    listing = parse_crlf_json(await client.get("/kv/things"))
    assert list(listing) == ["a"]
    assert set(listing["a"]) == META_FIELDS
    assert listing["a"]["version"] == 2
    assert listing["a"]["author"] == "xxx"
    assert listing["a"]["comment"] == "yyy"
    assert listing["a"]["empty"] is False
    assert JODA_TIME.match(listing["a"]["mtime"])

    everything = parse_crlf_json(await client.get("/kv/things?all=yes"))
    assert sorted(everything) == ["a", "b"]
    assert everything["b"] == {**everything["b"], "key": "b", "version": 2, "empty": True}
    assert set(everything["b"]) == META_FIELDS


@pytest.mark.parametrize("spelling", TRUE_SPELLINGS)
async def test_boolean_parameters_accept_every_true_spelling(
    client: httpx.AsyncClient, spelling: str
) -> None:
    await post(client, "/kv/things/a/1", "héllo".encode())
    await post(client, "/kv/things/gone/1", b"x")
    await post(client, "/kv/things/gone/2", X_Rainer_Empty=spelling)
    query = f"all={spelling}&payload_utf8={spelling}&payload_base64={spelling}"
    listing = parse_crlf_json(await client.get(f"/kv/things?{query}"))
    assert sorted(listing) == ["a", "gone"]
    assert listing["a"]["payload_utf8"] == "héllo"
    assert listing["a"]["payload_base64"] == base64.b64encode("héllo".encode()).decode()
    # an empty commit has no payload to show
    assert set(listing["gone"]) == META_FIELDS


@pytest.mark.parametrize("spelling", FALSE_SPELLINGS)
async def test_boolean_parameters_accept_every_false_spelling(
    client: httpx.AsyncClient, spelling: str
) -> None:
    await post(client, "/kv/things/a/1", b"x")
    await post(client, "/kv/things/gone/1", b"x")
    await post(client, "/kv/things/gone/2", X_Rainer_Empty="yes")
    query = f"all={spelling}&payload_utf8={spelling}&payload_base64={spelling}"
    listing = parse_crlf_json(await client.get(f"/kv/things?{query}"))
    assert list(listing) == ["a"]
    assert set(listing["a"]) == META_FIELDS


@pytest.mark.parametrize("name", ["all", "payload_utf8", "payload_base64"])
@pytest.mark.parametrize("value", ["maybe", "", "2", "y", "on", "yes please"])
async def test_a_bad_boolean_is_400_with_rainers_text(
    client: httpx.AsyncClient, name: str, value: str
) -> None:
    response = await client.get("/kv/things", params={name: value})
    assert_text_error(response, 400, f"Invalid '{name}' parameter (should be boolean)")
    as_json = await client.get("/kv/things", params={name: value}, headers=JSON)
    error = assert_json_error(as_json, 400, "InvalidRequest")
    assert error["message"] == f"Invalid '{name}' parameter (should be boolean)"


async def test_bad_all_is_reported_before_the_payload_parameters(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/kv/things?payload_base64=x&payload_utf8=x&all=x")
    assert_text_error(response, 400, "Invalid 'all' parameter (should be boolean)")
    response = await client.get("/kv/things?payload_base64=x&payload_utf8=x")
    assert_text_error(response, 400, "Invalid 'payload_utf8' parameter (should be boolean)")


async def test_payload_utf8_replaces_undecodable_bytes(client: httpx.AsyncClient) -> None:
    await post(client, "/kv/things/bin/1", b"ok\xff\xfe")
    listing = parse_crlf_json(await client.get("/kv/things?payload_utf8=1&payload_base64=1"))
    assert listing["bin"]["payload_utf8"] == "ok\ufffd\ufffd"
    assert base64.b64decode(listing["bin"]["payload_base64"]) == b"ok\xff\xfe"


# -- GET /:key, /:key/:version --------------------------------------------------------------


async def test_get_key_answers_payload_with_rainer_headers(client: httpx.AsyncClient) -> None:
    created = await post(client, "/kv/things/what/1", b'{"s": "hey"}', X_Rainer_Comment="stuff")
    meta = parse_crlf_json(created)
    for path in ("/kv/things/what", "/kv/things/what/1"):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.content == b'{"s": "hey"}'
        assert response.headers["content-type"] == "text/plain; charset=UTF-8"
        assert response.headers["x-rainer-key"] == "what"
        assert response.headers["x-rainer-version"] == "1"
        assert response.headers["x-rainer-author"] == "dude"
        assert response.headers["x-rainer-comment"] == "stuff"
        assert response.headers["x-rainer-modified-time"] == meta["mtime"]
        assert JODA_TIME.match(response.headers["x-rainer-modified-time"])
        assert response.headers["x-rainer-empty"] == "No"


async def test_get_a_version_gives_that_version(client: httpx.AsyncClient) -> None:
    await post(client, "/kv/things/what/1", b"one")
    await post(client, "/kv/things/what/2", b"two")
    assert (await client.get("/kv/things/what")).content == b"two"
    first = await client.get("/kv/things/what/1")
    assert first.content == b"one"
    assert first.headers["x-rainer-version"] == "1"


async def test_binary_payload_is_octet_stream_and_verbatim(client: httpx.AsyncClient) -> None:
    payload = bytes(range(256))
    assert (await post(client, "/kv/things/blob/1", payload)).status_code == 200
    response = await client.get("/kv/things/blob")
    assert response.content == payload
    assert response.headers["content-type"] == "application/octet-stream"


async def test_empty_commit_is_200_empty_with_x_rainer_empty_yes(
    client: httpx.AsyncClient,
) -> None:
    await post(client, "/kv/things/what/1", b"hey")
    await post(client, "/kv/things/what/2", X_Rainer_Empty="Yes")
    for path in ("/kv/things/what", "/kv/things/what/2"):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.content == b""
        assert response.headers["x-rainer-empty"] == "Yes"
        assert response.headers["x-rainer-version"] == "2"
    assert (await client.get("/kv/things/what/1")).content == b"hey"


@pytest.mark.parametrize(
    "path",
    [
        "/kv/things/what",
        "/kv/things/what/1",
        "/kv/things/what/meta",
        "/kv/things/what/1/meta",
        "/kv/things/known/2",
        "/kv/things/known/2/meta",
        "/kv/nowhere/known",
        "/kv/nowhere/known/1/meta",
    ],
)
async def test_not_found_is_rainers_plain_text(client: httpx.AsyncClient, path: str) -> None:
    await post(client, "/kv/things/known/1", b"x")
    assert_text_error(await client.get(path), 404, "Key not found")
    assert_json_error(await client.get(path, headers=JSON), 404)


# -- meta ----------------------------------------------------------------------------------


async def test_meta_routes_answer_crlf_json(client: httpx.AsyncClient) -> None:
    await post(client, "/kv/things/what/1", b"a", X_Rainer_Comment="stuff")
    await post(client, "/kv/things/what/2", b"b", author="xxx", X_Rainer_Comment="yyy")
    latest = parse_crlf_json(await client.get("/kv/things/what/meta"))
    assert latest == {**latest, "key": "what", "version": 2, "author": "xxx", "comment": "yyy"}
    assert latest["empty"] is False
    assert set(latest) == META_FIELDS
    first = parse_crlf_json(await client.get("/kv/things/what/1/meta"))
    assert first == {**first, "version": 1, "author": "dude", "comment": "stuff"}
    meta_bytes = (await client.get("/kv/things/what/1/meta")).content
    assert meta_bytes == json.dumps(first, separators=(",", ":")).encode() + b"\r\n"


async def test_meta_of_an_empty_commit_says_empty(client: httpx.AsyncClient) -> None:
    await post(client, "/kv/things/what/1", b"a")
    await post(client, "/kv/things/what/2", X_Rainer_Empty="true")
    assert parse_crlf_json(await client.get("/kv/things/what/meta"))["empty"] is True


async def test_meta_wins_over_a_version_route(client: httpx.AsyncClient) -> None:
    await post(client, "/kv/things/what/1", b"payload")
    response = await client.get("/kv/things/what/meta")
    assert response.headers["content-type"] == "application/json"
    assert parse_crlf_json(response)["key"] == "what"
    # a key may itself be called "meta": it is the key segment, not a route
    await post(client, "/kv/things/meta/1", b"i am meta")
    assert (await client.get("/kv/things/meta")).content == b"i am meta"
    assert parse_crlf_json(await client.get("/kv/things/meta/meta"))["key"] == "meta"


@pytest.mark.parametrize("version", ["abc", "--1", "-x", "1.5", "0x1", "\u0661"])
async def test_a_version_that_is_not_a_number_is_400_not_500(
    client: httpx.AsyncClient, version: str
) -> None:
    await post(client, "/kv/things/what/1", b"x")
    segment = quote(version, safe="")
    for method, path in [
        ("GET", f"/kv/things/what/{segment}"),
        ("GET", f"/kv/things/what/{segment}/meta"),
        ("POST", f"/kv/things/what/{segment}"),
    ]:
        response = await client.request(method, path, headers={"X-Rainer-Author": "a"})
        assert response.status_code == 400, (method, path, response.text)
        assert "is not a version number" in response.text


@pytest.mark.parametrize("version", ["0", "-1", "-42"])
async def test_a_version_below_1_reads_as_rainers_key_not_found(
    client: httpx.AsyncClient, version: str
) -> None:
    """Rainer's servlet reads any integer (`toInt`) and finds no such version: 404 with
    its body, so pyrainer's `get_commit(key, 0)` sees "not found", not a 400."""
    await post(client, "/kv/things/what/1", b"x")
    for path in (f"/kv/things/what/{version}", f"/kv/things/what/{version}/meta"):
        response = await client.get(path)
        assert (response.status_code, response.text) == (404, "Key not found"), path
    assert (await client.head(f"/kv/things/what/{version}")).status_code == 404


# -- POST /:key/:version --------------------------------------------------------------------


async def test_post_is_200_with_the_new_meta(client: httpx.AsyncClient) -> None:
    response = await post(client, "/kv/things/what/1", b'{"s": "hey"}', X_Rainer_Comment="c")
    assert response.status_code == 200
    meta = parse_crlf_json(response)
    assert set(meta) == META_FIELDS
    assert meta == {**meta, "key": "what", "version": 1, "author": "dude", "comment": "c"}
    assert meta["empty"] is False
    assert JODA_TIME.match(meta["mtime"])
    assert response.content == json.dumps(meta, separators=(",", ":")).encode() + b"\r\n"


async def test_post_comment_is_optional(client: httpx.AsyncClient) -> None:
    meta = parse_crlf_json(await post(client, "/kv/things/what/1", b"x"))
    assert meta["comment"] == ""


async def test_post_without_author_is_400(client: httpx.AsyncClient) -> None:
    response = await post(client, "/kv/things/what/1", b"x", author=None, X_Rainer_Comment="c")
    assert_text_error(response, 400, "Missing header: X-Rainer-Author")
    assert (await client.get("/kv/things/what")).status_code == 404


@pytest.mark.parametrize(
    ("spelling", "empty"),
    [*((s, True) for s in TRUE_SPELLINGS), *((s, False) for s in FALSE_SPELLINGS)],
)
async def test_post_x_rainer_empty_spellings(
    client: httpx.AsyncClient, spelling: str, empty: bool
) -> None:
    await post(client, "/kv/things/what/1", b"x")
    body = b"" if empty else b"y"
    meta = parse_crlf_json(await post(client, "/kv/things/what/2", body, X_Rainer_Empty=spelling))
    assert meta["empty"] is empty
    assert meta["version"] == 2


@pytest.mark.parametrize("value", ["maybe", "", "Y", "2", "nope"])
async def test_post_malformed_x_rainer_empty(client: httpx.AsyncClient, value: str) -> None:
    response = await post(client, "/kv/things/what/1", b"", X_Rainer_Empty=value)
    assert_text_error(response, 400, "Malformed header: X-Rainer-Empty")


async def test_post_empty_with_a_payload_is_400(client: httpx.AsyncClient) -> None:
    await post(client, "/kv/things/what/1", b"x")
    response = await post(client, "/kv/things/what/2", b"not empty", X_Rainer_Empty="yes")
    assert_text_error(response, 400, "Empty payload required with X-Rainer-Empty")


async def test_post_echoed_key_and_version_must_match_the_url(
    client: httpx.AsyncClient,
) -> None:
    response = await post(client, "/kv/things/what/1", b"x", X_Rainer_Key="other")
    assert_text_error(response, 400, "X-Rainer-Key must match URL key, or be omitted")
    response = await post(client, "/kv/things/what/1", b"x", X_Rainer_Version="2")
    assert_text_error(response, 400, "X-Rainer-Version must match URL version, or be omitted")
    # checked before the author, as Rainer does
    response = await post(client, "/kv/things/what/1", b"x", author=None, X_Rainer_Key="o")
    assert_text_error(response, 400, "X-Rainer-Key must match URL key, or be omitted")
    ok = await post(client, "/kv/things/what/1", b"x", X_Rainer_Key="what", X_Rainer_Version="1")
    assert ok.status_code == 200


async def test_post_modified_time_must_be_a_time(client: httpx.AsyncClient) -> None:
    response = await post(client, "/kv/things/w/1", b"x", X_Rainer_Modified_Time="yesterday")
    assert_text_error(response, 400, "Malformed header: X-Rainer-Modified-Time")
    fine = await post(client, "/kv/things/w/1", b"x", X_Rainer_Modified_Time="2014-01-02T03:04Z")
    assert fine.status_code == 200


async def test_post_modified_time_becomes_the_mtime(client: httpx.AsyncClient) -> None:
    stamp = "2014-01-02T03:04:05.006Z"
    meta = parse_crlf_json(await post(client, "/kv/things/w/1", b"x", X_Rainer_Modified_Time=stamp))
    assert meta["mtime"] == stamp


@pytest.mark.parametrize(
    ("existing", "posted"), [(0, 2), (1, 1), (1, 3), (2, 1), (0, 0), (1, 0), (0, -1), (2, -5)]
)
async def test_post_of_a_version_not_next_is_409_with_rainers_conflict(
    client: httpx.AsyncClient, existing: int, posted: int
) -> None:
    for version in range(1, existing + 1):
        await post(client, f"/kv/things/what/{version}", b"x")
    response = await post(client, f"/kv/things/what/{posted}", b"y")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/json"
    expected = {"key": "what", "expectedVersion": existing + 1, "providedVersion": posted}
    assert response.content == json.dumps({"conflict": expected}).replace(" ", "").encode() + (
        b"\r\n"
    )
    as_json = await post(client, f"/kv/things/what/{posted}", b"y", Accept="application/json")
    error = assert_json_error(as_json, 409, "VersionConflict")
    assert error["current_version"] == existing


async def test_any_payload_bytes_are_accepted_by_default(client: httpx.AsyncClient) -> None:
    for version, payload in enumerate([b"lol", b"[1, 2]", b"\x00\xff", b"", b'"s"'], start=1):
        response = await post(client, f"/kv/things/what/{version}", payload)
        assert response.status_code == 200, response.text
        assert (await client.get(f"/kv/things/what/{version}")).content == payload


async def test_json_objects_only_namespace_refuses_other_payloads(
    client: httpx.AsyncClient,
) -> None:
    created = await client.put("/ns/strict", json={"json_objects_only": True})
    assert created.status_code == 200
    for payload in (b"lol", b"[1, 2]", b'"s"', b""):
        response = await post(client, "/kv/strict/what/1", payload)
        assert response.status_code == 400
        assert response.text.startswith("Malformed input: ")
    assert (await post(client, "/kv/strict/what/1", b'{"s": "hey"}')).status_code == 200
    # an empty commit carries no payload to check
    assert (await post(client, "/kv/strict/what/2", X_Rainer_Empty="yes")).status_code == 200


async def test_empty_commit_of_a_new_or_empty_key(client: httpx.AsyncClient) -> None:
    first = await post(client, "/kv/things/fresh/1", X_Rainer_Empty="yes")
    assert first.status_code == 200
    assert parse_crlf_json(first)["empty"] is True
    again = await post(client, "/kv/things/fresh/2", X_Rainer_Empty="yes")
    assert again.status_code == 200


KEYS = [
    "a/b",
    "a/b/c/1",
    "what?x=1&y=2",
    "frag#ment",
    "with space",
    "100%",
    "plus+sign",
    "ünïcødé",
    "ключ/значение",
    "🔑",
    "history",
    "1",
]


@pytest.mark.parametrize("key", KEYS)
async def test_keys_with_reserved_characters_travel_percent_encoded(
    client: httpx.AsyncClient, key: str
) -> None:
    path = f"/kv/things/{quote(key, safe='')}"
    meta = parse_crlf_json(await post(client, f"{path}/1", b"v1"))
    assert meta["key"] == key
    await post(client, f"{path}/2", b"v2", X_Rainer_Key=key.encode())
    response = await client.get(path)
    assert response.content == b"v2"
    assert response.headers.raw  # the header carries the key's UTF-8 bytes
    raw_key = dict(response.headers.raw)[b"x-rainer-key"]
    assert raw_key.decode("utf-8") == key
    assert (await client.get(f"{path}/1")).content == b"v1"
    assert parse_crlf_json(await client.get(f"{path}/meta"))["key"] == key
    assert parse_crlf_json(await client.get(f"{path}/1/meta"))["version"] == 1
    assert key in parse_crlf_json(await client.get("/kv/things"))


async def test_a_path_that_is_not_utf8_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/kv/things/%FF%FE")
    assert response.status_code == 400


async def test_unknown_routes_and_methods(client: httpx.AsyncClient) -> None:
    await post(client, "/kv/things/what/1", b"x")
    assert_json_error(await client.get("/kv/things/what/1/meta/x"), 404, "NoSuchRoute")
    assert_json_error(await client.get("/kv/things/what/1/2"), 404, "NoSuchRoute")
    not_allowed = await client.delete("/kv/things")
    assert_json_error(not_allowed, 405, "MethodNotAllowed")
    assert not_allowed.headers["allow"] == "GET, HEAD"
    assert (await client.post("/kv/things/what")).status_code == 405
    assert (await client.put("/kv/things/what/meta")).status_code == 405


async def test_namespaces_listing(client: httpx.AsyncClient) -> None:
    await post(client, "/kv/things/what/1", b"x")
    response = await client.get("/kv/")
    assert response.status_code == 200
    assert [ns["name"] for ns in response.json()] == ["things"]


# -- revkv's verbs: PUT, DELETE, history, revert, diff, HEAD ---------------------------------


async def test_put_creates_201_then_200_with_etags(client: httpx.AsyncClient) -> None:
    first = await client.put("/kv/things/k", content=b"one", headers={"X-Revkv-Author": "me"})
    assert first.status_code == 201
    assert first.headers["etag"] == '"1"'
    meta = parse_crlf_json(first)
    assert meta == {**meta, "key": "k", "version": 1, "author": "me", "namespace": "things"}
    assert meta["rev"] >= 1
    assert meta["expires"] is None
    second = await client.put("/kv/things/k", content=b"two")
    assert second.status_code == 200
    assert second.headers["etag"] == '"2"'
    assert (await client.get("/kv/things/k")).headers["etag"] == '"2"'


async def test_put_if_match(client: httpx.AsyncClient) -> None:
    await client.put("/kv/things/k", content=b"one")
    updated = await client.put("/kv/things/k", content=b"two", headers={"If-Match": '"1"'})
    assert updated.status_code == 200
    assert updated.headers["etag"] == '"2"'
    stale = await client.put("/kv/things/k", content=b"three", headers={"If-Match": '"1"'})
    error = assert_json_error(stale, 412, "PreconditionFailed")
    assert error["current_version"] == 2
    weak = await client.put("/kv/things/k", content=b"three", headers={"If-Match": 'W/"2"'})
    assert weak.status_code == 200
    star = await client.put("/kv/things/k", content=b"four", headers={"If-Match": "*"})
    assert star.status_code == 200
    absent = await client.put("/kv/things/nope", content=b"x", headers={"If-Match": "*"})
    assert_json_error(absent, 412, "PreconditionFailed")
    garbage = await client.put("/kv/things/k", content=b"x", headers={"If-Match": "abc"})
    assert_json_error(garbage, 400)
    assert (await client.get("/kv/things/k")).content == b"four"


async def test_put_if_none_match_star_only_creates(client: httpx.AsyncClient) -> None:
    create_only = {"If-None-Match": "*"}
    created = await client.put("/kv/things/k", content=b"one", headers=create_only)
    assert created.status_code == 201
    exists = await client.put("/kv/things/k", content=b"two", headers=create_only)
    error = assert_json_error(exists, 412, "PreconditionFailed")
    assert error["current_version"] == 1
    await client.delete("/kv/things/k")
    again = await client.put("/kv/things/k", content=b"three", headers=create_only)
    assert again.status_code == 200
    assert again.headers["etag"] == '"3"'


async def test_put_with_expect_is_cas_on_the_version_read_409(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.put("/kv/things/k?expect=0", content=b"one")).status_code == 201
    conflict = await client.put("/kv/things/k?expect=5", content=b"x")
    error = assert_json_error(conflict, 409, "VersionConflict")
    assert (error["expected"], error["current_version"], error["exists"]) == (5, 1, True)
    assert "pass expect=1" in error["message"]
    assert (await client.put("/kv/things/k?expect=1", content=b"x")).status_code == 200
    assert (await client.put("/kv/things/k?expect=exists", content=b"y")).status_code == 200
    assert_json_error(await client.put("/kv/things/k?expect=absent", content=b"z"), 409)
    both = await client.put("/kv/things/k?expect=3", content=b"x", headers={"If-Match": '"3"'})
    assert_json_error(both, 400)
    for bad in ("-1", "two", "1.5", "9" * 5000, "²"):
        assert_json_error(await client.put(f"/kv/things/k?expect={bad}", content=b"x"), 400)


async def test_the_old_version_parameter_says_what_to_pass_instead(
    client: httpx.AsyncClient,
) -> None:
    await client.put("/kv/things/k", content=b"one")
    error = assert_json_error(await client.put("/kv/things/k?version=2", content=b"x"), 400)
    assert "?expect=" in error["message"]
    assert (await client.get("/kv/things/k")).content == b"one"


async def test_expired_but_unswept_keys_are_absent_to_every_write_condition(
    client: httpx.AsyncClient, service: Service
) -> None:
    """The regression: If-None-Match: * on an expired key answered 412 (head + 1)."""
    for key in ("a", "b", "c"):
        await client.put(f"/kv/things/{key}", content=b"old", headers={"X-Revkv-TTL": "0.05"})
    await asyncio.sleep(0.1)
    create_only = {"If-None-Match": "*"}
    created = await client.put("/kv/things/a", content=b"new", headers=create_only)
    assert created.status_code == 200, created.text
    assert created.headers["etag"] == '"3"'  # version 2 is the expiry's tombstone
    by_param = await client.put("/kv/things/b?expect=0", content=b"new")
    assert by_param.status_code == 200, by_param.text
    stale = await client.put("/kv/things/c", content=b"new", headers={"If-Match": '"1"'})
    error = assert_json_error(stale, 412, "PreconditionFailed")
    assert error["exists"] is False
    assert "If-None-Match: *" in error["message"]
    assert service.get("things", "a").payload == b"new"


async def test_delete_writes_a_tombstone(client: httpx.AsyncClient) -> None:
    await client.put("/kv/things/k", content=b"one")
    deleted = await client.delete("/kv/things/k", headers={"X-Revkv-Comment": "bye"})
    assert deleted.status_code == 200
    meta = parse_crlf_json(deleted)
    assert meta == {**meta, "version": 2, "deleted": True, "comment": "bye"}
    shown = await client.get("/kv/things/k")
    assert shown.status_code == 200
    assert shown.headers["x-rainer-empty"] == "Yes"
    assert "k" not in parse_crlf_json(await client.get("/kv/things"))
    # revkv's verbs answer JSON errors
    assert_json_error(await client.delete("/kv/things/k"), 404, "KeyNotFound")
    assert_json_error(await client.delete("/kv/things/never"), 404, "KeyNotFound")


ABSENT = {"X-Revkv-Absent": "404"}


async def test_a_deleted_key_is_404_to_a_request_that_asks_for_revkvs_answer(
    client: httpx.AsyncClient,
) -> None:
    """Rainer's empty 200 for a tombstone stays for Rainer's clients; revkv's is 404."""
    await client.put("/kv/things/k", content=b"one")
    await client.delete("/kv/things/k")
    rainer = await client.get("/kv/things/k")
    assert (rainer.status_code, rainer.content, rainer.headers["x-rainer-empty"]) == (
        200,
        b"",
        "Yes",
    )
    assert parse_crlf_json(await client.get("/kv/things/k/meta"))["empty"] is True
    assert_text_error(await client.get("/kv/things/k", headers=ABSENT), 404, "Key not found")
    assert (await client.head("/kv/things/k", headers=ABSENT)).status_code == 404
    assert_text_error(await client.get("/kv/things/k/meta", headers=ABSENT), 404, "Key not found")
    as_json = await client.get("/kv/things/k", headers={**ABSENT, **JSON})
    assert_json_error(as_json, 404, "KeyNotFound")
    # the tombstone itself is history, readable by its version
    assert (await client.get("/kv/things/k/2", headers=ABSENT)).status_code == 200
    await client.put("/kv/things/live", content=b"here")
    assert (await client.get("/kv/things/live", headers=ABSENT)).content == b"here"
    assert (await client.get("/kv/things/live/meta", headers=ABSENT)).status_code == 200


async def test_an_expired_and_swept_key_is_404_when_asked(
    client: httpx.AsyncClient, service: Service
) -> None:
    await client.put("/kv/things/k", content=b"x", headers={"X-Revkv-TTL": "0.01"})
    await asyncio.sleep(0.05)
    service.backend.sweep()  # the expiry's tombstone
    assert service.head("things", "k").comment == "expired"
    assert (await client.get("/kv/things/k")).headers["x-rainer-empty"] == "Yes"
    assert_text_error(await client.get("/kv/things/k", headers=ABSENT), 404, "Key not found")


@pytest.mark.parametrize("value", ["yes", "200", "", "404, 410"])
async def test_x_revkv_absent_takes_404_only(client: httpx.AsyncClient, value: str) -> None:
    await client.put("/kv/things/k", content=b"x")
    for path in ("/kv/things/k", "/kv/things/k/meta"):
        response = await client.get(path, headers={"X-Revkv-Absent": value, **JSON})
        error = assert_json_error(response, 400, "InvalidRequest")
        assert "X-Revkv-Absent takes 404" in error["message"]


async def test_revkvs_client_asks_for_absent_as_404(service: Service) -> None:
    """revkv's Client treats a deleted key as absent, and the server says so itself."""
    statuses: list[tuple[str, int]] = []

    class Recording(httpx.ASGITransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            statuses.append((request.url.path, response.status_code))
            return response

    transport = Recording(app=create_app(service))
    async with revkv.AsyncClient("http://test", transport=transport) as remote:
        await remote.put("things", "k", b"one")
        await remote.delete("things", "k")
        statuses.clear()
        with pytest.raises(revkv.KeyNotFound):
            await remote.get("things", "k")
        with pytest.raises(revkv.KeyNotFound):
            await remote.meta("things", "k")
        assert await remote.get("things", "k", default=None) is None
    assert statuses == [("/kv/things/k", 404), ("/kv/things/k/meta", 404), ("/kv/things/k", 404)]


async def test_delete_compare_and_set(client: httpx.AsyncClient) -> None:
    await client.put("/kv/things/k", content=b"one")
    await client.put("/kv/things/k", content=b"two")
    assert_json_error(await client.delete("/kv/things/k?expect=1"), 409, "VersionConflict")
    stale = await client.delete("/kv/things/k", headers={"If-Match": '"1"'})
    assert_json_error(stale, 412, "PreconditionFailed")
    assert (await client.delete("/kv/things/k?expect=2")).status_code == 200
    await client.put("/kv/things/j", content=b"one")
    assert (await client.delete("/kv/things/j", headers={"If-Match": '"1"'})).status_code == 200


async def test_history_pages_newest_first(client: httpx.AsyncClient) -> None:
    for n in range(1, 6):
        await client.put("/kv/things/k", content=f"v{n}".encode())
    pages, before = [], None
    while True:
        query = {"limit": 2} if before is None else {"limit": 2, "before": before}
        page = parse_crlf_json(await client.get("/kv/things/k/history", params=query))
        pages.append([item["version"] for item in page["items"]])
        before = page["next"]
        if before is None:
            break
    assert pages == [[5, 4], [3, 2], [1]]
    assert_json_error(await client.get("/kv/things/none/history"), 404)
    assert_json_error(await client.get("/kv/things/k/history?limit=0"), 400)
    assert_json_error(await client.get("/kv/things/k/history?limit=x"), 400)


async def test_revert_commits_an_old_payload_again(client: httpx.AsyncClient) -> None:
    await client.put("/kv/things/k", content=b"one")
    await client.put("/kv/things/k", content=b"two")
    reverted = await client.post("/kv/things/k/revert?to=1")
    assert reverted.status_code == 200
    assert parse_crlf_json(reverted)["version"] == 3
    assert (await client.get("/kv/things/k")).content == b"one"
    assert_json_error(await client.post("/kv/things/k/revert"), 400)
    assert_json_error(await client.post("/kv/things/k/revert?to=9"), 404)
    stale = await client.post("/kv/things/k/revert?to=2", headers={"If-Match": '"1"'})
    assert_json_error(stale, 412)
    assert (await client.get("/kv/things/k/revert")).status_code == 405


async def test_diff_of_two_versions(client: httpx.AsyncClient) -> None:
    await client.put("/kv/things/k", content=b"a\nb\n")
    await client.put("/kv/things/k", content=b"a\nc\n")
    response = await client.get("/kv/things/k/diff")
    assert response.status_code == 200
    assert response.text.splitlines() == ["--- k@1", "+++ k@2", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]
    same = await client.get("/kv/things/k/diff?from=2&to=2")
    assert same.text == ""
    await client.put("/kv/things/bin", content=b"\xff")
    await client.put("/kv/things/bin", content=b"\xfe")
    assert_json_error(await client.get("/kv/things/bin/diff"), 400)
    assert_json_error(await client.get("/kv/things/k/diff?from=7"), 404)


async def test_head_gives_the_headers_of_get(client: httpx.AsyncClient) -> None:
    await post(client, "/kv/things/what/1", b"payload")
    got = await client.get("/kv/things/what")
    head = await client.head("/kv/things/what")
    assert head.status_code == 200
    assert head.content == b""
    for name in ("x-rainer-version", "x-rainer-empty", "etag", "content-type", "content-length"):
        assert head.headers[name] == got.headers[name]
    assert (await client.head("/kv/things/what/1/meta")).status_code == 200
    assert (await client.head("/kv/things/none")).status_code == 404


@pytest.mark.parametrize("path", ["/kv/things/what", "/kv/things/what/2", "/kv/things/what/meta"])
async def test_if_none_match_gives_304(client: httpx.AsyncClient, path: str) -> None:
    await post(client, "/kv/things/what/1", b"one")
    await post(client, "/kv/things/what/2", b"two")
    for tag in ('"2"', 'W/"2"', '"1", "2"', "*"):
        response = await client.get(path, headers={"If-None-Match": tag})
        assert response.status_code == 304, tag
        assert response.content == b""
        assert response.headers["etag"] == '"2"'
    changed = await client.get(path, headers={"If-None-Match": '"1"'})
    assert changed.status_code == 200


async def test_ttl_from_header_and_parameter(client: httpx.AsyncClient) -> None:
    before = time.time()
    by_header = await client.put("/kv/things/h", content=b"x", headers={"X-Revkv-TTL": "60"})
    expires = parse_crlf_json(by_header)["expires"]
    assert expires is not None
    moment = time.mktime(time.strptime(expires[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert before + 58 < moment < time.time() + 61
    by_param = parse_crlf_json(await client.put("/kv/things/p?ttl=60", content=b"x"))
    assert by_param["expires"] is not None
    never = parse_crlf_json(await client.put("/kv/things/n?ttl=never", content=b"x"))
    assert never["expires"] is None
    rainer_post = await post(client, "/kv/things/r/1", b"x", X_Revkv_TTL="60")
    assert (await client.get("/kv/things/r/meta")).status_code == 200
    assert rainer_post.status_code == 200
    for bad in ("-1", "0", "soon", "nan", "inf"):
        assert_json_error(await client.put(f"/kv/things/b?ttl={bad}", content=b"x"), 400)


async def test_an_expired_key_is_gone(client: httpx.AsyncClient) -> None:
    await client.put("/kv/things/k", content=b"x", headers={"X-Revkv-TTL": "0.05"})
    await asyncio.sleep(0.3)
    assert_text_error(await client.get("/kv/things/k"), 404, "Key not found")
    assert_text_error(await client.get("/kv/things/k/meta"), 404, "Key not found")
    assert "k" not in parse_crlf_json(await client.get("/kv/things"))


async def test_an_expired_key_never_lists_as_live(client: httpx.AsyncClient) -> None:
    await client.put("/kv/things/k", content=b"x", headers={"X-Revkv-TTL": "0.05"})
    await asyncio.sleep(0.1)
    for query in ("all=yes", "all=yes&limit=10"):
        listing = parse_crlf_json(await client.get(f"/kv/things?{query}"))
        entries = listing["items"] if "items" in listing else listing.values()
        # gone, or (once the sweeper wrote its tombstone) an empty commit
        assert all(entry["empty"] for entry in entries), query


# -- extended listing -------------------------------------------------------------------------


async def fill(client: httpx.AsyncClient, keys: list[str]) -> None:
    for key in keys:
        await client.put(f"/kv/things/{quote(key, safe='')}", content=key.encode())


async def test_listing_pages_with_limit_and_start_after(client: httpx.AsyncClient) -> None:
    await fill(client, [f"k{n}" for n in range(5)])
    seen, after = [], None
    while True:
        query = {"limit": 2, **({"start_after": after} if after else {})}
        page = parse_crlf_json(await client.get("/kv/things", params=query))
        seen.append([item["key"] for item in page["items"]])
        after = page["next"]
        if after is None:
            break
    assert seen == [["k0", "k1"], ["k2", "k3"], ["k4"]]


async def test_listing_by_prefix(client: httpx.AsyncClient) -> None:
    await fill(client, ["app/a", "app/b", "apple", "other"])
    rainer_style = parse_crlf_json(await client.get("/kv/things?prefix=app/"))
    assert sorted(rainer_style) == ["app/a", "app/b"]
    paged = parse_crlf_json(await client.get("/kv/things?prefix=app&limit=10"))
    assert [i["key"] for i in paged["items"]] == ["app/a", "app/b", "apple"]


async def test_listing_with_filter_orderby_top_skip(client: httpx.AsyncClient) -> None:
    await fill(client, ["a", "b", "c", "d"])
    await client.put("/kv/things/b", content=b"again")
    await client.put("/kv/things/c", content=b"again")
    response = await client.get("/kv/things", params={"$filter": "Version gt 1"})
    body = parse_crlf_json(response)
    assert [i["key"] for i in body["items"]] == ["b", "c"]
    assert body["count"] == 2
    ordered = await client.get("/kv/things", params={"$orderby": "Key desc", "$top": 2})
    assert [i["key"] for i in parse_crlf_json(ordered)["items"]] == ["d", "c"]
    skipped = await client.get(
        "/kv/things", params={"$orderby": "Key", "$skip": 1, "$top": 2, "payload_utf8": "yes"}
    )
    items = parse_crlf_json(skipped)["items"]
    assert [(i["key"], i["payload_utf8"]) for i in items] == [("b", "again"), ("c", "again")]


async def test_extended_listing_of_an_unknown_namespace_is_empty(
    client: httpx.AsyncClient,
) -> None:
    paged = parse_crlf_json(await client.get("/kv/nothing?limit=5"))
    assert paged == {"items": [], "next": None}
    queried = parse_crlf_json(await client.get("/kv/nothing?$top=5"))
    assert queried == {"items": [], "count": 0}


async def test_malformed_filter_is_400_naming_the_position(client: httpx.AsyncClient) -> None:
    response = await client.get("/kv/things", params={"$filter": "Version eq"})
    error = assert_json_error(response, 400, "QuerySyntaxError")
    assert error["position"] == 10
    assert "position 10" in error["message"]
    unknown = await client.get("/kv/things", params={"$filter": "Nope eq 1"})
    assert_json_error(unknown, 400)
    mixed = await client.get("/kv/things", params={"$filter": "Version eq 1", "start_after": "a"})
    assert_json_error(mixed, 400)
    assert_json_error(await client.get("/kv/things", params={"$top": "-1"}), 400)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Key eq 1", "cannot compare Key (Edm.String) with 1 (Edm.Int32)"),
        ("year(Key) eq 2031", "year() needs an Edm.DateTime or an Edm.DateTimeOffset"),
        ("Key", "must be a boolean expression, but Key is an Edm.String"),
    ],
)
async def test_ill_typed_filter_is_400_naming_operand_and_types(
    client: httpx.AsyncClient, text: str, fragment: str
) -> None:
    await client.put("/kv/things/a", content=b"x")
    error = assert_json_error(await client.get("/kv/things", params={"$filter": text}), 400)
    assert fragment in error["message"]


async def test_filters_over_the_limits_are_400_naming_the_limit(client: httpx.AsyncClient) -> None:
    """One expression's cost per key is bounded before any key is read."""
    await fill(client, ["a"])
    many = " or ".join(f"Version eq {n}" for n in range(limits.MAX_TERMS // 2 + 1))
    error = assert_json_error(await client.get("/kv/things", params={"$filter": many}), 400)
    assert f"more than {limits.MAX_TERMS:,} terms" in error["message"]
    long = "Key eq '" + "x" * limits.MAX_LENGTH + "'"
    error = assert_json_error(await client.get("/kv/things", params={"$filter": long}), 400)
    assert f"over the limit of {limits.MAX_LENGTH:,}" in error["message"]
    calls = " or ".join(["length(Key) eq 1"] * (limits.MAX_CALLS + 1))
    error = assert_json_error(await client.get("/kv/things", params={"$orderby": calls}), 400)
    assert "function calls" in error["message"]


# -- 413 before the body is read whole ---------------------------------------------------------


class CountingBody:
    """A request body that counts how much of it the server pulled."""

    def __init__(self, chunks: int, size: int) -> None:
        self.chunks, self.size, self.sent = chunks, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.sent += 1
            yield b"x" * self.size


@pytest_asyncio.fixture
async def small(client: httpx.AsyncClient) -> str:
    assert (await client.put("/ns/small", json={"max_payload": 1000})).status_code == 200
    return "/kv/small"


async def test_413_over_the_namespace_limit(client: httpx.AsyncClient, small: str) -> None:
    assert (await client.put(f"{small}/k", content=b"x" * 1000)).status_code == 201
    error = assert_json_error(await client.put(f"{small}/k", content=b"x" * 1001), 413)
    assert error["limit"] == 1000
    over = await post(client, f"{small}/j/1", b"x" * 1001)
    assert over.status_code == 413
    assert over.headers["content-type"].startswith("text/plain")
    assert "1000" in over.text


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_413_from_content_length_without_reading_the_body(
    client: httpx.AsyncClient, small: str, method: str
) -> None:
    body = CountingBody(chunks=1000, size=10_000)
    path = f"{small}/k" if method == "PUT" else f"{small}/k/1"
    headers = {"Content-Length": str(1000 * 10_000), "X-Rainer-Author": "a"}
    response = await client.request(method, path, content=body, headers=headers)
    assert response.status_code == 413
    assert body.sent <= 1  # refused on the declared length; at most one chunk was pulled
    assert (await client.get(f"{small}/k")).status_code == 404


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_413_for_a_chunked_body_stops_reading_at_the_limit(
    client: httpx.AsyncClient, small: str, method: str
) -> None:
    body = CountingBody(chunks=1000, size=100)
    path = f"{small}/k" if method == "PUT" else f"{small}/k/1"
    response = await client.request(method, path, content=body, headers={"X-Rainer-Author": "a"})
    assert response.status_code == 413
    assert body.sent <= 12  # 1000 bytes of 100-byte chunks, and the one that went over


async def test_unknown_namespace_uses_the_default_limit(client: httpx.AsyncClient) -> None:
    too_big = (revkv._model.DEFAULT_MAX_PAYLOAD + 1) * b"x"
    assert_json_error(await client.put("/kv/fresh/k", content=too_big), 413)


async def test_bad_content_length_is_400(client: httpx.AsyncClient) -> None:
    response = await client.put("/kv/things/k", content=b"x", headers={"Content-Length": "-1"})
    assert response.status_code == 400


# -- every error as JSON when asked --------------------------------------------------------------

FAILING = [
    ("GET", "/kv/things/none", {}, b"", 404),
    ("GET", "/kv/things/none/meta", {}, b"", 404),
    ("GET", "/kv/things?all=maybe", {}, b"", 400),
    ("GET", "/kv/things/k/x", {}, b"", 400),
    ("POST", "/kv/things/k/1", {}, b"x", 400),
    ("POST", "/kv/things/k/1", {"X-Rainer-Author": "a", "X-Rainer-Empty": "?"}, b"", 400),
    ("POST", "/kv/things/k/5", {"X-Rainer-Author": "a"}, b"x", 409),
    ("POST", "/kv/small/k/2", {"X-Rainer-Author": "a"}, b"x" * 2000, 413),
    ("PUT", "/kv/things/k?expect=9", {}, b"x", 409),
    ("PUT", "/kv/things/k", {"If-Match": '"7"'}, b"x", 412),
    ("PUT", "/kv/small/k", {}, b"x" * 2000, 413),
    ("DELETE", "/kv/things/none", {}, b"", 404),
    ("DELETE", "/kv/things", {}, b"", 405),
    ("GET", "/kv/things?$filter=Key%20eq", {}, b"", 400),
    ("GET", "/kv/things/k/history?before=x", {}, b"", 400),
    ("GET", "/kv/1bad/k", {}, b"", 400),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "status"), FAILING)
async def test_every_error_is_json_when_asked(
    client: httpx.AsyncClient,
    small: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
) -> None:
    await client.put("/kv/things/k", content=b"x")
    await client.put("/kv/small/k", content=b"x")
    response = await client.request(method, path, content=body, headers={**headers, **JSON})
    assert_json_error(response, status)


# -- tokens ---------------------------------------------------------------------------------------


async def test_tokens_on_the_kv_door() -> None:
    writer = Token("deploy", "w" * 20, "read-write", ("things",))
    reader = Token("viewer", "r" * 20, "read", ("*",))
    service = open_service(auth=Auth((writer, reader)))
    transport = httpx.ASGITransport(app=create_app(service))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            anonymous = await client.get("/kv/things/k")
            assert anonymous.status_code == 401
            assert anonymous.headers["www-authenticate"].startswith("Bearer")
            assert anonymous.json()["error"]["code"] == "Unauthorized"
            as_writer = {"Authorization": f"Bearer {'w' * 20}"}
            as_reader = {"Authorization": f"Bearer {'r' * 20}"}
            put = await client.put("/kv/things/k", content=b"x", headers=as_writer)
            assert parse_crlf_json(put)["author"] == "deploy"
            assert (await client.get("/kv/things/k", headers=as_reader)).content == b"x"
            assert (await post(client, "/kv/things/k/2", b"y", **as_reader)).status_code == 403
            elsewhere = await client.put("/kv/other/k", content=b"x", headers=as_writer)
            assert elsewhere.status_code == 403
    finally:
        service.close()


async def test_rainer_posts_to_an_expired_key_count_its_expiry(client: httpx.AsyncClient) -> None:
    """Rainer names the version to write: after an unswept expiry of version 1 that is 3."""
    await client.put("/kv/things/t", content=b"old", headers={"X-Revkv-TTL": "0.05"})
    await asyncio.sleep(0.1)
    rainer = {"X-Rainer-Author": "gian"}
    early = await client.post("/kv/things/t/2", content=b"new", headers=rainer)
    assert early.status_code == 409
    assert parse_crlf_json(early)["conflict"] == {
        "key": "t", "expectedVersion": 3, "providedVersion": 2,
    }  # fmt: skip
    written = await client.post("/kv/things/t/3", content=b"new", headers=rainer)
    assert written.status_code == 200, written.text
    assert parse_crlf_json(written)["version"] == 3


async def test_if_none_match_on_delete_and_revert_is_a_condition_too(
    client: httpx.AsyncClient,
) -> None:
    await client.put("/kv/things/k", content=b"one")
    absent = {"If-None-Match": "*"}
    refused = await client.delete("/kv/things/k", headers=absent)
    assert_json_error(refused, 400)
    reverted = await client.post("/kv/things/k/revert?to=1", headers=absent)
    assert_json_error(reverted, 412, "PreconditionFailed")
    assert (await client.get("/kv/things/k/meta")).headers["etag"] == '"1"'
    await client.delete("/kv/things/k")
    back = await client.post("/kv/things/k/revert?to=1", headers=absent)
    assert back.status_code == 200
    assert back.headers["etag"] == '"3"'
