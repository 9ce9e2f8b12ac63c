"""Bearer tokens over HTTP: every route with no token, a read token, a token for other
namespaces; the token's name as author; constant-time comparison; loopback-only binding.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from revkv._auth import ANONYMOUS, Auth, Principal
from revkv._config import Settings, Token
from revkv.cli import _serve as serve_module
from revkv.errors import Forbidden, InvalidName, Unauthorized
from revkv.http import create_app
from revkv.http._openapi import document
from revkv.testing import open_service

READER = Token("reader", "reader-token-0123456789", "read")
WRITER = Token("writer", "writer-token-0123456789", "read-write", ("app.*",))
ADMIN = Token("admin", "admin-token-0123456789ab", "read-write")
OTHER = Token("other", "other-token-0123456789ab", "read-write", ("other.*", "else"))
GATEWAY = Token("gateway", "gateway-token-0123456789", "read-write", ("app.*",), act_as_others=True)
TOKENS = (READER, WRITER, ADMIN, OTHER, GATEWAY)
NS = "app.cfg"


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # the OpenAPI template it exercises, filled in
    template: str
    scope: str  # "public", "any" (any valid token), "all" (every namespace), "ns",
    # "listing" (any valid token; answers only with the namespaces the token may read),
    # or "admin" (read-write on every namespace)
    write: bool = False
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


TXN = b'{"writes": [{"op": "put", "namespace": "app.cfg", "key": "t", "payload": "x"}]}'
CALLS = [
    Call("GET", "/", "/", "public"),
    Call("GET", "/health", "/health", "public"),
    Call("GET", "/openapi.json", "/openapi.json", "public"),
    Call("GET", "/metrics", "/metrics", "any"),
    Call("GET", "/stats", "/stats", "any"),
    Call("GET", "/backup", "/backup", "all"),  # a store in memory: 400 once allowed
    Call("GET", "/ns", "/ns", "listing"),
    Call("GET", "/kv", "/kv", "listing"),
    Call("GET", "/changes", "/changes", "all"),
    Call("GET", "/watch?wait=0", "/watch", "all"),
    Call("GET", f"/ns/{NS}", "/ns/{ns}", "ns"),
    Call("GET", f"/changes?namespace={NS}", "/changes", "ns"),
    Call("GET", f"/watch/{NS}?wait=0", "/watch/{ns}", "ns"),
    Call("GET", f"/kv/{NS}", "/kv/{ns}", "ns"),
    Call("GET", f"/kv/{NS}?limit=5", "/kv/{ns}", "ns"),
    Call("GET", f"/kv/{NS}/k", "/kv/{ns}/{key}", "ns"),
    Call("HEAD", f"/kv/{NS}/k", "/kv/{ns}/{key}", "ns"),
    Call("GET", f"/kv/{NS}/k/meta", "/kv/{ns}/{key}/meta", "ns"),
    Call("GET", f"/kv/{NS}/k/1", "/kv/{ns}/{key}/{version}", "ns"),
    Call("GET", f"/kv/{NS}/k/1/meta", "/kv/{ns}/{key}/{version}/meta", "ns"),
    Call("GET", f"/kv/{NS}/k/history", "/kv/{ns}/{key}/history", "ns"),
    Call("GET", f"/kv/{NS}/k/diff?from=1&to=1", "/kv/{ns}/{key}/diff", "ns"),
    Call("PUT", f"/ns/{NS}", "/ns/{ns}", "ns", write=True, body=b"{}"),
    Call("PUT", f"/kv/{NS}/k", "/kv/{ns}/{key}", "ns", write=True, body=b"v"),
    Call(
        "POST",
        f"/kv/{NS}/k/99",
        "/kv/{ns}/{key}/{version}",
        "ns",
        write=True,
        body=b"v",
        headers=(("X-Rainer-Author", "someone"),),
    ),
    Call("POST", f"/kv/{NS}/k/revert?to=1", "/kv/{ns}/{key}/revert", "ns", write=True),
    Call("DELETE", f"/kv/{NS}/gone", "/kv/{ns}/{key}", "ns", write=True),
    Call("POST", "/txn", "/txn", "ns", write=True, body=TXN),
    Call("DELETE", f"/kv/{NS}/old/history", "/kv/{ns}/{key}/history", "admin", write=True),
    Call("POST", "/compact", "/compact", "admin", write=True),
]


class Server:
    """The app in process with every token configured and one key, app.cfg/k."""

    def __init__(self) -> None:
        self.service = open_service(auth=Auth(TOKENS))
        self.app = create_app(self.service, Settings(data=None, tokens=TOKENS))
        for key in ("k", "gone", "old"):
            self.service.put(NS, key, b"v1", author="seed")

    def call(self, call: Call, token: Token | None = None, **headers: str) -> httpx.Response:
        sent = dict(call.headers) | headers
        if token is not None:
            sent["Authorization"] = f"Bearer {token.token}"
            if "X-Rainer-Author" in sent and "X-Rainer-Author" not in headers:
                sent["X-Rainer-Author"] = token.name  # Rainer's POST names an author
        return asyncio.run(self.request(call.method, call.path, call.body, sent))

    async def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, content=body, headers=headers)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    server = Server()
    yield server
    server.service.close()


def allowed(response: httpx.Response) -> bool:
    return response.status_code not in (401, 403) and response.status_code < 500


def refused(response: httpx.Response, status: int) -> bool:
    return response.status_code == status


# -- the matrix covers every route ---------------------------------------------------------


def test_the_matrix_calls_every_documented_operation() -> None:
    documented = {
        (method.upper(), path)
        for path, item in document()["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert {(c.method, c.template) for c in CALLS} == documented


# -- no token, a bad token -------------------------------------------------------------------


@pytest.mark.parametrize("call", CALLS, ids=str)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token-at-all", "Basic eDp5"])
def test_without_a_valid_token_every_route_but_two_is_401(
    server: Server, call: Call, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = server.call(call, **headers)
    if call.scope == "public":
        assert response.status_code == 200
        return
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("call", [c for c in CALLS if c.scope != "public"], ids=str)
def test_a_401_is_json_when_json_is_asked_for(server: Server, call: Call) -> None:
    response = server.call(call, Accept="application/json")
    assert response.status_code == 401
    if call.method != "HEAD":
        assert response.json()["error"]["code"] == "Unauthorized"


# -- a read token ----------------------------------------------------------------------------


@pytest.mark.parametrize("call", CALLS, ids=str)
def test_a_read_token_reads_everything_and_writes_nothing(server: Server, call: Call) -> None:
    response = server.call(call, READER)
    if call.write:
        assert refused(response, 403), response.text
        assert "may not write" in response.text
    else:
        assert allowed(response), response.text


# -- a read-write token on other namespaces --------------------------------------------------


@pytest.mark.parametrize("call", [c for c in CALLS if c.scope == "ns"], ids=str)
def test_a_token_for_other_namespaces_may_neither_read_nor_write(
    server: Server, call: Call
) -> None:
    response = server.call(call, OTHER)
    assert refused(response, 403), response.text


@pytest.mark.parametrize("call", [c for c in CALLS if c.scope == "ns"], ids=str)
def test_a_token_for_these_namespaces_may_read_and_write(server: Server, call: Call) -> None:
    assert allowed(server.call(call, WRITER))


@pytest.mark.parametrize("call", [c for c in CALLS if c.scope == "all"], ids=str)
def test_every_namespace_at_once_needs_a_token_for_all(server: Server, call: Call) -> None:
    """A watch or change feed over everything would leak other namespaces' changes."""
    assert refused(server.call(call, WRITER), 403)
    assert allowed(server.call(call, ADMIN))


