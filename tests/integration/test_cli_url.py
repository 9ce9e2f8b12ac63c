"""The `revkv` command against a real `revkv serve` process (`--url`, `$REVKV_URL`).

The main test runs one session of commands twice, on a local directory and through a
server, and wants the same exit codes, stdout and stderr (times aside): the commands
do not care which store they have. The rest is what only a server has: a live watch of
other clients' writes, edit's compare-and-set over HTTP, tokens, and a server that
cannot be reached or goes away.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import revkv
from revkv.cli import cli
from tests.integration.test_cli_docs import without_times
from tests.integration.test_cli_watch import read_lines
from tests.servers import RevkvServer, free_port

REVKV = str(Path(sys.executable).parent / "revkv")
#: The user's shell might point the command somewhere else; these tests say where.
CLEAN: dict[str, str | None] = {"REVKV_URL": None, "REVKV_TOKEN": None,
                                "REVKV_DATA": None, "REVKV_NAMESPACE": None}  # fmt: skip


def invoke(
    *args: str, input: bytes | str | None = None, env: Mapping[str, str | None] | None = None
) -> Result:
    """`revkv ARGS...` through click's runner, as the user ann."""
    runner = CliRunner(env={**CLEAN, "USER": "ann", "LOGNAME": "ann", **(env or {})})
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


def process_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    return {**env, "USER": "ann", "LOGNAME": "ann", **extra}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RevkvServer]:
    with RevkvServer(tmp_path / "served") as running:
        yield running


# -- the same session, locally and through a server ----------------------------------

SESSION: list[tuple[list[str], bytes | None]] = [
    (["set", "greeting", "hello world", "-m", "first draft"], None),
    (["set", "greeting", "-", "-m", "friendlier"], b"hello there\n"),
    (["set", "greeting", "stale", "--version", "2"], None),
    (["set", "-n", "blobs", "bin", "-"], bytes(range(256)) + b"\r\n"),
    (["get", "-n", "blobs", "bin"], None),
    (["get", "-n", "blobs", "bin", "--json"], None),
    (["get", "greeting"], None),
    (["get", "greeting", "--version", "1"], None),
    (["get", "greeting", "--json"], None),
    (["get", "nobody"], None),
    (["get", "greeting", "--version", "9"], None),
    (["meta", "greeting"], None),
    (["meta", "greeting", "--version", "1", "--json"], None),
    (["set", "users/ann", '{"role": "admin"}', "--author", "bob"], None),
    (["set", "users/bob", '{"role": "reader"}', "--ttl", "3600", "--json"], None),
    (["list"], None),
    (["list", "--prefix", "users/", "--json"], None),
    (["history", "greeting"], None),
    (["history", "greeting", "--json"], None),
    (["diff", "greeting", "1", "2"], None),
    (["diff", "-n", "blobs", "bin", "1", "1", "--json"], None),
    (["delete", "greeting", "-m", "retired"], None),
    (["get", "greeting"], None),
    (["meta", "greeting"], None),
    (["meta", "greeting", "--all", "--json"], None),
    (["list", "--all"], None),
    (["diff", "greeting", "2", "3"], None),
    (["revert", "greeting", "1", "-m", "back"], None),
    (["delete", "greeting", "--version", "3"], None),
    (["history", "greeting"], None),
    (
        ["ns", "create", "config", "--content-type", "application/json", "--json-objects-only"],
        None,
    ),
    (["set", "-n", "config", "app", "[1, 2]"], None),
    (["set", "-n", "config", "app", '{"workers": 4}'], None),
    (["ns", "list"], None),
    (["ns", "show", "config"], None),
    (["ns", "show", "nope"], None),
    (["list", "-n", "nope"], None),
    (["watch", "--since", "0", "--no-follow"], None),
    (["watch", "-A", "--since", "3", "--no-follow", "--json"], None),
    (["watch", "--prefix", "users/", "--since", "0", "--no-follow"], None),
    (["watch", "--no-follow"], None),
    (["export", "-"], None),
    # last: the embedded store spends a rev on refusing an existing namespace (and on
    # --exist-ok), where the client only reads it, so later revs would differ
    (["ns", "create", "config"], None),
    (["ns", "create", "config", "--exist-ok", "--json"], None),
]


