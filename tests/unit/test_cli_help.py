"""Docs cannot rot: every command has help with an example, every option explains itself,
the exit codes are in the group's help, and docs/cli.md covers every command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from revkv.cli import cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


ALL = list(commands())


def test_the_commands_are_all_there() -> None:
    names = {" ".join(path) for path in ALL}
    assert names >= {"set", "get", "meta", "list", "history", "diff", "edit", "revert", "delete",
                     "watch", "ns", "ns list", "ns create", "ns show", "snapshot", "export",
                     "import", "check", "repair", "serve"}  # fmt: skip


@pytest.mark.parametrize("path", ALL, ids=" ".join)
def test_every_command_teaches_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"revkv {' '.join(path)}" in result.stdout  # the example runs this very command


@pytest.mark.parametrize("path", ALL, ids=" ".join)
def test_every_command_and_option_has_help(path: tuple[str, ...]) -> None:
    command = command_at(path)
    assert command.help and len(command.help) > 40
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"revkv {' '.join(path)} {param.opts[0]} has no help"


def test_the_exit_codes_are_documented_in_the_group_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for line in ["0  ok", "1  not found", "2  usage", "3  conflict", "4  any other error"]:
        assert line in result.stdout


def test_docs_show_every_command_in_an_example() -> None:
    blocks = re.findall(r"^```(?:console|sh)\n(.*?)^```", DOCS.read_text(), re.M | re.S)
    examples = "\n".join(blocks)
    for path in ALL:
        pattern = r"\brevkv (--data \S+ )?" + re.escape(" ".join(path)) + r"\b"
        assert re.search(pattern, examples), f"docs/cli.md has no example of revkv {' '.join(path)}"