@pytest.mark.parametrize("call", [c for c in CALLS if c.scope == "admin"], ids=str)
def test_purge_and_compaction_need_an_admin_token(server: Server, call: Call) -> None:
    """Removing history is an operator's act: a token that may write only some
    namespaces may not, even in those."""
    assert refused(server.call(call, WRITER), 403)
    assert refused(server.call(call, GATEWAY), 403)
    assert allowed(server.call(call, ADMIN))


@pytest.mark.parametrize("call", [c for c in CALLS if c.scope in ("any", "public")], ids=str)
def test_metrics_and_public_routes_take_any_valid_token(server: Server, call: Call) -> None:
    assert server.call(call, OTHER).status_code == 200


def test_a_token_for_some_namespaces_may_run_a_transaction_in_them(server: Server) -> None:
    txn = next(c for c in CALLS if c.template == "/txn")
    assert server.call(txn, WRITER).status_code == 200


@pytest.mark.parametrize("call", [c for c in CALLS if c.scope == "listing"], ids=str)
def test_a_token_for_some_namespaces_lists_those(server: Server, call: Call) -> None:
    response = server.call(call, WRITER)
    assert response.status_code == 200
    assert [ns["name"] for ns in response.json()] == [NS]


def test_a_transaction_touching_a_forbidden_namespace_is_refused_whole(server: Server) -> None:
    body = b'{"writes": [{"op": "put", "namespace": "secret", "key": "k", "payload": "x"}]}'
    response = server.call(Call("POST", "/txn", "/txn", "ns", True, body), READER)
    assert response.status_code == 403