def outcome(result: Result) -> tuple[int, list[str], list[str]]:
    stdout = result.stdout_bytes.decode("utf-8", "backslashreplace").splitlines()
    return result.exit_code, without_times(stdout), without_times(result.stderr.splitlines())


def test_every_command_does_through_a_server_what_it_does_locally(
    tmp_path: Path, server: RevkvServer
) -> None:
    codes = set()
    for args, stdin in SESSION:
        local = outcome(invoke("--data", str(tmp_path / "local"), *args, input=stdin))
        remote = outcome(invoke("--url", server.url, *args, input=stdin))
        assert remote == local, f"revkv {' '.join(args)}"
        codes.add(local[0])
    assert codes == {0, 1, 2, 3}  # the session does meet every kind of refusal
    with revkv.Client(server.url) as client:  # the commands really went to the server
        assert client.get("blobs", "bin").payload == bytes(range(256)) + b"\r\n"
        assert [m.author for m in client.history("default", "users/ann").items] == ["bob"]


def test_a_server_exported_through_url_imports_into_a_directory(
    tmp_path: Path, server: RevkvServer
) -> None:
    with revkv.Client(server.url) as client:
        client.create_namespace("config", keep_versions=5)
        client.put("config", "app", b"1", author="ann", comment="first")
        client.put("config", "app", b"\xff", author="bob", ttl=600)
        client.put("default", "gone", b"x")
        client.delete("default", "gone")
        served = {(m.namespace, m.key, m.version, m.author, m.comment, m.deleted)
                  for ns, key in [("config", "app"), ("default", "gone")]
                  for m in client.history(ns, key).items}  # fmt: skip
    backup = tmp_path / "backup.jsonl"
    exported = invoke("--url", server.url, "export", str(backup))
    assert exported.exit_code == 0, exported.output
    assert exported.stderr == "exported 4 versions of 2 keys in 2 namespaces\n"
    imported = invoke("--data", str(tmp_path / "copy"), "import", str(backup))
    assert imported.exit_code == 0, imported.output
    with revkv.open(tmp_path / "copy") as store:
        copied = {(m.namespace, m.key, m.version, m.author, m.comment, m.deleted)
                  for ns, key in [("config", "app"), ("default", "gone")]
                  for m in store.history(ns, key).items}  # fmt: skip
        assert store.get_namespace("config").keep_versions == 5
        assert store.get("config", "app").payload == b"\xff"
    assert copied == served


def test_a_real_revkv_process_follows_revkv_url(server: RevkvServer) -> None:
    env = process_env(REVKV_URL=server.url)
    done = subprocess.run([REVKV, "set", "motd", "-", "-m", "hi"], input=b"Welcome!\n",
                          env=env, capture_output=True, timeout=60, check=False)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (
        0, b"committed default/motd version 1 (rev 1)\n", b"")  # fmt: skip
    done = subprocess.run([REVKV, "get", "motd"], env=env, capture_output=True, timeout=60,
                          check=False)  # fmt: skip
    assert (done.returncode, done.stdout) == (0, b"Welcome!\n")
    with revkv.Client(server.url) as client:
        commit = client.get("default", "motd")
    assert (commit.author, commit.comment, commit.payload) == ("ann", "hi", b"Welcome!\n")


# -- watch -----------------------------------------------------------------------------


def start_watch(url: str, *args: str) -> subprocess.Popen[bytes]:
    command = [REVKV, "--url", url, "watch", *args]
    return subprocess.Popen(command, env=process_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)  # fmt: skip


