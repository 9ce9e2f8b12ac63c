"""Keys and their versions: set, get, meta, list, history, delete, revert.

Each command is parse, one store call, print. `get` writes the payload's bytes and
nothing else, so it pipes; the others print for people on a terminal and stable text
in a pipe (see `output`).
"""

from __future__ import annotations

import builtins
import os
import sys
import time
from collections.abc import Iterator

import click

from revkv._model import Commit, Expect, Meta
from revkv.cli._options import (
    author_options,
    expect_option,
    json_option,
    namespace_option,
    pass_store,
    version_option,
)
from revkv.cli._output import (
    emit_json,
    on_terminal,
    print_fields,
    print_rows,
    say,
    state_of,
    when,
)
from revkv.cli._target import CommandStore


def read_value(value: str) -> bytes:
    """The payload of `set`: `-` reads stdin as bytes; an argument keeps its exact bytes."""
    if value == "-":
        return sys.stdin.buffer.read()
    return os.fsencode(value)


def committed(verb: str, meta: Meta, as_json: bool) -> None:
    if as_json:
        emit_json(meta.to_dict())
    else:
        say(f"{verb} {meta.namespace}/{meta.key} version {meta.version} (rev {meta.rev})", "green")


@click.command("set")
@click.argument("key")
@click.argument("value")
@namespace_option
@author_options
@expect_option
@click.option("--ttl", type=click.FloatRange(min=0, min_open=True), help="Expire after SECONDS.")
@json_option
@pass_store(create=True)
def set_(
    store: CommandStore,
    key: str,
    value: str,
    namespace: str,
    author: str | None,
    comment: str,
    expect: Expect | None,
    ttl: float | None,
    as_json: bool,
) -> None:
    """Commit VALUE as the next version of KEY (`-` reads the value from stdin).

    The value is stored byte for byte. Without --ttl the namespace's default TTL
    applies (none unless set with `revkv ns create --default-ttl`).

    \b
    Examples:
      revkv set greeting 'hello world' -m 'first draft'
      revkv set -n config app.json - < app.json
      revkv set greeting 'hello again' --expect 1     # only if greeting is at version 1
      revkv set lock/job me --expect absent           # only if nobody holds it
      revkv set session/42 token --ttl 3600
    """
    expiry = {} if ttl is None else {"ttl": ttl}
    meta = store.put(
        namespace, key, read_value(value), expect=expect, author=author, comment=comment,
        **expiry,
    )  # fmt: skip
    committed("committed", meta, as_json)


@click.command()
@click.argument("key")
@namespace_option
@version_option("An older version instead of the latest.")
@json_option
@pass_store()
def get(store: CommandStore, key: str, namespace: str, version: int | None, as_json: bool) -> None:
    """Write the payload of KEY to stdout, byte for byte and nothing else.

    --json prints its metadata with the payload instead, in the shape the server's
    JSON has: `payload` as text when it is UTF-8, else `payload_base64`.

    \b
    Examples:
      revkv get greeting
      revkv get -n config app.json --version 3 > app.json
      revkv get greeting --json
    """
    commit = store.get(namespace, key, version)
    if as_json:
        emit_json(commit.to_dict(payload=True))
    else:
        sys.stdout.buffer.write(commit.payload)
        sys.stdout.buffer.flush()


@click.command()
@click.argument("key")
@namespace_option
@version_option("An older version instead of the latest.")
@click.option("--all", "include_deleted", is_flag=True, help="Show a deleted or expired head too.")
@json_option
@pass_store()
def meta(
    store: CommandStore,
    key: str,
    namespace: str,
    version: int | None,
    include_deleted: bool,
    as_json: bool,
) -> None:
    """Show who committed KEY, when, why, and its version and rev.

    \b
    Examples:
      revkv meta greeting
      revkv meta greeting --version 1 --json
      revkv meta removed-key --all     # its tombstone
    """
    found = store.meta(namespace, key, version, include_deleted=include_deleted)
    if as_json:
        emit_json(found.to_dict())
    else:
        terminal = on_terminal()
        fields = found.to_dict()
        fields["mtime"] = when(found.mtime, terminal)
        fields["expires"] = when(found.expires, terminal)
        print_fields(fields)


def listing(
    store: CommandStore, namespace: str, prefix: str | None, include_deleted: bool
) -> Iterator[Commit]:
    """Every key's newest commit in key order, page after page."""
    after: str | None = None
    while True:
        page = store.list(
            namespace, prefix=prefix, start_after=after, include_deleted=include_deleted
        )
        yield from page.items
        if page.next is None:
            return
        after = page.next