# -- the author ----------------------------------------------------------------------------


def test_the_token_name_is_the_default_author(server: Server) -> None:
    put = server.call(Call("PUT", f"/kv/{NS}/by-token", "", "ns", True, b"x"), WRITER)
    assert (put.json()["author"], put.json()["token"]) == ("writer", "writer")
    named = server.call(
        Call("PUT", f"/kv/{NS}/by-token", "", "ns", True, b"y"),
        WRITER,
        **{"X-Revkv-Author": "writer"},
    )
    assert named.json()["author"] == "writer"
    deleted = server.call(Call("DELETE", f"/kv/{NS}/by-token", "", "ns", True), ADMIN)
    assert deleted.json()["author"] == "admin"
    reverted = server.call(Call("POST", f"/kv/{NS}/by-token/revert?to=1", "", "ns", True), ADMIN)
    assert reverted.json()["author"] == "admin"


AS_ANN = {"X-Revkv-Author": "ann"}
POSING = [
    Call("PUT", f"/kv/{NS}/posing", "", "ns", True, b"x", (("X-Revkv-Author", "ann"),)),
    Call("POST", f"/kv/{NS}/rainer-posing/1", "", "ns", True, b"x", (("X-Rainer-Author", "ann"),)),
    Call("DELETE", f"/kv/{NS}/k", "", "ns", True, None, (("X-Revkv-Author", "ann"),)),
    Call("POST", f"/kv/{NS}/k/revert?to=1", "", "ns", True, None, (("X-Revkv-Author", "ann"),)),
    Call(
        "POST",
        "/txn",
        "",
        "ns",
        True,
        b'{"writes": [{"op": "put", "namespace": "app.cfg", "key": "t", "payload": "x", '
        b'"author": "ann"}]}',
    ),
]


@pytest.mark.parametrize("call", POSING, ids=str)
def test_a_token_may_not_write_as_someone_else(server: Server, call: Call) -> None:
    """Any writer could once set any author name; now a token signs with its own."""
    rev = server.service.rev
    response = server.call(call, WRITER, **dict(call.headers))
    assert response.status_code == 403, response.text
    message = response.json()["error"]["message"]
    assert "'writer'" in message and "'ann'" in message and "act_as_others" in message
    assert server.service.rev == rev  # nothing written


@pytest.mark.parametrize("call", POSING, ids=str)
def test_a_token_that_may_act_for_others_writes_as_them(server: Server, call: Call) -> None:
    server.service.put(NS, "k", b"again", author="seed")  # something to delete or revert
    response = server.call(call, GATEWAY, **dict(call.headers))
    assert response.status_code in (200, 201), response.text
    commit = server.service.changes(server.service.rev - 1, namespace=NS)[-1].commit
    assert commit is not None
    assert (commit.author, commit.token) == ("ann", "gateway")  # who, and which token


def test_the_token_travels_in_every_meta_but_rainers(server: Server) -> None:
    call = Call("PUT", f"/kv/{NS}/shown", "", "ns", True, b"x", (("X-Revkv-Author", "ann"),))
    put = server.call(call, GATEWAY, **dict(call.headers))
    assert put.json()["token"] == "gateway"
    history = server.call(Call("GET", f"/kv/{NS}/shown/history", "", "ns"), READER)
    assert [m["token"] for m in history.json()["items"]] == ["gateway"]
    read = server.call(Call("GET", f"/kv/{NS}/shown", "", "ns"), READER)
    assert '"token":"gateway"' in read.headers["x-revkv-meta"]
    rainer = server.call(Call("GET", f"/kv/{NS}/shown/meta", "", "ns"), READER)
    assert "token" not in rainer.text  # Rainer's meta object keeps Rainer's fields


