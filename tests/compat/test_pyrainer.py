"""pyrainer 0.26, unmodified, against a real `revkv serve`: its RainerClient and its CLI,
with base URL http://127.0.0.1:PORT/kv/{ns} (reference/rainer-http.md §5.3)."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from pyrainer.commit import RainerCommit
from pyrainer.http import RainerClient

from tests.servers import RevkvServer

JODA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# pyrainer's CLI takes the author from os.getlogin(), which needs a terminal.
RUNNER = """\
import os, runpy, sys
os.getlogin = lambda: os.environ.get("RAINER_USER", "tester")
sys.argv[0] = "pyrainer.rainer"
runpy.run_module("pyrainer.rainer", run_name="__main__", alter_sys=True)
"""

_names = itertools.count()

Rainer = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def server() -> Iterator[RevkvServer]:
    with RevkvServer(None) as server:
        yield server


@pytest.fixture
def base(server: RevkvServer) -> str:
    """A fresh namespace's Rainer base URL."""
    return f"{server.url}/kv/diary{next(_names)}"


@pytest.fixture
def client(base: str) -> RainerClient:
    return RainerClient(base)


def commit(client: RainerClient, key: str, version: int, value: str, **meta: object) -> dict:
    sent = {"key": key, "version": version, "author": "dude", "comment": "stuff", **meta}
    result: dict = client.post_commit(sent, value)
    return result


# -- RainerClient --------------------------------------------------------------------------------


def test_list_of_a_new_namespace_is_empty(client: RainerClient) -> None:
    assert client.list() == {}
    assert client.list(all=True) == {}
    assert client.list_full() == {}


def test_post_commit_returns_the_new_meta(client: RainerClient) -> None:
    meta = commit(client, "what", 1, '{"s": "hey"}')
    assert meta == {**meta, "key": "what", "version": 1, "author": "dude", "comment": "stuff"}
    assert meta["empty"] is False
    assert JODA_TIME.match(meta["mtime"])
    assert set(meta) == {"key", "version", "author", "comment", "mtime", "empty"}


def test_reads_of_a_commit(client: RainerClient) -> None:
    commit(client, "what", 1, '{"s": "hey"}')
    commit(client, "what", 2, "plain text, not JSON: any payload is accepted")
    assert client.get_value("what") == b"plain text, not JSON: any payload is accepted"
    assert client.get_value("what", 1) == b'{"s": "hey"}'
    assert client.get_metadata("what")["version"] == 2
    assert client.get_metadata("what", 1)["version"] == 1
    latest = client.get_commit("what")
    assert isinstance(latest, RainerCommit)
    assert (latest.key, latest.version, latest.author) == ("what", 2, "dude")
    assert latest.comment == "stuff"
    assert latest.empty is False
    assert latest.value == b"plain text, not JSON: any payload is accepted"
    first = client.get_commit("what", 1)
    assert (first.version, first.value) == (1, b'{"s": "hey"}')
    assert first.mtime == client.get_metadata("what", 1)["mtime"]


def test_keys_with_reserved_characters_when_the_caller_percent_encodes(
    client: RainerClient,
) -> None:
    """pyrainer puts keys in the URL as they are: escaped by the caller, any key works."""
    for key in ("grüße", "a/b", "what?x=1", "with space", "frag#ment"):
        encoded = quote(key, safe="")
        assert commit(client, encoded, 1, f"value of {key} ✓")["key"] == key
        assert client.get_commit(encoded).value == f"value of {key} ✓".encode()
        assert client.get_metadata(encoded, 1)["key"] == key
    assert sorted(client.list()) == sorted(["grüße", "a/b", "what?x=1", "with space", "frag#ment"])


def test_binary_payload_written_by_another_client(client: RainerClient, base: str) -> None:
    payload = bytes(range(256))
    httpx.put(f"{base}/blob", content=payload).raise_for_status()
    assert client.get_value("blob") == payload
    assert client.get_commit("blob").value == payload


def test_an_empty_commit(client: RainerClient) -> None:
    commit(client, "what", 1, "hey")
    meta = commit(client, "what", 2, "", empty=True)
    assert meta["empty"] is True
    gone = client.get_commit("what")
    assert gone.empty is True
    assert gone.value is None
    assert client.get_value("what") == b""
    assert client.get_commit("what", 1).value == b"hey"
    assert "what" not in client.list()
    assert client.list(all=True)["what"]["empty"] is True


def test_explicit_empty_false(client: RainerClient) -> None:
    assert commit(client, "what", 1, "hey", empty=False)["empty"] is False


def test_list_and_list_all(client: RainerClient) -> None:
    commit(client, "a", 1, "one")
    commit(client, "b", 1, "two")
    commit(client, "b", 2, "", empty=True)
    listing = client.list()
    assert list(listing) == ["a"]
    assert listing["a"]["version"] == 1
    assert sorted(client.list(all=True)) == ["a", "b"]


def test_list_full(client: RainerClient) -> None:
    commit(client, "a", 1, "one")
    commit(client, "b", 1, "two")
    full = client.list_full()
    assert {key: (c.version, c.value) for key, c in full.items()} == {
        "a": (1, b"one"),
        "b": (1, b"two"),
    }
    assert set(client.list_full(all=True)) == {"a", "b"}


