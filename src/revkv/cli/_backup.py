"""`revkv backup DIR`: a consistent copy of a live store that `revkv serve --data DIR`
opens as is, with the same revs (see `revkv.prevalence._backup` for why it is
consistent while writers go on)."""

from __future__ import annotations

from pathlib import Path

import click

import revkv
from revkv.cli._output import emit_json, say
from revkv.cli._server import server_response
from revkv.cli._target import Target, current_target
from revkv.cli._transfer import progress
from revkv.errors import DirectoryLocked
from revkv.prevalence._backup import (
    BackupFailed,
    BackupPlan,
    BackupResult,
    check_destination,
    extract_backup,
    plan_backup,
    write_backup,
)


@click.command()
@click.argument("dest", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON.")
def backup(dest: Path, as_json: bool) -> None:
    """Copy the store into DIR (new or empty), consistently, while writers go on.

    The copy is a snapshot and the journal after it: `revkv serve --data DIR` opens it
    as is, with every version and the same revs, up to the rev it prints. With --url the
    server takes a snapshot (writers wait only while it is captured) and streams the
    copy (GET /backup, a token that may read every namespace). With --data the store is
    opened and snapshotted, or, when a server has it open, its files are copied as they
    are: its newest snapshot and the whole journal after it, up to the last record
    written. A progress bar shows on a terminal. Exit 2 when DIR is not empty.

    \b
    Examples:
      revkv --data /srv/revkv backup /backups/revkv-$(date +%F)
      revkv --url http://127.0.0.1:8080 backup /backups/today --json
    """
    target = current_target()
    try:
        check_destination(dest)
    except BackupFailed as error:
        raise click.UsageError(str(error)) from None
    result = _backup(target, dest)
    if as_json:
        emit_json(result.to_dict())
    else:
        say(
            f"backup of rev {result.last_seq} written to {dest}: {result.files} files, "
            f"{result.bytes} bytes; open it with `revkv serve --data {dest}`",
            "green",
        )


def _backup(target: Target, dest: Path) -> BackupResult:
    if target.db is not None:
        raise click.UsageError(
            "a store in PostgreSQL is backed up with PostgreSQL's tools (pg_dump, "
            "pg_basebackup) or with `revkv export`"
        )
    if target.url is not None:
        return _from_server(target, dest)
    if not (target.data / "SYSTEM").is_file():
        raise click.UsageError(f"there is no store at {target.data}; pass --data DIR")
    try:
        service = revkv.open(target.data)
    except DirectoryLocked:  # a server has it open: copy its files as they are
        with plan_backup(target.data) as plan:
            return _write(plan, dest)
    with service, service.backup_plan() as plan:
        return _write(plan, dest)


def _write(plan: BackupPlan, dest: Path) -> BackupResult:
    with progress("backing up", plan.total_bytes) as advance:
        return write_backup(plan, dest, advance)


def _from_server(target: Target, dest: Path) -> BackupResult:
    with server_response(target, "/backup", "application/x-tar", timeout=300.0) as response:
        rev = int(response.headers.get("x-revkv-rev", "-1"))
        total = float(response.headers.get("content-length", 0)) or None
        with progress("backing up", total) as advance:
            return extract_backup(response.iter_raw(), dest, rev, advance)
