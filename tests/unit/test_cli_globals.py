"""Global options before or after the command (`revkv get k --url U`, `revkv -n ns get k`),
and the aliases etcdctl and redis-cli users type (`put`, `del`, `rm`); on real stores,
with no server (tests/integration/test_cli_url.py has `--url` after the command against
a running one)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from revkv.cli import cli
from revkv.cli._globals import SHARED
from tests.servers import free_port

CLEAN: dict[str, str | None] = {"REVKV_URL": None, "REVKV_TOKEN": None, "REVKV_DATA": None,
                                "REVKV_NAMESPACE": None, "REVKV_DB": None}  # fmt: skip


def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    runner = CliRunner(env={**CLEAN, "USER": "ann", "LOGNAME": "ann", **(env or {})})
    return runner.invoke(cli, list(args), prog_name="revkv", catch_exceptions=False)


def ok(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    result = invoke(*args, env=env)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def data(tmp_path: Path) -> str:
    """A store with `default/k = v` and `diary/k = dear diary`."""
    ok("--data", str(tmp_path), "set", "k", "v")
    ok("--data", str(tmp_path), "set", "-n", "diary", "k", "dear diary")
    return str(tmp_path)


# -- before or after the command ---------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--data", "{data}", "get", "k"],
        ["get", "k", "--data", "{data}"],
        ["get", "--data", "{data}", "k"],
    ],
    ids=["before", "after", "between"],
)
def test_data_goes_before_or_after_the_command(data: str, args: list[str]) -> None:
    assert ok(*(a.format(data=data) for a in args)).stdout == "v"


@pytest.mark.parametrize(
    "args",
    [
        ["-n", "diary", "get", "k"],
        ["get", "k", "-n", "diary"],
        ["--namespace", "diary", "get", "k"],
        ["get", "-n", "diary", "k"],
    ],
    ids=["-n before", "-n after", "--namespace before", "-n between"],
)
def test_the_namespace_goes_before_or_after_the_command(data: str, args: list[str]) -> None:
    assert ok("--data", data, *args).stdout == "dear diary"


def test_after_the_command_wins_over_before(data: str, tmp_path: Path) -> None:
    assert ok("-n", "default", "get", "k", "-n", "diary", "--data", data).stdout == "dear diary"
    assert ok("-n", "diary", "get", "k", "-n", "default", "--data", data).stdout == "v"
    elsewhere = tmp_path / "elsewhere"
    ok("--data", str(elsewhere), "set", "k", "other")
    assert ok("--data", str(elsewhere), "get", "k", "--data", data).stdout == "v"


def test_a_flag_before_the_command_beats_the_variable(data: str) -> None:
    env = {"REVKV_NAMESPACE": "nowhere"}
    assert ok("--data", data, "-n", "diary", "get", "k", env=env).stdout == "dear diary"
    assert ok("--data", data, "get", "k", "-n", "diary", env=env).stdout == "dear diary"
    assert ok("--data", data, "get", "k", env={"REVKV_NAMESPACE": "diary"}).stdout == "dear diary"
    assert ok("get", "k", env={"REVKV_DATA": data}).stdout == "v"


def test_json_goes_before_or_after_the_command(data: str) -> None:
    before = json.loads(ok("--data", data, "--json", "-n", "diary", "get", "k").stdout)
    after = json.loads(ok("--data", data, "get", "k", "--json", "-n", "diary").stdout)
    assert before == after
    assert (before["namespace"], before["payload"]) == ("diary", "dear diary")
    listed = json.loads(ok("--json", "list", "--data", data).stdout)
    assert [item["key"] for item in listed] == ["k"]


def test_writes_take_the_namespace_before_the_command(data: str) -> None:
    ok("--data", data, "-n", "diary", "set", "k2", "v2")
    ok("--data", data, "-n", "diary", "delete", "k")
    assert ok("get", "k2", "-n", "diary", "--data", data).stdout == "v2"
    assert invoke("--data", data, "-n", "diary", "get", "k").exit_code == 1
    assert ok("--data", data, "get", "k").stdout == "v"  # default/k untouched


def test_export_takes_the_namespace_before_the_command_as_its_only_one(data: str) -> None:
    def exported(*args: str, env: dict[str, str] | None = None) -> set[str]:
        lines = ok("--data", data, *args, "export", "-", env=env).stdout.splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        return {r["name"] for r in records if r["kind"] == "namespace"}

    assert exported("-n", "diary") == {"diary"}
    # the variable is a default for keys, not a filter of export's
    assert exported(env={"REVKV_NAMESPACE": "diary"}) >= {"default", "diary"}


def test_a_command_without_a_namespace_refuses_one_before_it(data: str) -> None:
    result = invoke("--data", data, "-n", "diary", "stats")
    assert result.exit_code == 2
    assert "Error: `revkv stats` takes no -n/--namespace" in result.stderr
    result = invoke("--data", data, "stats", "-n", "diary")
    assert result.exit_code == 2
    assert "No such option '-n'" in result.stderr
    result = invoke("--json", "serve", "--memory")
    assert result.exit_code == 2
    assert "`revkv serve` takes no --json" in result.stderr


def test_url_after_the_command_is_the_url(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    for args in (["get", "k", "--url", down], ["--url", down, "get", "k"]):
        result = invoke(*args, env={"REVKV_DATA": str(tmp_path)})
        assert result.exit_code == 4
        assert result.stderr == f"revkv: cannot reach {down}: connection refused\n"


def test_url_after_the_command_is_checked_as_before_it() -> None:
    result = invoke("list", "--url", "localhost:8080")
    assert result.exit_code == 2
    assert "is not an http:// or https:// URL (e.g. http://127.0.0.1:8080)" in result.stderr


def test_data_and_url_on_either_side_are_still_both_given(data: str) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    for args in (["--data", data, "list", "--url", down], ["--url", down, "list", "--data", data]):
        result = invoke(*args)
        assert result.exit_code == 2
        assert "give --data (a local store) or --url (a server), not both" in result.stderr


def test_token_after_the_command_goes_with_url_after_it(tmp_path: Path) -> None:
    result = invoke("--data", str(tmp_path), "list", "--token", "0123456789abcdef")
    assert result.exit_code == 2
    assert "--token goes with --url" in result.stderr
    down = f"http://127.0.0.1:{free_port()}"
    result = invoke("list", "--token", "0123456789abcdef", "--url", down)
    assert result.exit_code == 4  # the token was taken; the server is down
    assert "cannot reach" in result.stderr


def test_local_only_commands_refuse_url_after_them(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    result = invoke("check", "--url", down)
    assert result.exit_code == 2
    assert f"not against a server (--url {down}); pass --data DIR" in result.stderr
    result = invoke("serve", "--memory", "--url", down)
    assert result.exit_code == 2
    assert "`revkv serve` works on a local directory only" in result.stderr


def test_verbose_after_the_command_logs_more(data: str) -> None:
    root = logging.getLogger()
    level = root.level
    try:
        ok("--data", data, "get", "k", "-vv")
        assert root.level == logging.DEBUG
    finally:
        root.setLevel(level)


def test_sub_commands_of_groups_take_them_too(data: str) -> None:
    listed = json.loads(ok("ns", "list", "--json", "--data", data).stdout)
    assert {item["name"] for item in listed} >= {"default", "diary"}


def commands(group: click.Group = cli) -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        yield name, command
        if isinstance(command, click.Group):
            for sub, below in commands(command):
                yield f"{name} {sub}", below


@pytest.mark.parametrize(("path", "command"), list(commands()), ids=lambda v: str(v))
def test_every_command_help_lists_the_global_options(path: str, command: click.Command) -> None:
    text = invoke(*path.split(), "--help").stdout
    for flag in ("--url", "--data", "--token", "--db", "--ca-file", "--verbose"):
        assert f"{flag} " in text or f"{flag}," in text, f"revkv {path} --help lacks {flag}"


def test_commands_with_their_own_data_keep_its_meaning() -> None:
    serve = cli.commands["serve"]
    data = [p for p in serve.params if "--data" in getattr(p, "opts", [])]
    assert len(data) == 1 and data[0].name == "data"  # serve's own, not a copy
    assert "data" in SHARED


# -- aliases -----------------------------------------------------------------------------


def test_put_is_set_and_del_and_rm_are_delete(tmp_path: Path) -> None:
    where = ["--data", str(tmp_path)]
    assert ok(*where, "put", "k", "one").stdout == "committed default/k version 1 (rev 1)\n"
    assert ok(*where, "put", "k", "two", "-n", "default").stdout.endswith("version 2 (rev 2)\n")
    assert ok(*where, "del", "k").stdout == "deleted default/k version 3 (rev 3)\n"
    ok(*where, "put", "k", "back")
    assert ok(*where, "rm", "k", "-m", "gone").stdout == "deleted default/k version 5 (rev 5)\n"
    assert invoke(*where, "rm", "k").exit_code == 1  # deleted already: not found


def test_an_alias_help_names_what_was_typed() -> None:
    assert ok("put", "--help").stdout.startswith("Usage: revkv put [OPTIONS] KEY VALUE")
    assert ok("rm", "--help").stdout.startswith("Usage: revkv rm [OPTIONS] KEY")


def test_the_aliases_are_listed_beside_their_command_not_as_commands() -> None:
    text = ok("--help").stdout
    commands = text[text.index("Commands:") :].splitlines()
    assert any(line.split()[:3] == ["set", "(put)", "Commit"] for line in commands)
    assert any(line.split()[:4] == ["delete", "(del,", "rm)", "Delete"] for line in commands)
    names = [line.split()[0] for line in commands[1:] if line.startswith("  ") and line[2] != " "]
    assert "put" not in names and "rm" not in names and "del" not in names