def test_list_full_all_with_an_empty_commit_fails_in_pyrainer(client: RainerClient) -> None:
    """As against Rainer: an empty commit carries no payload_base64 (a pyrainer 0.26 bug)."""
    commit(client, "a", 1, "one")
    commit(client, "a", 2, "", empty=True)
    with pytest.raises(KeyError, match="payload_base64"):
        client.list_full(all=True)
    assert client.list_full() == {}


def test_a_conflict_is_an_http_error_409(client: RainerClient) -> None:
    commit(client, "what", 1, "one")
    with pytest.raises(urllib.error.HTTPError) as raised:
        commit(client, "what", 1, "again")
    assert raised.value.code == 409
    body = json.loads(raised.value.read())
    assert body == {"conflict": {"key": "what", "expectedVersion": 2, "providedVersion": 1}}
    raised.value.close()
    with pytest.raises(urllib.error.HTTPError) as skipped:
        commit(client, "what", 3, "skipped one")
    assert skipped.value.code == 409
    skipped.value.close()
    assert client.get_value("what") == b"one"


def test_not_found_is_an_http_error_404(client: RainerClient) -> None:
    for call in (
        lambda: client.get_commit("nothing"),
        lambda: client.get_value("nothing"),
        lambda: client.get_metadata("nothing", 3),
    ):
        with pytest.raises(urllib.error.HTTPError) as raised:
            call()
        assert raised.value.code == 404
        assert raised.value.read() == b"Key not found"
        raised.value.close()


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pyrainer") / "rainer_cli.py"
    path.write_text(RUNNER)
    return path


@pytest.fixture
def rainer(runner: Path, base: str) -> Rainer:
    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "RAINER_USER": "alice", "NO_COLOR": "1"}
        env.pop("FORCE_COLOR", None)
        done = subprocess.run(
            [sys.executable, str(runner), "--url", base, *args],
            input=stdin,
            capture_output=True,
            check=False,
            text=True,
            env=env,
            timeout=60,
        )
        done.stdout = ANSI.sub("", done.stdout)
        return done

    return run


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_cli_commit_value_then_show(rainer: Rainer, client: RainerClient) -> None:
    printed = ok(rainer("commit-value", "foo", "-m", "first", stdin='{"a": 1}'))
    assert "'version': 1" in printed
    assert "'author': 'alice'" in printed
    assert "'comment': 'first'" in printed
    ok(rainer("commit-value", "foo", "2", "-m", "second", stdin='{"a": 2}'))
    assert client.get_metadata("foo")["author"] == "alice"
    assert ok(rainer("show", "foo")) == '{"a": 2}\n'
    assert ok(rainer("show", "foo", "1")) == '{"a": 1}\n'


def test_cli_list_and_list_all(rainer: Rainer, client: RainerClient, base: str) -> None:
    commit(client, "foo", 1, "x")
    commit(client, "bar", 1, "y")
    commit(client, "bar", 2, "z")
    commit(client, "gone", 1, "x")
    commit(client, "gone", 2, "", empty=True)
    expected = [f"{'2':3}{'bar':35}\t{base}/bar/2", f"{'1':3}{'foo':35}\t{base}/foo/1"]
    assert ok(rainer("list")).splitlines() == expected
    with_empty = ok(rainer("list", "-A")).splitlines()
    assert with_empty == [*expected, f"{'2':3}{'gone':35}\t{base}/gone/2"]
    assert ok(rainer("list", "--all")).splitlines() == with_empty


def test_cli_show_of_an_empty_commit_prints_nothing(rainer: Rainer, client: RainerClient) -> None:
    commit(client, "foo", 1, "x")
    commit(client, "foo", 2, "", empty=True)
    assert ok(rainer("show", "foo")) == ""
    assert ok(rainer("show", "foo", "1")) == "x\n"


def test_cli_log(rainer: Rainer, client: RainerClient) -> None:
    commit(client, "foo", 1, "line one\n", comment="start")
    commit(client, "foo", 2, "line one\nline two\n", author="bob", comment="grow")
    mtimes = [client.get_metadata("foo", v)["mtime"] for v in (1, 2)]
    lines = ok(rainer("log", "foo")).splitlines()
    assert lines[:4] == ["Commit 2", "Author: bob", f"Date:   {mtimes[1]}", ""]
    assert "  grow" in lines
    assert "+line two" in lines
    second = lines.index("Commit 1")
    assert lines[second : second + 3] == ["Commit 1", "Author: dude", f"Date:   {mtimes[0]}"]
    assert "+line one" in lines[second:]
    assert lines[-1] == "End of Log"
    only_first = ok(rainer("log", "foo", "1")).splitlines()
    assert only_first[0] == "Commit 1"
    assert "Commit 2" not in only_first


def test_cli_uncommit_answering_yes(rainer: Rainer, client: RainerClient) -> None:
    commit(client, "foo", 1, "x")
    printed = ok(rainer("uncommit", "foo", stdin="yes\n"))
    assert "'empty': True" in printed
    assert client.get_commit("foo").empty is True
    assert ok(rainer("list")) == ""


def test_cli_conflict_exits_1_with_the_body(rainer: Rainer, client: RainerClient) -> None:
    commit(client, "foo", 1, "x")
    done = rainer("commit-value", "foo", "-m", "again", stdin="y")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "HTTP Error 409: Conflict",
        repr(b'{"conflict":{"key":"foo","expectedVersion":2,"providedVersion":1}}\r\n'),
    ]


def test_cli_show_of_a_missing_key_exits_1(rainer: Rainer) -> None:
    done = rainer("show", "nothing")
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["HTTP Error 404: Not Found", "b'Key not found'"]
