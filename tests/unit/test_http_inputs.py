"""No request can answer 500 or leave the store unable to answer: every part the server
parses (path segments, query parameters, headers, JSON and Atom bodies) fuzzed.

First the requests that once answered 500 (issue 14), each a clean 4xx now; then a
property-based run over every route, each example followed by the reads that a bad
value, once committed, used to break for everyone (`GET /ns`, `/kv`, `/changes`).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import revkv
from revkv._config import Settings
from revkv._service import Service
from revkv.http import create_app
from revkv.testing import open_service

HUGE = "9" * 5000  # past int()'s 4,300-digit limit
SUPERSCRIPT = "\u00b2"  # "²".isdigit() is True, int("²") raises
DEEP = "[" * 5000 + "]" * 5000
EVERY_TYPE = """<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"
  xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
 <edmx:DataServices m:DataServiceVersion="2.0">
  <Schema Namespace="Fuzz" xmlns="http://schemas.microsoft.com/ado/2006/04/edm">
   <EntityContainer Name="C" m:IsDefaultEntityContainer="true">
    <EntitySet Name="KeyValuePairs" EntityType="Fuzz.KeyValuePair"/>
    <EntitySet Name="Typed" EntityType="Fuzz.Typed"/>
   </EntityContainer>
   <EntityType Name="KeyValuePair">
    <Key><PropertyRef Name="Key"/></Key>
    <Property Name="Key" Type="Edm.String" Nullable="false" MaxLength="256"/>
    <Property Name="Value" Type="Edm.String" Nullable="false" MaxLength="8192"/>
    <Property Name="Expires" Type="Edm.DateTime" Nullable="false" Precision="3"/>
   </EntityType>
   <EntityType Name="Typed">
    <Key><PropertyRef Name="Id"/></Key>
    <Property Name="Id" Type="Edm.Int64" Nullable="false"/>
    %s
   </EntityType>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>
