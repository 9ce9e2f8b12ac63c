"""A database host that never answers (down behind a firewall that drops packets, a
partition, a hung machine): revkv gives up within its connect timeout and says so in
one line, instead of waiting out the kernel's TCP timeouts.

The "database" is a socket that listens and never speaks: the kernel completes the
handshake, then libpq waits for an answer to its start-up packet that never comes —
before `CONNECTION_DEFAULTS`, `revkv serve --db` hung there for good.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from revkv.store._sql import CONNECTION_DEFAULTS, engine_url
from tests.servers import free_port

REVKV = str(Path(sys.executable).parent / "revkv")


@pytest.fixture
def silent_database() -> Iterator[str]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # never accepted: connections wait in the backlog, unanswered
        yield f"postgresql://revkv@127.0.0.1:{listener.getsockname()[1]}/revkv"


def test_serve_gives_up_on_a_silent_database_in_one_line(silent_database: str) -> None:
    result = subprocess.run(
        [REVKV, "serve", "--db", silent_database, "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=90,  # the default connect_timeout is 10 s; without it this never returned
        check=False,
    )
    assert result.returncode == 9, result.stderr  # UNAVAILABLE, a start-up exit code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot be reached" in lines[0] and "timeout" in lines[0], lines[0]
    assert "serving" not in result.stdout + result.stderr


def test_a_command_gives_up_on_a_silent_database(silent_database: str) -> None:
    result = subprocess.run(
        [REVKV, "--db", f"{silent_database}?connect_timeout=2", "get", "k"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "cannot be reached" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_the_defaults_yield_to_the_url() -> None:
    url = engine_url("postgresql://u@h/db?connect_timeout=30&keepalives=0")
    assert url.drivername == "postgresql+psycopg"
    assert url.query["connect_timeout"] == "30"
    assert url.query["keepalives"] == "0"
    assert url.query["tcp_user_timeout"] == CONNECTION_DEFAULTS["tcp_user_timeout"]
    bare = engine_url("postgresql+asyncpg://u@h/db")
    assert dict(bare.query) == CONNECTION_DEFAULTS
    assert sa.make_url(bare.render_as_string()).query == bare.query


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["get", "k"]])
def test_a_malformed_database_url_is_a_usage_error(command: list[str]) -> None:
    result = subprocess.run(
        [REVKV, *command, "--db", "postgresql://revkv@127.0.0.1:x/revkv"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "not a valid PostgreSQL URL" in result.stderr
    assert "Traceback" not in result.stderr