@click.command("list")
@namespace_option
@click.option("--prefix", help="Only keys that start with PREFIX (e.g. a path like `users/`).")
@click.option("--all", "include_deleted", is_flag=True, help="Include deleted and expired keys.")
@json_option
@pass_store()
def list_(
    store: CommandStore, namespace: str, prefix: str | None, include_deleted: bool, as_json: bool
) -> None:
    """List the keys of a namespace with their latest version, in key order.

    On a terminal, a table; in a pipe, one tab-separated line per key: key, version,
    author, mtime (ISO 8601 UTC), size in bytes, and with --all its state (live,
    deleted or expired).

    \b
    Examples:
      revkv list
      revkv list -n config --prefix app/
      revkv list --all --json
    """
    commits = listing(store, namespace, prefix, include_deleted)
    now = time.time()
    if as_json:
        emit_json(
            [{**c.to_dict(), "size": len(c.payload), "state": state_of(c, now)} for c in commits]
        )
        return
    terminal = on_terminal()
    columns = ["key", "version", "author", "mtime", "size"] + (["state"] if include_deleted else [])
    rows = (
        [c.key, c.version, c.author, when(c.mtime, terminal), len(c.payload)]
        + ([state_of(c, now)] if include_deleted else [])
        for c in commits
    )
    print_rows(columns, rows)


def versions(store: CommandStore, namespace: str, key: str) -> Iterator[Meta]:
    """Every version of a key, newest first, page after page."""
    before: int | None = None
    while True:
        page = store.history(namespace, key, before=before)
        yield from page.items
        if page.next is None:
            return
        before = page.next


@click.command()
@click.argument("key")
@namespace_option
@json_option
@pass_store()
def history(store: CommandStore, key: str, namespace: str, as_json: bool) -> None:
    """Show every version of KEY, newest first, deletes included.

    In a pipe, one tab-separated line per version: version, rev, mtime, author,
    operation (put, delete, or purged: a put whose payload `revkv purge` removed),
    comment.

    \b
    Examples:
      revkv history greeting
      revkv history greeting --json | jq '.[0].comment'
    """
    found: builtins.list[Meta] = builtins.list(versions(store, namespace, key))
    if as_json:
        emit_json([m.to_dict() for m in found])
        return
    terminal = on_terminal()
    print_rows(
        ["version", "rev", "mtime", "author", "op", "comment"],
        (
            [m.version, m.rev, when(m.mtime, terminal), m.author, _operation(m), m.comment]
            for m in found
        ),
    )


def _operation(meta: Meta) -> str:
    if meta.purged:
        return "purged"
    return "delete" if meta.deleted else "put"


@click.command()
@click.argument("key")
@namespace_option
@author_options
@expect_option
@json_option
@pass_store()
def delete(
    store: CommandStore,
    key: str,
    namespace: str,
    author: str | None,
    comment: str,
    expect: Expect | None,
    as_json: bool,
) -> None:
    """Delete KEY: commit a tombstone. Its history stays; `revkv revert` brings it back.

    \b
    Examples:
      revkv delete greeting -m 'no longer used'
      revkv delete greeting --expect 3    # only if nobody committed after version 3
    """
    committed(
        "deleted",
        store.delete(namespace, key, expect=expect, author=author, comment=comment),
        as_json,
    )


@click.command()
@click.argument("key")
@click.argument("to_version", metavar="VERSION", type=click.IntRange(min=1))
@namespace_option
@author_options
@expect_option
@json_option
@pass_store()
def revert(
    store: CommandStore,
    key: str,
    to_version: int,
    namespace: str,
    author: str | None,
    comment: str,
    expect: Expect | None,
    as_json: bool,
) -> None:
    """Commit the payload of an older VERSION of KEY again, as a new version.

    Nothing is rewritten: the versions in between stay in the history. The comment
    defaults to `revert to version N`.

    \b
    Examples:
      revkv revert greeting 1
      revkv revert greeting 1 -m 'the second draft was wrong'
      revkv revert greeting 1 --expect 3    # only if nobody committed after version 3
    """
    meta = store.revert(
        namespace, key, to_version, expect=expect, author=author, comment=comment or None
    )
    committed(f"reverted to version {to_version}:", meta, as_json)