def test_watch_follows_other_clients_writes_until_ctrl_c(server: RevkvServer) -> None:
    with revkv.Client(server.url) as writer:
        writer.put("default", "before", b"0", author="ann")
        with start_watch(server.url, "-A", "--since", "0", "--json") as process:
            try:
                first = read_lines(process, 1, timeout=30)  # the stream is open
                writer.put("other", "k", b"1", author="bob")
                writer.delete("default", "before", author="cy", comment="gone")
                writer.put("default", "session", b"s", author="dee", ttl=0.5)
                rest = read_lines(process, 4, timeout=30)
                process.send_signal(signal.SIGINT)
                code = process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
            assert process.stderr is not None
            stderr = process.stderr.read()
    events = [json.loads(line) for line in first + rest]
    assert all(e["commit"]["rev"] == e["rev"] for e in events)
    seen = [(e["type"], e["rev"], e["commit"]["namespace"], e["commit"]["key"],
             e["commit"]["author"]) for e in events]  # fmt: skip
    assert seen == [
        ("put", 1, "default", "before", "ann"),
        ("put", 2, "other", "k", "bob"),
        ("delete", 3, "default", "before", "cy"),
        ("put", 4, "default", "session", "dee"),
        ("expire", 5, "default", "session", "revkv"),  # the server's sweeper
    ]  # fmt: skip
    assert (code, stderr) == (0, b"")


def test_watch_says_so_when_the_server_goes_away(tmp_path: Path) -> None:
    server = RevkvServer(None).start()
    try:
        with start_watch(server.url, "--prefix", "a/", "--since", "0") as process:
            with revkv.Client(server.url) as writer:
                writer.put("default", "a/1", b"x", author="ann")
            line = read_lines(process, 1, timeout=30)
            server.stop()  # SIGTERM: graceful, watchers are told
            code = process.wait(timeout=30)
            assert process.stderr is not None
            stderr = process.stderr.read()
    finally:
        server.stop()
    assert line[0].split(b"\t")[:5] == [b"1", b"put", b"default", b"a/1", b"1"]
    assert (code, stderr) == (4, b"revkv: the watch ended: the server is shutting down\n")


# -- edit ------------------------------------------------------------------------------


def editor(tmp_path: Path, body: str) -> dict[str, str | None]:
    """An $EDITOR running a Python script on the file (`path`)."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import os, signal, subprocess, sys, time\nfrom pathlib import Path\n"
        "path = Path(sys.argv[1])\n" + body
    )
    return {"EDITOR": f'"{sys.executable}" "{script}"'}


def kept_text(stderr: str) -> str:
    found = re.search(r"your edited text is kept in (\S+)", stderr)
    assert found is not None, stderr
    path = Path(found.group(1))
    text = path.read_text()
    path.unlink()
    return text


def test_edit_commits_through_the_server_with_compare_and_set(
    tmp_path: Path, server: RevkvServer
) -> None:
    with revkv.Client(server.url) as client:
        client.put("default", "motd", b"Welcome!\n", author="bob")
    env = editor(tmp_path, "path.write_text(path.read_text().upper())\n")
    result = invoke("--url", server.url, "edit", "motd", "-m", "louder", env=env)
    assert (result.exit_code, result.stdout) == (0, "committed default/motd version 2 (rev 2)\n")
    fresh = invoke(
        "--url", server.url, "edit", "new-key", env=editor(tmp_path, "path.write_text('x')")
    )
    assert fresh.stdout == "committed default/new-key version 1 (rev 3)\n"
    with revkv.Client(server.url) as client:
        commit = client.get("default", "motd")
    assert (commit.version, commit.payload, commit.author, commit.comment) == (
        2, b"WELCOME!\n", "ann", "louder")  # fmt: skip


def test_edit_through_the_server_refuses_when_someone_committed_meanwhile(
    tmp_path: Path, server: RevkvServer
) -> None:
    with revkv.Client(server.url) as client:
        client.put("default", "motd", b"original")
    someone_else = [REVKV, "--url", server.url, "set", "motd", "theirs", "--author", "bob"]
    env = editor(
        tmp_path,
        f"subprocess.run({someone_else!r}, check=True, capture_output=True)\n"
        "path.write_text('mine')\n",
    )
    result = invoke("--url", server.url, "edit", "motd", env=env)
    assert result.exit_code == 3, result.output
    assert "someone else committed meanwhile" in result.stderr
    assert kept_text(result.stderr) == "mine"
    with revkv.Client(server.url) as client:
        commit = client.get("default", "motd")
    assert (commit.version, commit.payload, commit.author) == (2, b"theirs", "bob")


def test_edit_keeps_the_text_when_the_server_is_gone_on_save(tmp_path: Path) -> None:
    server = RevkvServer(None).start()
    try:
        assert server.process is not None
        env = editor(
            tmp_path,
            f"os.kill({server.process.pid}, signal.SIGTERM)\n"
            "time.sleep(1)\npath.write_text('unsaved work')\n",
        )
        result = invoke("--url", server.url, "edit", "notes", env=env)
    finally:
        server.stop()
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"revkv: cannot reach {server.url}: ")
    assert kept_text(result.stderr) == "unsaved work"


# -- tokens ----------------------------------------------------------------------------

WRITER = "writer-token-0123456789"
READER = "reader-token-0123456789"
TOKENS = f"""
[[tokens]]
name = "deploy"
token = "{WRITER}"
rights = "read-write"

