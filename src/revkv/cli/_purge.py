"""`revkv purge` and `revkv compact`: removing history for good, and its bytes from disk."""

from __future__ import annotations

import click

from revkv.cli._options import json_option, pass_store
from revkv.cli._output import emit_json, say
from revkv.cli._target import CommandStore


@click.command()
@click.argument("namespace", metavar="NS")
@click.argument("key")
@click.option(
    "--before-version",
    type=click.IntRange(min=1),
    metavar="N",
    help="Purge the versions below version N (default: all but the newest).",
)
@click.option("--all-versions", is_flag=True, help="Purge every version, the newest included.")
@json_option
@pass_store()
def purge(
    store: CommandStore,
    namespace: str,
    key: str,
    before_version: int | None,
    all_versions: bool,
    as_json: bool,
) -> None:
    """Remove the payloads of old versions of KEY in namespace NS, for good.

    The versions stay in the history, marked purged, so it still shows who changed
    what and when; reading one fails (exit 1; HTTP 410 Gone). When it returns, the
    payloads are in no file of the store: it compacts (see `revkv compact`). Against a
    server (--url) it needs an admin token: read-write on every namespace.

    \b
    Examples:
      revkv purge config db.password                  # all but the newest version
      revkv purge config db.password --before-version 7
      revkv purge config db.password --all-versions   # the newest too
    """
    if before_version is not None and all_versions:
        raise click.UsageError("give --before-version N or --all-versions, not both")
    purged = store.purge(namespace, key, before_version=before_version, all_versions=all_versions)
    if as_json:
        emit_json({"namespace": namespace, "key": key, "purged": purged})
    else:
        versions = "version" if purged == 1 else "versions"
        say(f"purged {purged} {versions} of {namespace}/{key}; their history remains", "green")


@click.command()
@json_option
@pass_store()
def compact(store: CommandStore, as_json: bool) -> None:
    """Remove from disk what the store no longer needs.

    An embedded store writes a snapshot, then removes every older snapshot and
    journal segment: what retention dropped and what was purged is then in no file.
    A PostgreSQL store (--db) runs VACUUM on its commits. Against a server (--url) the
    server compacts its own store; that needs an admin token.

    \b
    Examples:
      revkv compact
      revkv --url http://127.0.0.1:8080 compact --json
    """
    done = store.compact()
    if as_json:
        emit_json(
            {
                "snapshot": done.snapshot,
                "removed_files": done.removed_files,
                "removed_bytes": done.removed_bytes,
            }
        )
    elif done.snapshot is None:
        say("compacted", "green")
    else:
        files = "file" if done.removed_files == 1 else "files"
        say(f"compacted: {done.snapshot} written, {done.removed_files} older {files} removed")
