"""The web page's server side, in process: what each page shows, what each form does,
and what it refuses (CSRF, another origin, tokens), against a real Service."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

import revkv
from revkv._auth import Auth
from revkv._config import Token
from revkv._service import Service
from revkv.http import create_app
from revkv.http._ui._pages import browse
from revkv.http._ui._render import view
from revkv.testing import open_service
from tests.asgi import asgi_client

READER = Token("reader", "reader-token-0123456789", "read")
WRITER = Token("writer", "writer-token-0123456789", "read-write")
OWN = "http://test"


@pytest.fixture(params=["memory", "postgresql"])
def service(request: pytest.FixtureRequest) -> Iterator[Service]:
    """Every page on both kinds of store: over PostgreSQL its reads run on worker
    threads (`Service.reads_wait`), over memory in place."""
    if request.param == "memory":
        service = open_service()
    else:
        service = revkv.open(request.getfixturevalue("pg_url"), sweep_interval=None)
    yield service
    service.close()


@pytest_asyncio.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    service.create_namespace("app")
    async with asgi_client(create_app(service)) as client:
        yield client


async def csrf(client: httpx.AsyncClient, path: str = "/ui/") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', (await client.get(path)).text)
    assert match, "the page carries no CSRF token"
    return match.group(1)


async def post(client: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    return await client.post(
        path, data={"csrf": await csrf(client), **form}, headers={"Origin": OWN}
    )


@pytest.mark.asyncio
async def test_namespaces_show_their_key_counts_and_settings(
    client: httpx.AsyncClient, service: Service
):
    service.create_namespace("cfg", keep_versions=3, default_ttl=60)
    for i in range(7):
        service.put("cfg", f"k{i}", b"x")
    page = (await client.get("/ui/")).text
    assert re.search(r'data-count="cfg">7<', page)
    assert "newest 3" in page and "60.0 s" in page


def test_keys_fold_into_folders_and_pages_cover_every_entry_once(service: Service):
    service.create_namespace("tree")
    keys = [f"app/{i:03}" for i in range(150)] + [f"k{i:03}" for i in range(250)]
    keys += ["db/a/b", "db/c", "db/", "z"]
    for k in keys:
        service.put("tree", k, b"v")
    seen, after = [], None
    while True:
        entries, after = browse(service, "tree", "", after, 100)
        seen += [(e.path, e.folder) for e in entries]
        if after is None:
            break
    keys_only = [(f"k{i:03}", False) for i in range(250)]
    # the key "db/" itself is a key beside the folder "db/"
    assert seen == [("app/", True), ("db/", False), ("db/", True), *keys_only, ("z", False)]
    entries, after = browse(service, "tree", "db/", None, 100)
    assert [(e.path, e.folder) for e in entries] == [("db/a/", True), ("db/c", False)]
    assert after is None


@pytest.mark.asyncio
async def test_folders_are_links_to_the_prefix(client: httpx.AsyncClient, service: Service):
    service.put("app", "web/host", b"h")
    service.put("app", "web/port", b"80")
    page = (await client.get("/ui/ns/app")).text
    assert 'href="/ui/ns/app?prefix=web%2F"' in page
    inside = (await client.get("/ui/ns/app", params={"prefix": "web/"})).text
    assert "/ui/key/app?key=web%2Fhost" in inside and re.search(
        r">2</span> live keys under web/", inside
    )


@pytest.mark.asyncio
async def test_a_filter_error_shows_the_parsers_message_and_position(client: httpx.AsyncClient):
    page = (await client.get("/ui/ns/app", params={"filter": "Version gt"})).text
    assert 'id="filter-error"' in page
    match = re.search(r"<code>Version gt\n( *)\^</code>", page)
    assert match and len(match.group(1)) == len("Version gt")
    assert "at position 10" in page
    typed = (await client.get("/ui/ns/app", params={"filter": "Key eq 1"})).text
    assert 'id="filter-error"' in typed
    assert "cannot compare Key (Edm.String) with 1 (Edm.Int32)" in typed


@pytest.mark.asyncio
async def test_a_filter_lists_only_what_matches(client: httpx.AsyncClient, service: Service):
    for i in range(5):
        service.put("app", f"k{i}", b"x" * i)
    page = (await client.get("/ui/ns/app", params={"filter": "Size ge 3"})).text
    assert "2 matches" in page
    assert "key=k3" in page and "key=k4" in page and "key=k2" not in page


@pytest.mark.asyncio
async def test_values_show_as_json_text_or_hex(client: httpx.AsyncClient, service: Service):
    service.put("app", "j", b'{"b": [1, 2], "a": "x"}')
    service.put("app", "t", b"plain <text>")
    service.put("app", "bin", bytes(range(256)))
    json_page = (await client.get("/ui/key/app", params={"key": "j"})).text
    assert 'class="value json hl"' in json_page and 'class="nt"' in json_page  # highlighted
    text_page = (await client.get("/ui/key/app", params={"key": "t"})).text
    assert "plain &lt;text&gt;" in text_page
    bin_page = (await client.get("/ui/key/app", params={"key": "bin"})).text
    assert "Binary, 256 B" in bin_page and "00000000: 0001 0203" in bin_page
    raw = await client.get("/ui/raw/app", params={"key": "bin", "v": "1"})
    assert raw.content == bytes(range(256))
    assert raw.headers["content-disposition"].startswith("attachment")


def test_value_kinds() -> None:
    assert view(b"").kind == "empty"
    assert view(b"\x00\x01").kind == "binary"
    assert view("héllo\n".encode()).kind == "text"
    assert view(b"[1,2]").lines == ["[", "  1,", "  2", "]"]


@pytest.mark.asyncio
async def test_two_versions_diff_side_by_side(client: httpx.AsyncClient, service: Service):
    service.put("app", "d", b"one\ntwo\nthree")
    service.put("app", "d", b"one\n2\nthree\nfour")
    page = (await client.get("/ui/key/app", params={"key": "d", "a": "1", "b": "2"})).text
    assert "v1 → v2" in page
    assert re.search(r'<td class="del">two</td><td class="ln">2</td><td class="ins">2</td>', page)
    assert re.search(r'<td class="ins">four</td>', page)


@pytest.mark.asyncio
async def test_a_save_is_compare_and_set_on_the_version_loaded(
    client: httpx.AsyncClient, service: Service
):
    service.put("app", "c", b"mine\n")
    editor = (await client.get("/ui/edit/app", params={"key": "c"})).text
    assert 'name="expect" value="1"' in editor
    service.put("app", "c", b"theirs\n", author="bob", comment="meanwhile")
    answer = await post(client, "/ui/put/app", key="c", expect="1", payload="mine\r\nmore\r\n")
    assert answer.status_code == 409
    assert "Someone else saved first" in answer.text and "meanwhile" in answer.text
    assert 'name="expect" value="2"' in answer.text  # a second save goes against theirs
    assert service.get("app", "c").payload == b"theirs\n"  # nothing overwritten
    merged = await post(client, "/ui/put/app", key="c", expect="2", payload="theirs\r\nmine\r\n")
    assert merged.status_code == 303
    assert service.get("app", "c").payload == b"theirs\nmine\n"  # CRLF back to LF


@pytest.mark.asyncio
async def test_create_delete_revert_and_ttl(client: httpx.AsyncClient, service: Service):
    assert await post(client, "/ui/put/app", key="n", expect="absent", payload="1", ttl="3600")
    commit = service.get("app", "n")
    assert commit.expires is not None and commit.expires - commit.mtime == pytest.approx(3600)
    again = await post(client, "/ui/put/app", key="n", expect="absent", payload="2")
    assert again.status_code == 409  # "new key" never replaces an existing one
    await post(client, "/ui/put/app", key="n", expect="1", payload="2", comment="second")
    await post(client, "/ui/revert/app", key="n", to_version="1", expect="2", comment="undo")
    reverted = service.get("app", "n")
    assert (reverted.version, reverted.payload, reverted.comment) == (3, b"1", "undo")
    await post(client, "/ui/delete/app", key="n", expect="3")
    assert service.head("app", "n").deleted
    page = (await client.get("/ui/key/app", params={"key": "n"})).text
    assert 'id="deleted"' in page and "Create again" in page


@pytest.mark.asyncio
async def test_bad_input_is_a_4xx_with_a_message(client: httpx.AsyncClient):
    bad_ttl = await post(client, "/ui/put/app", key="k", expect="absent", payload="x", ttl="soon")
    assert bad_ttl.status_code == 400 and "TTL is a number of seconds" in bad_ttl.text
    bad_key = await post(client, "/ui/put/app", key="", expect="absent", payload="x")
    assert bad_key.status_code == 400 and 'id="refusal"' in bad_key.text
    bad_setting = await post(client, "/ui/ns/app/settings", settings="1", keep_versions="many")
    assert bad_setting.status_code == 400 and "keep versions must be a whole number" in (
        bad_setting.text
    )
    no_ns = await client.get("/ui/ns/nope")
    assert no_ns.status_code == 404 and "NamespaceNotFound" in no_ns.text


@pytest.mark.asyncio
async def test_settings_and_namespaces_change_through_the_forms(
    client: httpx.AsyncClient, service: Service
):
    await post(client, "/ui/ns", name="fresh", keep_versions="2", settings="1")
    assert service.get_namespace("fresh").keep_versions == 2
    await post(
        client, "/ui/ns/fresh/settings", settings="1", keep_versions="", default_ttl="30",
        json_objects_only="on", max_payload="1000",
    )  # fmt: skip
    ns = service.get_namespace("fresh")
    assert (ns.keep_versions, ns.default_ttl, ns.json_objects_only, ns.max_payload) == (
        None, 30, True, 1000,
    )  # fmt: skip
    twice = await post(client, "/ui/ns", name="fresh")
    assert twice.status_code == 409 and "NamespaceExists" in twice.text


@pytest.mark.asyncio
async def test_writes_need_the_pages_csrf_token_and_origin(
    client: httpx.AsyncClient, service: Service
):
    token = await csrf(client)
    no_token = await client.post(
        "/ui/put/app", data={"key": "k", "expect": "absent", "payload": "x"}
    )
    assert no_token.status_code == 403
    elsewhere = await client.post(
        "/ui/put/app",
        data={"csrf": token, "key": "k", "expect": "absent", "payload": "x"},
        headers={"Origin": "http://evil.example"},
    )
    assert elsewhere.status_code == 403 and "evil.example" in elsewhere.text
    assert service.count("app") == 0


@pytest.mark.asyncio
async def test_the_session_cookie_is_httponly_strict_and_scoped_to_ui(service: Service):
    async with asgi_client(create_app(service)) as client:
        cookie = (await client.get("/ui/")).headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie


@pytest_asyncio.fixture
async def secured() -> AsyncIterator[httpx.AsyncClient]:
    service = open_service(auth=Auth((READER, WRITER)))
    service.create_namespace("app")
    service.put("app", "k", b"v")
    async with asgi_client(create_app(service)) as client:
        yield client
    service.close()


async def sign_in(client: httpx.AsyncClient, token: Token) -> None:
    answer = await client.post("/ui/login", data={"token": token.token, "next": "/ui/ns/app"})
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/ns/app"


@pytest.mark.asyncio
async def test_with_tokens_the_page_asks_for_one_and_refuses_a_bad_one(secured: httpx.AsyncClient):
    first = await secured.get("/ui/ns/app")
    assert first.status_code == 303 and first.headers["location"].startswith("/ui/login")
    bad = await secured.post("/ui/login", data={"token": "not-a-token-at-all"})
    assert bad.status_code == 401 and "not valid for this server" in bad.text
    live = await secured.get("/ui/live", params={"ns": "app"})
    assert live.status_code == 401 and "access-control-allow-origin" not in live.headers


@pytest.mark.asyncio
async def test_a_read_only_token_sees_no_edit_buttons_and_is_refused(secured: httpx.AsyncClient):
    await sign_in(secured, READER)
    page = (await secured.get("/ui/key/app", params={"key": "k"})).text
    assert "reader" in page and "(read-only)" in page
    assert 'id="edit"' not in page and 'id="delete"' not in page and "Revert" not in page
    refused = await post(secured, "/ui/put/app", key="k", expect="1", payload="x")
    assert refused.status_code == 403 and "token &#39;reader&#39; may not write" in refused.text


@pytest.mark.asyncio
async def test_a_writers_commits_are_signed_with_its_name(secured: httpx.AsyncClient):
    await sign_in(secured, WRITER)
    editor = (await secured.get("/ui/edit/app", params={"key": "k"})).text
    assert 'name="author" value="writer"' in editor
    await post(secured, "/ui/put/app", key="k", expect="1", payload="x", author="")
    page = (await secured.get("/ui/key/app", params={"key": "k"})).text
    assert re.search(r"<dt>Author</dt><dd>writer</dd>", page)


@pytest.mark.asyncio
async def test_sign_out_ends_the_session(secured: httpx.AsyncClient):
    await sign_in(secured, WRITER)
    await post(secured, "/ui/logout")
    assert (await secured.get("/ui/")).status_code == 303
