"""A client with a token against a server that asks for one: every call carries it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import revkv
from tests.servers import RevkvServer

WRITER = "writer-token-0123456789"
READER = "reader-token-0123456789"
CONFIG = f"""
[[tokens]]
name = "deploy"
token = "{WRITER}"
rights = "read-write"

[[tokens]]
name = "viewer"
token = "{READER}"
rights = "read"
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RevkvServer]:
    config = tmp_path / "revkv.toml"
    config.write_text(CONFIG)
    with RevkvServer(tmp_path / "data", "--config", str(config)) as running:
        yield running


def test_tokens_travel_with_every_call_and_the_watch(server: RevkvServer) -> None:
    with revkv.Client(server.url, WRITER) as writer, revkv.Client(server.url, READER) as reader:
        meta = writer.put("app", "k", b"v")
        assert (meta.author, meta.token) == ("deploy", "deploy")  # the token signs its commits
        assert reader.get("app", "k").payload == b"v"
        with reader.watch(meta.rev - 1, namespace="app") as watch:
            event = watch.next(timeout=10)
        assert event is not None
        assert event.rev == meta.rev
        with pytest.raises(revkv.Forbidden):
            reader.put("app", "k", b"w")
    with revkv.Client(server.url) as anonymous, pytest.raises(revkv.Unauthorized):
        anonymous.get("app", "k")
    wrong = revkv.Client(server.url, "wrong-token-0123456789")
    with wrong, pytest.raises(revkv.Unauthorized):
        wrong.watch(0, namespace="app")
