"""`revkv watch`: print changes as they are committed, one line each, until Ctrl-C.

The command opens the data directory itself, and the directory is locked by one
process at a time: it sees what was committed before it started (`--since`) and what
this process commits (TTL expiries, written by the sweeper), not other processes'
writes. Watching a running server arrives with the HTTP client (`--url`).
"""

from __future__ import annotations

import click

from revkv.cli.options import json_option, pass_store
from revkv.cli.output import console, emit_json_line, meta_fields, on_terminal, when
from revkv.model import Event
from revkv.store.embedded import EmbeddedStore

TYPE_STYLES = {"put": "green", "delete": "red", "expire": "yellow", "reset": "magenta"}


def event_fields(event: Event) -> dict[str, object]:
    """An event as JSON: its type and rev, then the commit's meta (or the reset state)."""
    if event.commit is not None:
        return {**meta_fields(event.commit, len(event.commit.payload)), "type": event.type}
    state = [meta_fields(c, len(c.payload)) for c in event.state or []]
    return {"type": event.type, "rev": event.rev, "state": state}


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
        emit_json_line(event_fields(event))
    elif on_terminal():
        style = TYPE_STYLES.get(event.type, "")
        console().print(event_line(event, True), style=style, markup=False, soft_wrap=True)
    else:
        click.echo(event_line(event, False))


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
    store: EmbeddedStore,
    namespace: str,
    all_namespaces: bool,
    prefix: str | None,
    since: int | None,
    no_follow: bool,
    as_json: bool,
) -> None:
    """Print changes as they are committed, one line each, until Ctrl-C.

    Each line: rev, type (put, delete or expire), namespace, key, version, author and
    mtime, tab-separated in a pipe; --json prints JSON Lines instead.

    This command opens the local store in its own process, and a data directory is
    open in one process at a time: it shows the changes after --since and the
    expiries this process records, not other processes' writes while it runs.
    Watching a running server needs the HTTP client (`--url`, coming).

    \b
    Examples:
      revkv watch --since 0 --no-follow          # everything retained, then stop
      revkv watch -A --since 120 --json | jq .key
      revkv watch --prefix session/              # expiries as they happen
    """
    watching = store.watch(
        since, namespace=None if all_namespaces else namespace, prefix=prefix or None
    )
    try:
        while (event := watching.next(timeout=0 if no_follow else None)) is not None:
            print_event(event, as_json)
    except KeyboardInterrupt:
        pass
    finally:
        watching.close()