def test_without_tokens_any_author_is_taken() -> None:
    service = open_service(auth=Auth(()))
    try:
        server_call = Call("PUT", f"/kv/{NS}/x", "", "ns", True, b"x")
        app = create_app(service)

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.put(server_call.path, content=b"x", headers=AS_ANN)

        assert asyncio.run(send()).json()["author"] == "ann"
    finally:
        service.close()


def test_an_empty_author_is_the_tokens_name(server: Server) -> None:
    call = Call("PUT", f"/kv/{NS}/empty-author", "", "ns", True, b"x")
    response = server.call(call, WRITER, **{"X-Revkv-Author": ""})
    assert response.json()["author"] == "writer"


def test_a_transaction_write_is_authored_by_the_token(server: Server) -> None:
    response = server.call(Call("POST", "/txn", "/txn", "ns", True, TXN), ADMIN)
    assert [c["author"] for c in response.json()["commits"]] == ["admin"]


def test_without_tokens_everyone_is_anonymous_and_may_do_everything() -> None:
    auth = Auth(())
    assert not auth.enabled
    assert auth.authenticate(None) is ANONYMOUS
    assert auth.authenticate("Bearer whatever") is ANONYMOUS
    auth.authorize(ANONYMOUS, None, write=True)


# -- Auth itself ---------------------------------------------------------------------------


GOOD = ["Bearer reader-token-0123456789", "bearer reader-token-0123456789"]
BAD = ["", "Bearer", "Bearer ", "Token reader-token-0123456789", "reader-token-0123456789"]
BAD += ["Bearer reader-token-012345678", "Bearer reader-token-0123456789x"]
BAD += ["Bearer READER-TOKEN-0123456789", "Basic cmVhZGVyOnRva2Vu"]


@pytest.mark.parametrize("header", [*GOOD, " Bearer  reader-token-0123456789 "])
def test_the_bearer_scheme_is_case_insensitive_and_spaces_are_forgiven(header: str) -> None:
    assert Auth(TOKENS).authenticate(header).name == "reader"


@pytest.mark.parametrize("header", [None, *BAD])
def test_anything_but_a_configured_token_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        Auth(TOKENS).authenticate(header)


def test_every_token_is_compared_whichever_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Constant time: no early exit, and equal lengths (digests) in every comparison."""
    compared: list[tuple[int, int]] = []
    real: Callable[[Any, Any], bool] = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    auth = Auth(TOKENS)
    for presented in (READER.token, OTHER.token, "x" * 500, "y"):
        compared.clear()
        with contextlib.suppress(Unauthorized):
            auth.authenticate(f"Bearer {presented}")
        assert len(compared) == len(TOKENS)
        assert set(compared) == {(32, 32)}


@pytest.mark.parametrize(
    ("principal", "namespace", "write", "may"),
    [
        (Principal("r", "read", ("*",)), "a", False, True),
        (Principal("r", "read", ("*",)), "a", True, False),
        (Principal("r", "read", ("*",)), None, False, True),
        (Principal("w", "read-write", ("app.*",)), "app.x", True, True),
        (Principal("w", "read-write", ("app.*",)), "app", True, False),
        (Principal("w", "read-write", ("app.*",)), "App.x", False, False),
        (Principal("w", "read-write", ("app.*",)), None, False, False),
        (Principal("w", "read-write", ("a", "b?")), "b1", True, True),
    ],
)
def test_rights_and_patterns(
    principal: Principal, namespace: str | None, write: bool, may: bool
) -> None:
    assert principal.may(namespace, write) is may
    if may:
        Auth.authorize(principal, namespace, write)
    else:
        with pytest.raises(Forbidden):
            Auth.authorize(principal, namespace, write)


@pytest.mark.parametrize("namespace", [{}, 5, "", "1abc", "a b"])
def test_authorizing_a_namespace_that_is_no_name_is_a_bad_request(namespace: Any) -> None:
    with pytest.raises(InvalidName):
        Auth.authorize(ANONYMOUS, namespace, write=False)


def test_a_token_repr_does_not_show_the_secret() -> None:
    assert READER.token not in repr(READER)
    assert READER.token not in repr(Auth(TOKENS).tokens)


# -- binding beyond loopback -----------------------------------------------------------------


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The address `revkv serve` would have served on (its socket is bound first, on a
    free port), instead of serving it."""
    configs: list[Any] = []

    def run(self: Any, sockets: list[Any]) -> None:
        configs.append(sockets[0].getsockname()[0])

    monkeypatch.setattr(serve_module._Server, "run", run)
    for name in ("REVKV_HOST", "REVKV_PORT", "REVKV_DATA", "REVKV_DURABILITY"):
        monkeypatch.delenv(name, raising=False)
    return configs


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_without_tokens_serving_beyond_loopback_is_refused(started: list[Any], host: str) -> None:
    result = CliRunner().invoke(serve_module.serve, ["--memory", "--host", host, "--port", "0"])
    assert result.exit_code == 8  # a start-up code: bad configuration
    assert "refusing to listen" in result.output
    assert "--insecure" in result.output
    assert started == []


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_without_tokens_loopback_is_served(started: list[Any], host: str) -> None:
    result = CliRunner().invoke(serve_module.serve, ["--memory", "--host", host, "--port", "0"])
    assert result.exit_code == 0, result.output
    assert started[0] == {"localhost": "127.0.0.1"}.get(host, host)