"""
TYPES = [
    "Binary", "Boolean", "Byte", "DateTime", "DateTimeOffset", "Decimal", "Double", "Guid",
    "Int16", "Int32", "Int64", "SByte", "Single", "String", "Time",
]  # fmt: skip
PROPERTIES = "".join(f'<Property Name="P{t}" Type="Edm.{t}"/>' for t in TYPES)


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("edmx") / "every-type.xml"
    path.write_text(EVERY_TYPE % PROPERTIES)
    return path


class Server:
    """The real app in process over one event loop, and the reads a request may break."""

    def __init__(self, service: Service, schema: Path) -> None:
        self.service = service
        app = create_app(service, Settings(data=None, odata_schema=schema))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=transport, base_url="http://test", timeout=5)

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, path, **kwargs))

    def still_answers(self) -> None:
        """What one committed bad value broke for everyone, until restart and after."""
        for path in ("/ns", "/kv", "/changes?since=0&payloads=1", "/odata/Typed", "/odata/"):
            response = self.send("GET", path)
            assert response.status_code == 200, (path, response.text[:300])

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def server(schema_file: Path) -> Iterator[Server]:
    service = open_service()
    server = Server(service, schema_file)
    server.send("PUT", "/kv/a/k", content=b"one", headers={"X-Rainer-Author": "me"})
    server.send("PUT", "/ns/objects", json={"json_objects_only": True})
    server.send("POST", "/odata/Typed", json={"Id": 1, "PInt32": 3})
    yield server
    server.close()
    service.close()


# -- the findings of issue 14: each answered 500, most committed first ----------------

FINDINGS: list[tuple[str, str, dict[str, Any], bytes | None]] = [
    ("GET", f"/kv/a/k/{HUGE}", {}, None),
    ("POST", f"/kv/a/k/{HUGE}", {"X-Rainer-Author": "me"}, b"x"),
    ("PUT", "/kv/a/k", {"If-Match": f'"{HUGE}"'}, b"x"),
    ("PUT", "/kv/a/k", {"If-Match": f'"{SUPERSCRIPT}"'.encode("latin-1")}, b"x"),
    ("PUT", f"/kv/a/k?expect={HUGE}", {}, b"x"),
    ("GET", f"/changes?since={HUGE}", {}, None),
    ("GET", f"/changes?since={SUPERSCRIPT}", {}, None),
    ("GET", f"/kv/a?limit={SUPERSCRIPT}", {}, None),
    ("GET", f"/kv/a/k/history?limit={HUGE}", {}, None),
    ("GET", f"/watch/a?wait=0&since={HUGE}", {}, None),
    ("GET", f"/watch/a?wait=0&since={SUPERSCRIPT}", {}, None),
    ("GET", "/watch/a?wait=0", {"Last-Event-ID": HUGE}, None),
    ("GET", "/watch/a?wait=0", {"Last-Event-ID": SUPERSCRIPT.encode("latin-1")}, None),
    ("GET", f"/odata/KeyValuePairs?$top={HUGE}", {}, None),
    ("GET", f"/odata/KeyValuePairs?$skip={HUGE}", {}, None),
    ("GET", "/odata/", {"DataServiceVersion": HUGE}, None),
    ("GET", "/odata/", {"DataServiceVersion": f"{SUPERSCRIPT}.0".encode("latin-1")}, None),
    ("PUT", "/kv/a/k", {"Content-Length": HUGE}, b"x"),
    ("POST", "/txn", {}, DEEP.encode()),
    ("PUT", "/ns/deep", {}, b'{"schema": ' + DEEP.encode() + b"}"),
    ("PUT", "/kv/objects/k", {}, b'{"a": ' + DEEP.encode() + b"}"),
    ("POST", "/odata/KeyValuePairs", {"Content-Type": "application/json"}, DEEP.encode()),
    ("PUT", "/ns/nan", {}, b'{"schema": {"x": NaN}}'),
    ("PUT", "/ns/inf", {}, b'{"schema": {"x": [1, -Infinity]}}'),
    ("PUT", "/ns/big", {}, b'{"schema": {"x": 18446744073709551616}}'),
    ("PUT", "/ns/surrogate", {}, b'{"schema": {"x": "\\ud800"}}'),
    ("PUT", "/ns/surrogate-key", {}, b'{"schema": {"\\udfff": 1}}'),
    ("PUT", "/ns/ct", {}, b'{"content_type": "\\ud800"}'),
    (
        "POST",
        "/txn",
        {},
        b'{"writes": [{"op": "put", "namespace": "a", "key": "z", "payload": "", '
        b'"author": "\\ud800"}]}',
    ),
    (
        "POST",
        "/odata/KeyValuePairs",
        {"Content-Type": "application/atom+xml"},
        b'<?xml version="1.0" encoding="x-unknown"?><entry/>',
    ),
    (
        "POST",
        "/odata/KeyValuePairs",
        {"Content-Type": "application/atom+xml"},
        b'<?xml version="1.0" encoding="utf-7"?><entry/>',
    ),
    # an error message quoting a control character XML cannot carry (the Atom error body)
    ("GET", "/odata/KeyValuePairs/%1E", {}, None),
]


@pytest.mark.parametrize(("method", "path", "headers", "body"), FINDINGS)
def test_a_request_that_answered_500_is_a_clean_4xx(
    server: Server, method: str, path: str, headers: dict[str, Any], body: bytes | None
) -> None:
    before = server.service.rev
    response = server.send(method, path, headers=headers, content=body)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert len(response.text) > 20  # a message saying what was wrong
    assert server.service.rev == before  # nothing committed
    server.still_answers()


def test_a_number_is_refused_naming_its_parameter(server: Server) -> None:
    response = server.send("GET", f"/changes?since={SUPERSCRIPT}")
    assert "'since'" in response.json()["error"]["message"]
    response = server.send("GET", "/watch/a?wait=0", headers={"Last-Event-ID": HUGE})
    assert "Last-Event-ID" in response.json()["error"]["message"]
    response = server.send("PUT", "/ns/deep", content=b'{"schema": ' + DEEP.encode() + b"}")
    assert "deeper than 128 levels" in response.json()["error"]["message"]


def nested(depth: int) -> dict[str, Any]:
    """A schema `depth` objects deep, built without recursion."""
    schema: dict[str, Any] = {}
    for _ in range(depth - 1):
        schema = {"a": schema}
    return schema


@pytest.mark.parametrize(
    "body",
    [
        # ~965 deep: json.loads takes it, the replay (and every JSON answer) cannot
        b'{"schema": ' + b'{"a": ' * 964 + b"{}" + b"}" * 965,
        b'{"schema": {"x": NaN}}',
    ],
    ids=["schema-965-deep", "schema-nan"],
)
def test_a_refused_schema_leaves_the_store_whole_across_a_restart(
    tmp_path: Path, schema_file: Path, body: bytes
) -> None:
    """Both were committed with a 500, then broke /ns, /kv and start-up for good."""
    service = revkv.open(tmp_path)
    server = Server(service, schema_file)
    try:
        response = server.send("PUT", "/ns/broken", content=body)
        assert response.status_code == 400, response.text[:300]
        server.still_answers()
    finally:
        server.close()
        service.close()
    with revkv.open(tmp_path) as reopened:  # start-up replays everything journaled
        assert "broken" not in [ns.name for ns in reopened.namespaces()]


def test_a_schema_at_the_depth_limit_is_kept_and_served(server: Server) -> None:
    response = server.send("PUT", "/ns/deepest", json={"schema": nested(127)})
    assert response.status_code == 200, response.text[:300]
    response = server.send("PUT", "/ns/deeper", json={"schema": nested(128)})
    assert response.status_code == 400
    server.still_answers()


# -- property-based: every part the server parses ---------------------------------------

NASTY = [
    "", " ", "0", "-1", "1", "+1", "1_0", "1.5", "1e400", "nan", "NaN", "inf", "-inf",
    "Infinity", HUGE, "9" * 19, "9" * 18, str(2**63), str(2**64), SUPERSCRIPT, "\u0663",
    "\uff11", "absent", "exists", "*", '"1"', 'W/"1"', '"' + HUGE + '"', "never", "true",
    "yes", "2030-01-01T00:00:00Z", "9999-12-31T23:59:59", "10000-01-01", "1e20", "-0",
    "'a'", "''", "%", "%00", "null", "[]", "{}", DEEP[:300] + DEEP[-300:], "\ud800",
]  # fmt: skip


def texts() -> st.SearchStrategy[str]:
    digits = st.integers(min_value=-(2**70), max_value=2**70).map(str)
    return st.one_of(st.sampled_from(NASTY), digits, st.text(max_size=40))


def header_value(text: str) -> bytes:
    """Any text as raw header bytes (a header cannot hold CR, LF or NUL): Latin-1, as
    servers decode headers, where it can be (so "²" arrives as "²"), else UTF-8."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return bytes(b for b in raw if b not in b"\r\n\x00")


