"""/openapi.json: valid OpenAPI 3.1, served as built, and describing every route there is.

Whether the app answers as described is tests/integration/test_schemathesis.py's job.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR
from starlette.routing import Mount, Route

from revkv._auth import Auth
from revkv._config import Token
from revkv.http import _kv as kv
from revkv.http import create_app
from revkv.http._openapi import document
from revkv.testing import open_service

METHODS = ("get", "head", "put", "post", "delete", "patch", "options")
DOC = document()


def operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


def kv_table() -> set[tuple[str, str]]:
    """The route table in kv.py's docstring: `    GET  /kv/{ns}/{key}/meta   ...`."""
    rows = re.findall(r"^\s+(GET|HEAD|PUT|POST|DELETE)\s+(/kv\S*)", kv.__doc__ or "", re.M)
    return {(method, path.split("?")[0]) for method, path in rows}


def app_routes() -> set[tuple[str, str]]:
    app = create_app(open_service(auth=Auth(())))
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Route):
            found |= {(m, route.path) for m in route.methods or () if m != "HEAD"}
        elif isinstance(route, Mount) and route.path == "/kv":
            found |= kv_table()
        else:  # OData describes itself ($metadata), /ui is HTML for people (its docstring);
            # anything else must be described here
            assert isinstance(route, Mount), route
            assert route.path in ("/odata", "/ui"), f"a new mount {route.path}: describe it"
    app.state.service.close()
    return found


def schemas_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON Schema in the document: `schema`s of parameters and media, components."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "schema" and isinstance(value, dict):
                yield value
            elif name == "schemas" and isinstance(value, dict):
                yield from value.values()
            else:
                yield from schemas_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from schemas_in(item)


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "$ref":
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs_in(item)


def test_the_document_is_valid_openapi_3_1() -> None:
    assert DOC["openapi"].startswith("3.1")
    errors = [e.message for e in OPENAPI_31_VALIDATOR.iter_errors(DOC)]
    assert errors == []


def test_a_broken_document_would_be_caught() -> None:
    broken = {**DOC, "paths": {"/x": {"get": {"responses": 5}}}}
    assert not OPENAPI_31_VALIDATOR.is_valid(broken)


def test_every_schema_in_it_is_valid_json_schema() -> None:
    found = list(schemas_in(DOC))
    assert len(found) > 50
    for schema in found:
        jsonschema_rs.meta.validate(schema)


def test_every_reference_resolves() -> None:
    names = DOC["components"]["schemas"]
    for ref in set(refs_in(DOC)):
        assert ref.removeprefix("#/components/schemas/") in names, ref


def test_every_component_is_used() -> None:
    used = {ref.rsplit("/", 1)[1] for ref in refs_in(DOC)}
    assert set(DOC["components"]["schemas"]) - used == set()


def test_every_route_of_the_app_is_described() -> None:
    missing = app_routes() - operations(DOC)
    assert missing == set()


def test_every_described_operation_is_a_route() -> None:
    served = app_routes() | {("HEAD", "/kv/{ns}/{key}")}  # HEAD comes with every GET
    assert operations(DOC) - served == set()


def test_kv_table_is_read_from_kv_docstring() -> None:
    table = kv_table()
    assert ("POST", "/kv/{ns}/{key}/{version}") in table
    assert ("GET", "/kv/{ns}/{key}/diff") in table
    assert len(table) >= 12


def test_path_parameters_are_declared_for_each_template() -> None:
    for path, item in DOC["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method in set(item) & set(METHODS):
            declared = {p["name"] for p in item[method]["parameters"] if p["in"] == "path"}
            assert declared == names, (method, path)


def test_only_health_and_the_document_are_public() -> None:
    public = {
        (method, path)
        for path, item in DOC["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == []
    }
    assert public == {("get", "/"), ("get", "/health"), ("get", "/openapi.json")}
    assert DOC["security"] == [{"bearer": []}]
    assert DOC["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_every_secured_operation_documents_401_with_a_challenge_and_403() -> None:
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            if operation.get("security") == []:
                continue
            responses = operation["responses"]
            assert {"401", "403"} <= set(responses), (method, path)
            assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True


def test_rainer_reads_document_their_plain_text_errors() -> None:
    not_found = DOC["paths"]["/kv/{ns}/{key}"]["get"]["responses"]["404"]["content"]
    assert set(not_found) == {"application/json", "text/plain"}
    conflict = DOC["paths"]["/kv/{ns}/{key}/{version}"]["post"]["responses"]["409"]
    assert "RainerConflict" in json.dumps(conflict)
    revkv_put = DOC["paths"]["/kv/{ns}/{key}"]["put"]["responses"]["404"]["content"]
    assert set(revkv_put) == {"application/json"}


async def fetch(path: str, **kwargs: Any) -> httpx.Response:
    token = Token("t", "0123456789abcdef-token", "read")
    service = open_service(auth=Auth((token,)))
    transport = httpx.ASGITransport(app=create_app(service))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, **kwargs)
    finally:
        service.close()


def test_the_app_serves_this_document_without_a_token() -> None:
    response = asyncio.run(fetch("/openapi.json"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == json.loads(json.dumps(DOC))


@pytest.mark.parametrize("path", ["/health", "/openapi.json"])
def test_public_routes_answer_without_a_token(path: str) -> None:
    assert asyncio.run(fetch(path)).status_code == 200


def test_the_guide_lists_every_path() -> None:
    """docs/http-api.md's route table names every path of the document."""
    guide = (Path(__file__).parents[2] / "docs" / "http-api.md").read_text()
    missing = [p for p in DOC["paths"] if not re.search(re.escape(f"`{p}") + "[`?]", guide)]
    assert missing == []
