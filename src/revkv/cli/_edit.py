"""Payloads as text: compare two versions (`diff`), change one in an editor (`edit`).

`edit` never holds the store while the editor runs (the directory is locked by one
process at a time, and someone else may want to write meanwhile): it reads, closes,
runs the editor, then commits with compare-and-set. If anyone committed in between,
the commit is refused and the edited text is left in its temporary file. Against a
server (`--url`) it is the same: a read, the editor, a compare-and-set write.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import click
from rich.text import Text

from revkv._diffs import unified_diff
from revkv.cli._kv import committed
from revkv.cli._options import author_options, json_option, namespace_option, pass_store
from revkv.cli._output import CommandError, console, emit_json, on_terminal, say
from revkv.cli._target import CommandStore, current_target, open_store
from revkv.errors import Conflict, KeyNotFound, NamespaceNotFound

DIFF_STYLES = {"+++": "bold", "---": "bold", "@@": "cyan", "+": "green", "-": "red"}


def print_diff(lines: list[str]) -> None:
    """The diff as text; coloured like `git diff` on a terminal."""
    if not on_terminal():
        click.echo("".join(lines), nl=False)
        return
    out = console()
    for line in "".join(lines).splitlines():
        style = next((s for mark, s in DIFF_STYLES.items() if line.startswith(mark)), "")
        out.print(Text(line, style=style), soft_wrap=True)


@click.command()
@click.argument("key")
@click.argument("old", metavar="V1", type=click.IntRange(min=1))
@click.argument("new", metavar="V2", type=click.IntRange(min=1))
@namespace_option
@json_option
@pass_store()
def diff(store: CommandStore, key: str, old: int, new: int, namespace: str, as_json: bool) -> None:
    """Show how version V2 of KEY differs from V1, as a unified diff.

    A deleted version counts as empty. Binary (non-UTF-8) payloads are not shown:
    the command says whether they differ.

    \b
    Examples:
      revkv diff greeting 1 2
      revkv diff -n config app.json 3 7 | less
      revkv diff greeting 1 2 --json
    """
    before, after = store.get(namespace, key, old), store.get(namespace, key, new)
    labels = f"{key}@{old}", f"{key}@{new}"
    try:
        lines = unified_diff(before.text, after.text, *labels)
        binary = False
    except UnicodeDecodeError:
        lines, binary = [], True
    identical = before.payload == after.payload
    if as_json:
        emit_json(
            {"namespace": namespace, "key": key, "from_version": old, "to_version": new,
             "binary": binary, "identical": identical, "diff": None if binary else "".join(lines)}
        )  # fmt: skip
    elif binary:
        verdict = "are identical" if identical else "differ"
        click.echo(f"binary payloads of {labels[0]} and {labels[1]} {verdict}")
    else:
        print_diff(lines)


def editor_command() -> str:
    return os.environ.get("EDITOR") or "vi"


def base_version(store: CommandStore, namespace: str, key: str) -> tuple[int, bytes]:
    """(the version the edit starts from, its payload); (0, b"") for a new key.

    A deleted key starts empty after its tombstone; an expired one after the tombstone
    the store records before the next write.
    """
    try:
        commit = store.get(namespace, key)
        return commit.version, commit.payload
    except (KeyNotFound, NamespaceNotFound):
        pass
    try:
        head = store.meta(namespace, key, include_deleted=True)
    except (KeyNotFound, NamespaceNotFound):
        return 0, b""
    expired = not head.deleted and head.is_expired(time.time())
    return head.version + (1 if expired else 0), b""


def edit_in_place(path: Path) -> None:
    try:
        click.edit(editor=editor_command(), filename=str(path), require_save=False)
    except click.ClickException as error:
        raise CommandError(f"{error.format_message()}; the text is in {path}", 4) from error


@click.command()
@click.argument("key")
@namespace_option
@author_options
@click.option("--json", "as_json", is_flag=True, help="Print the new commit's meta as JSON.")
def edit(key: str, namespace: str, author: str | None, comment: str, as_json: bool) -> None:
    """Edit KEY in $EDITOR (default vi) and commit the result as its next version.

    The payload is written to a temporary file and the store is released while you
    edit. On save, the text is committed only if nobody committed to KEY meanwhile
    (compare-and-set): otherwise nothing is committed, the command exits 3 and says
    where your edited text was kept. Unchanged text commits nothing. A key that does
    not exist (or was deleted) starts empty.

    \b
    Examples:
      revkv edit greeting -m 'fix the typo'
      EDITOR='code --wait' revkv edit -n config app.json
    """
    target = current_target()
    with open_store(target, create=True) as store:
        version, payload = base_version(store, namespace, key)
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{key} holds binary data; edit only opens text", 2) from None
    path = _temporary_file(key, payload)
    edit_in_place(path)
    edited = path.read_bytes()
    if edited == payload:
        path.unlink()
        say(f"no change to {namespace}/{key}; nothing committed")
        return
    try:
        with open_store(target, create=True) as store:
            meta = store.put(namespace, key, edited, expect=version, author=author, comment=comment)
    except CommandError as error:
        raise _kept(error, path) from error
    path.unlink()
    committed("committed", meta, as_json)


def _temporary_file(key: str, payload: bytes) -> Path:
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)[-40:]
    fd, name = tempfile.mkstemp(prefix=f"revkv-{stem}-", suffix=".txt")
    with os.fdopen(fd, "wb") as file:
        file.write(payload)
    return Path(name)


def _kept(error: CommandError, path: Path) -> CommandError:
    """The commit failed (refused, or the store or server unreachable): say why, and
    where the edited text is."""
    reason = error.format_message()
    if isinstance(error.__cause__, Conflict):
        reason = f"someone else committed meanwhile, so nothing was committed. {reason}"
    return CommandError(f"{reason}\nyour edited text is kept in {path}", error.exit_code)