def segment(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="") or "x"


def query(params: dict[str, str]) -> str:
    pairs = (f"{quote(k)}={segment(v)}" for k, v in params.items())
    return "?" + "&".join(pairs) if params else ""


def params_of(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(names), texts(), max_size=4)


def headers_of(names: list[str]) -> st.SearchStrategy[dict[str, bytes]]:
    return st.dictionaries(st.sampled_from(names), texts().map(header_value), max_size=3)


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.sampled_from(NASTY),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=8,
    )


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SETTING_NAMES = [
    "max_payload", "default_ttl", "keep_versions", "keep_seconds", "content_type",
    "json_objects_only", "schema", "other",
]  # fmt: skip
KV_PARAMS = [
    "expect", "ttl", "expires", "limit", "before", "to", "from", "$filter", "$orderby",
    "$top", "$skip", "start_after", "prefix", "version", "payloads", "format",
]  # fmt: skip
KV_HEADERS = [
    "If-Match", "If-None-Match", "X-Revkv-TTL", "X-Revkv-Expires", "X-Rainer-Author",
    "X-Rainer-Comment", "X-Rainer-Empty", "X-Rainer-Version", "X-Rainer-Key",
    "X-Revkv-Author", "Accept", "Content-Type",
]  # fmt: skip


def assert_answered(server: Server, response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:500]
    server.still_answers()


@FUZZ
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE"]),
    parts=st.lists(texts(), min_size=1, max_size=4),
    params=params_of(KV_PARAMS),
    headers=headers_of(KV_HEADERS),
    body=st.binary(max_size=30),
)
def test_kv_answers_every_input(
    server: Server,
    method: str,
    parts: list[str],
    params: dict[str, str],
    headers: dict[str, bytes],
    body: bytes,
) -> None:
    path = "/kv/" + "/".join(segment(p) for p in ["a", *parts]) + query(params)
    assert_answered(server, server.send(method, path, headers=headers, content=body))


@FUZZ
@given(
    route=st.sampled_from(["/changes", "/watch/a", "/watch", "/ns", "/kv"]),
    params=params_of(["since", "limit", "namespace", "prefix", "payloads", "resync"]),
    last_event=st.none() | texts().map(header_value),
)
def test_reads_answer_every_input(
    server: Server, route: str, params: dict[str, str], last_event: bytes | None
) -> None:
    params = {**params, "wait": "0"} if route.startswith("/watch") else params
    headers = {"Last-Event-ID": last_event} if last_event is not None else {}
    assert_answered(server, server.send("GET", route + query(params), headers=headers))


@FUZZ
@given(
    name=texts(),
    settings_=st.dictionaries(
        st.sampled_from(SETTING_NAMES),
        json_values(),
        max_size=3,
    ),
)
def test_namespace_settings_answer_every_input(
    server: Server, name: str, settings_: dict[str, Any]
) -> None:
    body = json.dumps(settings_).encode()
    assert_answered(server, server.send("PUT", f"/ns/{segment(name)}", content=body))


