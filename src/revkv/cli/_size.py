"""`revkv stats`: how big the store is and how fast its disk syncs.

The figures are the store's own (`StoreStats.to_dict`), read from the directory, the
database, or a server's `GET /stats`: nothing here counts anything.
"""

from __future__ import annotations

import json
from typing import Any

import click

from revkv.cli._output import emit_json, on_terminal, print_fields, print_rows
from revkv.cli._server import server_response
from revkv.cli._target import Target, current_target, open_database, open_embedded
from revkv.client._wire import answered


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(as_json: bool) -> None:
    """Show the size of the store: keys, versions, payload bytes and memory per
    namespace, the journal and snapshots on disk, and fsync latency.

    Memory is an estimate from the counts (see docs/operations.md, "Size"); a
    PostgreSQL store shows `-` for it and the database's size on disk instead. Works on
    --data, --db, or a server (--url), whose figures include its fsyncs since it started.

    \b
    Examples:
      revkv stats
      revkv --url http://127.0.0.1:8080 stats --json
    """
    data = read_stats(current_target())
    if as_json:
        emit_json(data)
    else:
        show(data)


def read_stats(target: Target) -> dict[str, Any]:
    if target.url is not None:
        with server_response(target, "/stats", "application/json") as response:
            try:
                result: dict[str, Any] = json.loads(response.read())
                if {"backend", "rev", "namespaces"} <= set(result):
                    return result
            except (ValueError, TypeError):
                pass
            raise answered(response, "not revkv's stats")
    if target.db is not None:
        with open_database(target.db) as service:
            return service.stats().to_dict()
    with open_embedded(target.data) as service:
        return service.stats().to_dict()


def show(data: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"backend": data["backend"], "rev": data["rev"]}
    disk = data.get("disk") or {}
    if "journal_bytes" in disk:
        segments, snapshots = disk["journal_segments"], disk["snapshots"]
        fields["journal"] = f"{size(disk['journal_bytes'])} in {plural(segments, 'segment')}"
        fields["snapshots"] = f"{size(disk['snapshot_bytes'])} in {plural(snapshots, 'file')}"
    if "database_bytes" in disk:
        fields["database"] = size(disk["database_bytes"])
    fsync = data.get("fsync_seconds")
    if fsync:
        fields["fsync"] = latency(fsync)
    if data.get("problem"):
        fields["problem"] = data["problem"]
    print_fields(fields)
    rows = [
        (name, n["keys"], n["versions"], size(n["payload_bytes"]), size(n["memory_bytes"]))
        for name, n in sorted(data["namespaces"].items())
    ]
    if on_terminal():
        click.echo()
    print_rows(("namespace", "keys", "versions", "payload", "memory"), rows)


def plural(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def size(count: int | None) -> str:
    """Bytes for people on a terminal (`1.5 MiB`), the exact number in a pipe; `-` for
    what the backend cannot tell."""
    if count is None:
        return "-"
    if not on_terminal():
        return str(count)
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


def latency(fsync: dict[str, Any]) -> str:
    if not fsync["count"]:
        return "none yet"
    p99 = fsync["p99"]
    top = f"<= {seconds(p99)}" if p99 is not None else "> 10 s"
    return (
        f"{fsync['count']} fsyncs, mean {seconds(fsync['mean'])}, "
        f"p50 <= {seconds(fsync['p50'])}, p99 {top}"
    )


def seconds(value: float) -> str:
    return f"{value * 1000:.3g} ms" if value < 1 else f"{value:.3g} s"
