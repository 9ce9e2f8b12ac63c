"""Which store a command uses (`--data`, `--url`, `--token` and their variables), the
commands that refuse a server, and how an unreachable one reads; no server runs here
(that is tests/integration/test_cli_url.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from revkv.cli import cli
from revkv.client._wire import unreachable
from tests.servers import free_port

CLEAN: dict[str, str | None] = {"REVKV_URL": None, "REVKV_TOKEN": None, "REVKV_DATA": None}


def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    runner = CliRunner(env={**CLEAN, "USER": "ann", **(env or {})})
    return runner.invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def down() -> str:
    """The URL of a port nobody listens on."""
    return f"http://127.0.0.1:{free_port()}"


def test_data_and_url_together_are_a_usage_error(tmp_path: Path, down: str) -> None:
    result = invoke("--data", str(tmp_path), "--url", down, "list")
    assert result.exit_code == 2
    assert "give --data (a local store) or --url (a server), not both" in result.stderr


def test_a_data_flag_beats_revkv_url_from_the_environment(tmp_path: Path, down: str) -> None:
    assert invoke("--data", str(tmp_path), "set", "k", "v", env={"REVKV_URL": down}).exit_code == 0
    result = invoke("--data", str(tmp_path), "get", "k", env={"REVKV_URL": down})
    assert (result.exit_code, result.stdout) == (0, "v")


def test_a_url_beats_revkv_data(tmp_path: Path, down: str) -> None:
    for how in ({"REVKV_URL": down}, {}):
        args = [] if how else ["--url", down]
        result = invoke(*args, "get", "k", env={"REVKV_DATA": str(tmp_path), **how})
        assert result.exit_code == 4
        assert result.stderr == f"revkv: cannot reach {down}: connection refused\n"


@pytest.mark.parametrize("url", ["localhost:8080", "ftp://example.com", "http://", "notaurl"])
def test_a_url_must_be_http_or_https_with_a_host(url: str) -> None:
    result = invoke("--url", url, "list")
    assert result.exit_code == 2
    assert "is not an http:// or https:// URL (e.g. http://127.0.0.1:8080)" in result.stderr


def test_a_bad_revkv_url_is_named_as_the_variable() -> None:
    result = invoke("list", env={"REVKV_URL": "db-1:8080"})
    assert result.exit_code == 2
    assert "$REVKV_URL='db-1:8080' is not an http:// or https:// URL" in result.stderr


def test_a_token_goes_with_a_url(tmp_path: Path) -> None:
    result = invoke("--data", str(tmp_path), "--token", "0123456789abcdef", "list")
    assert result.exit_code == 2
    assert "--token goes with --url" in result.stderr
    invoke("--data", str(tmp_path), "set", "k", "v")
    ignored = invoke("--data", str(tmp_path), "get", "k", env={"REVKV_TOKEN": "0123456789abcdef"})
    assert (ignored.exit_code, ignored.stdout) == (0, "v")


@pytest.mark.parametrize(
    ("command", "why"),
    [
        (["snapshot"], "it writes a snapshot file; a server snapshots its own store"),
        (["check"], "it reads the journal and snapshot files"),
        (["repair"], "it cuts the journal files of a directory no process has open"),
        (["import", "-"], "import_commits, which has no HTTP route: import into a directory"),
        (["serve", "--memory"], "it serves a directory, or memory"),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else "",
)
def test_local_only_commands_refuse_a_url(command: list[str], why: str, down: str) -> None:
    result = invoke("--url", down, *command)
    assert result.exit_code == 2, result.output
    assert f"`revkv {command[0]}` works on a local directory only (" in result.stderr
    assert why in result.stderr
    assert f"not against a server (--url {down}); pass --data DIR\n" in result.stderr


@pytest.mark.parametrize("command", [["snapshot"], ["check"], ["repair"], ["import", "-"]])
def test_local_only_commands_refuse_revkv_url_too(command: list[str], down: str) -> None:
    result = invoke(*command, env={"REVKV_URL": down})
    assert result.exit_code == 2, result.output
    assert f"($REVKV_URL {down})" in result.stderr


def test_serve_ignores_revkv_url_so_it_can_stay_exported(down: str) -> None:
    # past the URL check, serve refuses to listen everywhere without tokens
    result = invoke("serve", "--memory", "--host", "0.0.0.0", env={"REVKV_URL": down})
    assert result.exit_code == 8  # the start-up code of a refused configuration
    assert "refusing to listen on 0.0.0.0" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["get", "k"],
        ["set", "k", "v"],
        ["list"],
        ["history", "k"],
        ["ns", "list"],
        ["watch"],
        ["watch", "--no-follow"],
        ["export", "-"],
        ["edit", "k"],
    ],
    ids=" ".join,
)
def test_a_server_that_is_down_is_one_line_and_exit_4(command: list[str], down: str) -> None:
    result = invoke("--url", down, *command)
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == f"revkv: cannot reach {down}: connection refused\n"


def test_network_trouble_reads_as_a_reason() -> None:
    request = httpx.Request("GET", "http://db-1:8080/health")
    url = "http://db-1:8080"
    cases = [
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "name or service not known"),
        (httpx.ConnectTimeout("timed out"), "timed out connecting"),
        (httpx.ReadTimeout("timed out"), "timed out waiting for the answer"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."),
         "the connection broke (Server disconnected without sending a response.; if the "
         "server serves https://, use that)"),
        (httpx.ConnectError(""), "connectError"),
    ]  # fmt: skip
    for error, reason in cases:
        error.request = request
        shown = unreachable(url, error)
        assert isinstance(shown, ConnectionError)  # revkv.Unreachable, not an httpx error
        assert str(shown) == f"cannot reach {url}: {reason}"


def test_the_help_tells_where_the_commands_go() -> None:
    text = invoke("--help").stdout
    for words in ["--url URL", "$REVKV_URL", "--token TOKEN", "$REVKV_TOKEN", "ignored when a"]:
        assert words in text