@FUZZ
@given(
    checks=st.lists(
        st.fixed_dictionaries(
            {"namespace": st.sampled_from(["a", "objects"]), "key": texts()},
            optional={"version": json_values()},
        ),
        max_size=2,
    ),
    writes=st.lists(
        st.fixed_dictionaries(
            {"op": st.sampled_from(["put", "delete", "x"]), "namespace": st.just("a")},
            optional={
                "key": texts(),
                "payload": json_values(),
                "payload_base64": json_values(),
                "ttl": json_values(),
                "author": json_values(),
                "comment": json_values(),
            },
        ),
        max_size=2,
    ),
)
def test_txn_answers_every_input(
    server: Server, checks: list[dict[str, Any]], writes: list[dict[str, Any]]
) -> None:
    body = json.dumps({"checks": checks, "writes": writes}).encode()
    assert_answered(server, server.send("POST", "/txn", content=body))


ODATA_OPTIONS = [
    "$top", "$skip", "$skiptoken", "$filter", "$orderby", "$inlinecount", "$select",
    "$format", "$expand", "x",
]  # fmt: skip
ODATA_HEADERS = [
    "DataServiceVersion", "MaxDataServiceVersion", "Accept", "If-Match", "X-HTTP-Method",
    "Content-Type",
]  # fmt: skip


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "MERGE", "DELETE"]),
    entity_set=st.sampled_from(["KeyValuePairs", "Typed", "a"]),
    key=st.none() | texts(),
    rest=st.sampled_from(["", "/$count", "/Value", "/PInt32/$value", "/$value"]),
    options=params_of(ODATA_OPTIONS),
    headers=headers_of(ODATA_HEADERS),
    body=st.none()
    | st.dictionaries(
        st.sampled_from(["Id", "Key", "Value", *PROPERTIES.split('"')[1::4]]),
        json_values(),
        max_size=4,
    ),
)
def test_odata_answers_every_input(
    server: Server,
    method: str,
    entity_set: str,
    key: str | None,
    rest: str,
    options: dict[str, str],
    headers: dict[str, bytes],
    body: dict[str, Any] | None,
) -> None:
    path = f"/odata/{entity_set}"
    if key is not None:
        path += f"({segment(key)})"
    path += rest + query(options)
    content = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": b"application/json", **headers} if content else headers
    assert_answered(server, server.send(method, path, headers=sent, content=content))


def literal_of(edm: str) -> st.SearchStrategy[str]:
    """Atom texts for an Edm type: mostly its own literals up to and past its edges."""
    integers = st.integers(min_value=-(2**70), max_value=2**70).map(str)
    own: dict[str, st.SearchStrategy[str]] = {
        "Binary": st.binary(max_size=20).map(lambda b: base64.b64encode(b).decode()),
        "Boolean": st.sampled_from(["true", "false", "1", "0", "yes"]),
        "DateTime": st.datetimes().map(lambda d: d.isoformat()),
        "DateTimeOffset": st.datetimes().map(lambda d: d.isoformat() + "+14:00"),
        "Decimal": st.decimals(allow_nan=False, allow_infinity=False).map(str),
        "Double": st.floats().map(lambda f: repr(f).replace("inf", "INF").replace("nan", "NaN")),
        "Guid": st.uuids().map(str),
        "String": st.text(max_size=20),
        "Time": st.timedeltas().map(lambda t: f"PT{t.total_seconds()}S".replace("PT-", "-PT")),
    }
    own["Single"] = own["Double"]
    return st.one_of(own.get(edm, integers), texts()) if edm in own else integers | texts()


@st.composite
def typed_values(draw: st.DrawFn) -> dict[str, str]:
    names = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True))
    return {name: draw(literal_of(name)) for name in names}


@FUZZ
@given(
    values=typed_values(),
    encoding=st.sampled_from(["utf-8"] * 6 + ["utf-16", "latin-1", "ascii", "x-bogus", "utf-7"]),
    create=st.integers(min_value=2, max_value=2**63 - 1) | st.none(),
)
def test_odata_atom_entries_answer_every_input(
    server: Server, values: dict[str, str], encoding: str, create: int | None
) -> None:
    """Writes that succeed are read back by `still_answers`, in Atom and JSON."""
    properties = "".join(f"<d:P{t}>{v.translate(ESCAPES)}</d:P{t}>" for t, v in values.items())
    entry = (
        f'<?xml version="1.0" encoding="{encoding}"?><entry xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
        'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">'
        f'<content type="application/xml"><m:properties><d:Id>{create or 1}</d:Id>'
        f"{properties}</m:properties></content></entry>"
    )
    headers = {"Content-Type": "application/atom+xml"}
    content = entry.encode("utf-8", "surrogatepass")
    method, path = ("POST", "/odata/Typed") if create else ("PUT", "/odata/Typed(1L)")
    assert_answered(server, server.send(method, path, headers=headers, content=content))
    feed = server.send("GET", "/odata/Typed?$format=json&$orderby=PDouble,PDecimal,PTime")
    assert feed.status_code == 200, feed.text[:300]


ESCAPES = str.maketrans({"<": "&lt;", "&": "&amp;", ">": "&gt;"})
