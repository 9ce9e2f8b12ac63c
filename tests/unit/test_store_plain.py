"""A command that was journaled must replay: every command the API can produce, at its
limits, is journaled, replayed by a reopened store and served as JSON; one step past a
limit is refused before anything is journaled (`revkv.store._plain`)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import revkv
from revkv._json import MAX_DEPTH
from revkv._model import (
    LATEST_TIME,
    MAX_AUTHOR_LENGTH,
    MAX_COMMENT_LENGTH,
    MAX_KEY_LENGTH,
    MAX_TTL,
    Check,
    Delete,
    Put,
)
from revkv._service import Service
from revkv.errors import InvalidRequest
from revkv.http import create_app
from revkv.store._namespaces import MAX_KEEP_VERSIONS, MAX_PAYLOAD_LIMIT
from revkv.store._plain import MAX_INT, MAX_ITEMS, MIN_INT, check_plain

ASTRAL = "\U0001f600\u00e9\u4e2d"


def nested(depth: int, leaf: Any = None) -> Any:
    """`depth` levels of alternating objects and arrays around `leaf`, without recursion."""
    value = leaf
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


def schema_at_the_limits() -> dict[str, Any]:
    return {
        "deep": nested(MAX_DEPTH - 1, MAX_INT),
        "ints": [MIN_INT, MAX_INT, 0, -1],
        "floats": [sys.float_info.max, -sys.float_info.max, 5e-324, -0.0],
        "text": ASTRAL * 1000 + "\x00\n\t",
        ASTRAL: [True, False, None, ""],
        "many": list(range(MAX_ITEMS - 1000)),
    }


def every_command(service: Service) -> None:
    """What the doors can ask of the store, each at its limits."""
    settings = {
        "schema": schema_at_the_limits(),
        "max_payload": MAX_PAYLOAD_LIMIT,
        "keep_versions": MAX_KEEP_VERSIONS,
        "keep_seconds": MAX_TTL,
        "default_ttl": MAX_TTL,
        "content_type": "x" * 255,
        "json_objects_only": False,
    }
    service.create_namespace("limits", **settings)
    service.update_namespace("limits", schema={"odata_entity_type": ASTRAL}, keep_versions=1)
    service.update_namespace("limits", schema=schema_at_the_limits(), keep_versions=None)
    key = (ASTRAL * MAX_KEY_LENGTH)[:MAX_KEY_LENGTH]
    author = ("\u00e9" * MAX_AUTHOR_LENGTH)[:MAX_AUTHOR_LENGTH]
    comment = ("\t\n" + ASTRAL) * (MAX_COMMENT_LENGTH // 5)
    payload = bytes(range(256)) * 4096  # 1 MiB of every byte
    service.put("limits", key, payload, author=author, comment=comment, ttl=MAX_TTL)
    service.put("limits", key, b"", expect=1, author="", comment="", expires=LATEST_TIME)
    service.put("limits", "never", ASTRAL, ttl=None)
    service.revert("limits", key, 1, author=author, comment=comment)
    service.delete("limits", key, expect=3, author=author, comment=comment)
    service.create_namespace("json", json_objects_only=True)
    service.put("json", "deep", json.dumps({"a": nested(MAX_DEPTH - 2, {})}))
    service.txn(
        [Check("limits", "never", 1), Check("limits", "absent", None)],
        [
            Put(namespace="json", key="t", payload=b'{"n": 1e308}', ttl=MAX_TTL),
            Put(namespace="limits", key=key, payload=payload, author=author, comment=comment),
            Delete(namespace="limits", key="never", author=author, comment=comment),
        ],
    )
    service.put("limits", "short", b"x", ttl=0.001)
    service.import_commits(
        [
            revkv.Commit(
                "imported", key, 1, 0, 0.0, author, comment, LATEST_TIME, False, payload=payload
            ),
            revkv.Commit("imported", key, 2, 0, LATEST_TIME, "", "", None, True),
        ]
    )
    service.backend.sweep()


def image(service: Service) -> dict[str, Any]:
    keys = {ns.name: service.keys(ns.name) for ns in service.namespaces()}
    return {
        "rev": service.rev,
        "namespaces": [ns.to_dict() for ns in service.namespaces()],
        "history": {
            (ns, key): [m.to_dict() for m in service.iter_history(ns, key)]
            for ns, names in keys.items()
            for key in names
        },
    }


async def served(service: Service) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=create_app(service), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        paths = ["/ns", "/kv", "/ns/limits", "/kv/limits", "/changes?since=0&payloads=1"]
        return [await client.get(path) for path in paths]


def test_every_command_at_its_limits_replays_and_is_served(tmp_path: Path) -> None:
    with revkv.open(tmp_path, sweep_interval=None) as service:
        every_command(service)
        before = image(service)
    with revkv.open(tmp_path, sweep_interval=None) as service:
        assert image(service) == before
        for response in asyncio.run(served(service)):
            assert response.status_code == 200, (response.url, response.text[:300])
        service.snapshot()
    with revkv.open(tmp_path, sweep_interval=None) as service:  # from the snapshot
        assert image(service) == before


IDS = [
    "depth+1", "depth-5000", "int-over", "int-under", "nan", "inf", "surrogate",
    "surrogate-key", "int-key", "bytes", "set", "too-many",
]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (nested(MAX_DEPTH + 1), "deeper than 128"),
        (nested(5000), "deeper than 128"),
        ({"x": MAX_INT + 1}, "-2**63..2**63-1"),
        ({"x": [MIN_INT - 1]}, "-2**63..2**63-1"),
        ({"x": float("nan")}, "not a finite number"),
        ({"x": {"y": float("-inf")}}, "not a finite number"),
        ({"x": "\ud800"}, "lone surrogate"),
        ({"\udfff": 1}, "lone surrogate"),
        ({1: 1}, "keys must be strings"),
        ({"x": b"bytes"}, "not plain data"),
        ({"x": {1, 2}}, "not plain data"),
        ({"x": list(range(MAX_ITEMS))}, f"more than {MAX_ITEMS} values"),
    ],
    ids=IDS,
)
def test_one_step_past_a_limit_is_refused_before_the_journal(
    tmp_path: Path, value: Any, says: str
) -> None:
    with revkv.open(tmp_path) as service:
        with pytest.raises(InvalidRequest, match=says.replace("*", r"\*")):
            service.create_namespace("bad", schema={"v": value})
        service.create_namespace("good")
        with pytest.raises(InvalidRequest, match=says.replace("*", r"\*")):
            service.update_namespace("good", schema={"v": value})
    with revkv.open(tmp_path) as service:  # only "good" was journaled, and replays
        assert [ns.to_dict() for ns in service.namespaces()] == [
            {**revkv.Namespace(name="good").to_dict(), "created_rev": 1}  # the first command
        ]


def test_check_plain_names_where_the_bad_value_sits() -> None:
    with pytest.raises(InvalidRequest, match=r"schema\.a\[1\]\.b: nan"):
        check_plain({"a": [0, {"b": float("nan")}]}, "schema")
    assert check_plain(nested(MAX_DEPTH), "schema") == nested(MAX_DEPTH)
