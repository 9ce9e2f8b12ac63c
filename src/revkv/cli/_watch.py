"""`revkv watch`: print changes as they are committed, one line each, until Ctrl-C.

With `--url` it follows the server's watch stream, so it sees every client's writes.
On a local directory, which is locked by one process at a time, it sees what was
committed before it started (`--since`) and what this process commits (TTL expiries,
written by the sweeper), not other processes' writes. `--no-follow` reads the same
changes as pages of `Store.changes`, up to the rev at the start, on either store.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from revkv._model import Event
from revkv.cli._options import json_option, pass_store
from revkv.cli._output import CommandError, console, emit_json_line, on_terminal, when
from revkv.cli._target import CommandStore, Watching

TYPE_STYLES = {"put": "green", "delete": "red", "expire": "yellow", "reset": "magenta"}


def event_line(event: Event, terminal: bool) -> str:
    """rev, type, namespace, key, version, author, mtime: tab-separated (spaced on a terminal)."""
    commit = event.commit
    if commit is None:
        cells = [event.rev, event.type, "", "", "", "", ""]
    else:
        cells = [commit.rev, event.type, commit.namespace, commit.key, commit.version,
                 commit.author, when(commit.mtime, terminal)]  # fmt: skip
    return ("  " if terminal else "\t").join(str(cell) for cell in cells)


def print_event(event: Event, as_json: bool) -> None:
    if as_json:
        emit_json_line(event.to_dict())
    elif on_terminal():
        style = TYPE_STYLES.get(event.type, "")
        console().print(event_line(event, True), style=style, markup=False, soft_wrap=True)
    else:
        click.echo(event_line(event, False))


def replay(
    store: CommandStore, since: int, namespace: str | None, prefix: str | None
) -> Iterator[Event]:
    """The changes after `since` up to the store's rev now, page after page."""
    upto = store.rev
    while since < upto and (page := store.changes(since, namespace=namespace, prefix=prefix)):
        yield from (event for event in page if event.rev <= upto)
        since = page[-1].rev


def follow(watching: Watching, as_json: bool) -> None:
    """Print events as they come, until Ctrl-C; the stream ending first is an error."""
    try:
        while (event := watching.next()) is not None:
            print_event(event, as_json)
    except KeyboardInterrupt:
        return
    finally:
        watching.close()
    raise CommandError("the watch ended: the server is shutting down", 4)


@click.command()
@click.option("-n", "--namespace", default="default", show_default=True,
              envvar="REVKV_NAMESPACE", help="The namespace to watch.")  # fmt: skip
@click.option("-A", "--all-namespaces", is_flag=True, help="Watch every namespace.")
@click.option("--prefix", help="Only keys that start with PREFIX.")
@click.option("--since", type=click.IntRange(min=0), help="First replay the changes after REV.")
@click.option("--no-follow", is_flag=True, help="Print the changes since REV, then stop.")
@json_option
@pass_store()
def watch(
    store: CommandStore,
    namespace: str,
    all_namespaces: bool,
    prefix: str | None,
    since: int | None,
    no_follow: bool,
    as_json: bool,
) -> None:
    """Print changes as they are committed, one line each, until Ctrl-C.

    Each line: rev, type (put, delete or expire), namespace, key, version, author and
    mtime, tab-separated in a pipe; --json prints JSON Lines instead, each event
    as the server sends it: {"type", "rev", "commit": {...}}.

    With --url it follows the server's live stream (Server-Sent Events): every
    client's writes, as they are committed; a dropped connection is resumed without
    missing or repeating a change. On a local --data directory, which one process
    opens at a time, it shows the changes after --since and the expiries this
    process records, but no other process can write while it runs.

    \b
    Examples:
      revkv watch --since 0 --no-follow          # everything retained, then stop
      revkv watch -A --since 120 --json | jq .commit.key
      revkv --url http://127.0.0.1:8080 watch --prefix session/
    """
    scope = None if all_namespaces else namespace
    if no_follow:
        start = store.rev if since is None else since
        for event in replay(store, start, scope, prefix or None):
            print_event(event, as_json)
        return
    follow(store.watch(since, namespace=scope, prefix=prefix or None), as_json)
