"""`revkv export` and `revkv import`: every version of every key, as JSON Lines.

The file holds one JSON object per line. First one per namespace with its settings:

    {"kind": "namespace", "name": "config", "max_payload": 1048576, ...}

then one per version, each key's versions oldest first, in revkv's one shape of a
commit (`Commit.to_dict`, as the server and `revkv get --json` write it):

    {"kind": "version", "namespace": "config", "key": "app.json", "version": 3,
     "rev": 17, "author": "ann", "comment": "raise the limit",
     "mtime": "2026-11-24T16:00:00.1230517Z", "expires": null, "deleted": false,
     "payload": "{...}"}

and `"token"`, the token that made the version, when one did; `"purged": true` for a
version whose payload was purged. `mtime` and `expires` are ISO 8601 UTC with every
digit the stored time has, so they read back exactly; `payload` is text when it is
UTF-8, else `payload_base64`; `rev` is the rev the version had. Files written before
(times as epoch seconds, `payload` with `"base64": true`) are read too.

Import loads the versions as they were (versions, authors, comments, mtimes) through
`Service.import_commits`; each key's versions must continue its history without a
gap, so import into an empty store (or one without those keys). Revs are new, unless
`--keep-revs` restores them (`Service.import_keeping_revs`, into an empty store).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import click
import msgspec

from revkv._model import Commit, Meta
from revkv._service import Service
from revkv.cli._kv import listing, versions
from revkv.cli._options import pass_local_store, pass_store
from revkv.cli._output import (
    CommandError,
    emit_json_line,
    exit_code_for,
)
from revkv.cli._target import CommandStore
from revkv.errors import InvalidRequest, RevkvError, VersionConflict

BATCH = 1000  # versions per import command (one rev each)


@contextmanager
def progress(description: str, total: float | None) -> Iterator[Callable[[float], None]]:
    """Yield `advance(amount)`: a rich progress bar on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield lambda amount: None
        return
    from rich.progress import Progress

    from revkv.cli._output import console

    with Progress(console=console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda amount: bar.advance(task, amount)


def version_record(commit: Commit) -> dict[str, Any]:
    return {"kind": "version", **commit.to_dict(payload=True)}


def every_version(store: CommandStore, namespace: str) -> Iterator[tuple[str, list[Commit]]]:
    """(key, its versions oldest first) for each key, deleted ones included."""
    for head in listing(store, namespace, None, include_deleted=True):
        metas = reversed(list(versions(store, namespace, head.key)))
        yield head.key, [_version(store, m) for m in metas]


def _version(store: CommandStore, meta: Meta) -> Commit:
    """The version with its payload; a purged one has none, and says so."""
    if meta.purged:
        return Commit(*msgspec.structs.astuple(meta))  # the meta, an empty payload
    return store.get(meta.namespace, meta.key, meta.version)


@click.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"))
@click.option("-n", "--namespace", "only", multiple=True,
              help="Export only this namespace (repeat for more); default: every one.")  # fmt: skip
@pass_store()
def export(store: CommandStore, file: IO[str], only: tuple[str, ...]) -> None:
    """Write every version of every key to FILE (`-` for stdout) as JSON Lines.

    Deleted keys and tombstones are included, so the history is complete; versions
    already removed by a namespace's retention are not. See `revkv import`.

    \b
    Examples:
      revkv export backup.jsonl
      revkv export -n config - | gzip > config.jsonl.gz
    """
    names = list(only) or [n.name for n in store.namespaces()]
    namespaces = [store.get_namespace(name) for name in names]
    keys = sum(store.count(n.name, include_deleted=True) for n in namespaces)
    written = 0
    with progress("exporting", keys) as advance:
        for namespace in namespaces:
            settings = {k: v for k, v in namespace.to_dict().items() if k != "created_rev"}
            emit_json_line({"kind": "namespace", **settings}, file)
            for _key, commits in every_version(store, namespace.name):
                for commit in commits:
                    emit_json_line(version_record(commit), file)
                written += len(commits)
                advance(1)
    summary = (
        f"{count(written, 'version')} of {count(keys, 'key')} in {count(len(names), 'namespace')}"
    )
    click.echo(f"exported {summary}", err=True)


def parse_line(line: bytes) -> tuple[str, Any]:
    """("namespace", settings) or ("version", Commit) from one line of an export."""
    try:
        record = json.loads(line)
        if not isinstance(record, dict):
            raise InvalidRequest("a line must hold a JSON object")
        kind = record.pop("kind", "version")
        if kind == "namespace":
            return kind, record
        if kind != "version":
            raise InvalidRequest(f"unknown kind {kind!r}; expected namespace or version")
        return kind, _commit(record)
    except (InvalidRequest, ValueError, TypeError, KeyError) as error:
        raise InvalidRequest(f"not a revkv export record: {error}") from error


def _commit(record: dict[str, Any]) -> Commit:
    return Commit.from_dict(record)


class Importer:
    """Loads batches of versions, remembering how far it got for the error message."""

    def __init__(self, store: Service) -> None:
        self.store = store
        self.batch: list[Commit] = []
        self.first_line = 0
        self.loaded = 0
        self.namespaces = 0

    def add(self, kind: str, item: Any, number: int) -> None:
        if kind == "namespace":
            self.flush()
            self.store.create_namespace(item.pop("name"), exist_ok=True, **item)
            self.namespaces += 1
            return
        if not self.batch:
            self.first_line = number
        self.batch.append(item)
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        try:
            self.loaded += self.store.import_commits(self.batch)
        except RevkvError as error:
            last = self.first_line + len(self.batch) - 1
            lines = f"line {last}" if last == self.first_line else f"lines {self.first_line}-{last}"
            raise CommandError(
                f"{_reason(error)}\nimport stopped: {count(self.loaded, 'version')} imported; "
                f"those on {lines} and after were not",
                exit_code_for(error),
            ) from error
        self.batch = []


def _reason(error: RevkvError) -> str:
    if not isinstance(error, VersionConflict):
        return str(error)
    return (
        f"{error.namespace}/{error.key}: the file has version {int(error.expected) + 1} but the "
        f"store's history of that key ends at version {error.current_version}; import continues "
        "each key's history, so import into a store without these keys"
    )


@click.command("import")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--keep-revs",
    is_flag=True,
    help="Give each version the rev it had (into an empty store only), so watchers and "
    "mirrors can resume.",
)
@pass_local_store(
    "it keeps versions, authors and times through the embedded store's import_commits, "
    "which has no HTTP route: import into a directory, then serve that",
    create=True,
)
def import_(store: Service, file: IO[bytes], keep_revs: bool) -> None:
    """Load a file written by `revkv export` (`-` for stdin), keeping every version as it was.

    Versions, authors, comments, mtimes, expiry times and deletes are kept; revs
    are new, unless --keep-revs gives each version its rev from the file (into an
    empty store in a directory only: exit 2 otherwise; the file is read whole first).
    Each key's versions must continue its history here, so import into an
    empty store (or one without those keys): a key that exists already stops the
    import with exit 3. Namespaces that exist already keep their settings. Not yet
    possible: a key whose first versions were removed by its namespace's retention
    (the store can only start a history at version 1).

    \b
    Examples:
      revkv --data restored import backup.jsonl
      gunzip -c config.jsonl.gz | revkv import -
    """
    if keep_revs:
        _import_keeping_revs(store, file)
        return
    importer = Importer(store)
    with progress("importing", _size(file)) as advance:
        for number, line in enumerate(file, start=1):
            if line.strip():
                try:
                    importer.add(*parse_line(line), number)
                except RevkvError as error:
                    raise CommandError(f"line {number}: {error}", exit_code_for(error)) from error
            advance(len(line))
        importer.flush()
    loaded, namespaces = count(importer.loaded, "version"), count(importer.namespaces, "namespace")
    click.echo(f"imported {loaded} and the settings of {namespaces}", err=True)


def _import_keeping_revs(store: Service, file: IO[bytes]) -> None:
    """Read the whole file, then restore it at its revs in one call (all or nothing)."""
    namespaces: dict[str, dict[str, Any]] = {}
    commits: list[Commit] = []
    with progress("reading", _size(file)) as advance:
        for number, line in enumerate(file, start=1):
            if line.strip():
                try:
                    kind, item = parse_line(line)
                except RevkvError as error:
                    raise CommandError(f"line {number}: {error}", exit_code_for(error)) from error
                if kind == "namespace":
                    namespaces[str(item.pop("name"))] = item
                else:
                    commits.append(item)
            advance(len(line))
    loaded = store.import_keeping_revs(namespaces, commits)
    last = max((c.rev for c in commits), default=0)
    click.echo(
        f"imported {count(loaded, 'version')} at their revs (up to {last}) and the settings "
        f"of {count(len(namespaces), 'namespace')}",
        err=True,
    )


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _size(file: IO[bytes]) -> float | None:
    try:
        return float(os.fstat(file.fileno()).st_size) or None
    except (OSError, ValueError):
        return None