[[tokens]]
name = "viewer"
token = "{READER}"
rights = "read"
namespaces = ["default"]
"""


def test_tokens_from_the_flag_or_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "revkv.toml"
    config.write_text(TOKENS)
    with RevkvServer(tmp_path / "data", "--config", str(config)) as server:
        url = server.url
        wrote = invoke("--url", url, "--token", WRITER, "set", "k", "v", "--json")
        assert wrote.exit_code == 0, wrote.output
        assert json.loads(wrote.stdout)["author"] == "deploy"  # the token's name, not $USER
        posing = invoke("--url", url, "--token", WRITER, "set", "k", "w", "--author", "bob")
        itself = invoke("--url", url, "--token", WRITER, "set", "k2", "x", "--author", "deploy")
        read = invoke("--url", url, "get", "k", env={"REVKV_TOKEN": READER})
        assert (read.exit_code, read.stdout) == (0, "v")
        refused = invoke("--url", url, "--token", READER, "set", "k", "w")
        anonymous = invoke("--url", url, "list")
        wrong = invoke("--url", url, "--token", "not-a-token-0123456789", "watch")
        elsewhere = invoke("--url", url, "--token", READER, "ns", "show", "other")
    assert (refused.exit_code, refused.stdout) == (4, "")
    assert refused.stderr == "revkv: token 'viewer' may not write to namespace 'default'\n"
    assert (posing.exit_code, posing.stdout) == (4, "")
    assert "token 'deploy' signs its commits with its own name" in posing.stderr
    assert "act_as_others" in posing.stderr
    assert itself.exit_code == 0, itself.output
    assert anonymous.exit_code == 4
    assert anonymous.stderr == (
        f"revkv: {url}: this server needs a token: send 'Authorization: Bearer <token>'; "
        "pass --token TOKEN or set REVKV_TOKEN\n"
    )
    assert wrong.exit_code == 4
    assert wrong.stderr == (
        f"revkv: {url}: the token is not valid for this server; check --token (or $REVKV_TOKEN)\n"
    )
    assert elsewhere.exit_code == 4
    assert "'viewer' may not read" in elsewhere.stderr


# -- a server that cannot be reached ---------------------------------------------------


def test_a_down_server_is_one_line_and_exit_4_in_a_real_process() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["get", "k"], ["set", "k", "v"], ["watch"], ["export", "-"]):
        done = subprocess.run([REVKV, "--url", url, *args], env=process_env(),
                              capture_output=True, timeout=60, check=False)  # fmt: skip
        assert (done.returncode, done.stdout) == (4, b""), args
        assert done.stderr == f"revkv: cannot reach {url}: connection refused\n".encode(), args