def test_insecure_serves_beyond_loopback_without_tokens(started: list[Any]) -> None:
    args = ["--memory", "--host", "0.0.0.0", "--port", "0", "--insecure"]
    result = CliRunner().invoke(serve_module.serve, args)
    assert result.exit_code == 0, result.output
    assert started[0] == "0.0.0.0"


def test_with_tokens_beyond_loopback_tls_or_insecure(started: list[Any], tmp_path: Any) -> None:
    """Tokens in clear beyond loopback: refused, unless --insecure (or TLS:
    tests/integration/test_tls.py)."""
    config = tmp_path / "revkv.toml"
    config.write_text('[[tokens]]\nname = "ops"\ntoken = "ops-token-0123456789"\n')
    args = ["--memory", "--host", "0.0.0.0", "--port", "0", "--config", str(config)]
    refused = CliRunner().invoke(serve_module.serve, args)
    assert refused.exit_code == 8
    assert "with tokens over plain HTTP" in refused.output
    assert started == []
    result = CliRunner().invoke(serve_module.serve, [*args, "--insecure"])
    assert result.exit_code == 0, result.output
    assert started[0] == "0.0.0.0"


# -- authentication before work ------------------------------------------------------------


class CountingBody:
    """A request body of `chunks` MiB of JSON-ish bytes that counts what the server read."""

    def __init__(self, chunks: int = 64) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> Any:
        for _ in range(self.chunks):
            self.read += 1
            yield b"[" * (1 << 20)


@pytest.mark.parametrize(
    ("token", "status"), [(None, 401), (Token("bad", "x" * 20), 401), (READER, 403)]
)
def test_a_transaction_is_refused_before_its_body_is_read(
    server: Server, token: Token | None, status: int
) -> None:
    """POST /txn once parsed up to 64 MB before looking at who sent it."""
    body = CountingBody()
    headers = {"Authorization": f"Bearer {token.token}"} if token else {}

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/txn", content=body, headers=headers)

    response = asyncio.run(send())
    assert response.status_code == status, response.text
    assert body.read == 0


def test_the_first_odata_request_without_a_token_creates_nothing(tmp_path: Any) -> None:
    """The door created its schema's namespaces on its first request, token or not."""
    schema = tmp_path / "schema.xml"
    schema.write_bytes((Path(__file__).parents[1] / "compat" / "MemCacheSchema.xml").read_bytes())
    service = open_service(auth=Auth(TOKENS))
    app = create_app(service, Settings(data=None, tokens=TOKENS, odata_schema=schema))

    async def send(headers: dict[str, str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/odata/KeyValuePairs", headers=headers)

    try:
        assert asyncio.run(send({})).status_code == 401
        assert asyncio.run(send({"Authorization": "Bearer not-a-token-at-all"})).status_code == 401
        assert service.namespaces() == []
        assert asyncio.run(send({"Authorization": f"Bearer {READER.token}"})).status_code == 200
        assert [ns.name for ns in service.namespaces()] == ["KeyValuePairs"]
    finally:
        service.close()
