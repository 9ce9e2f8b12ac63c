"""Maintenance of a data directory: check it, repair it, snapshot it.

All three work on the files of a local directory, so they refuse `--url` (exit 2): a
server checks and snapshots its own store.
"""

from __future__ import annotations

from pathlib import Path

import click

from revkv._service import Service
from revkv.cli._options import pass_local_store
from revkv.cli._output import emit_json
from revkv.cli._target import current_target, local_data
from revkv.prevalence import _repair as repair_mod


def _data(why: str) -> Path:
    data = local_data(current_target(), why)
    if not data.is_dir():
        raise click.UsageError(f"{data} is not a directory; pass --data DIR")
    return data


def _report_dict(report: repair_mod.RepairReport) -> dict[str, object]:
    return {
        "damaged": str(report.damaged) if report.damaged else None,
        "offset": report.offset,
        "reason": report.reason,
        "cut_bytes": report.cut_bytes,
        "set_aside": [str(p) for p in report.set_aside],
        "last_good_seq": report.last_good_seq,
        "highest_seq": report.highest_seq,
        "message": report.message,
        "repairable": report.repairable,
        "missing": report.missing,
        "undo": report.undo,
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Verify the journal and snapshots of --data without changing anything.

    Exits 0 when the next open would succeed, 4 when it would not: then it prints what
    start-up would say, word for word, and whether `revkv repair` can deal with it or
    only a backup can (a missing first segment, a damaged SYSTEM file).

    \b
    Examples:
      revkv check
      revkv --data /srv/revkv check --json
    """
    report = repair_mod.check(_data("it reads the journal and snapshot files"))
    if as_json:
        emit_json(_report_dict(report))
    elif report.damaged is None:
        cut = report.skipped
        aside = f"; records {cut[0] + 1} to {cut[1]} were set aside by a repair" if cut else ""
        click.echo(f"ok: journal verified up to record {report.last_good_seq}{aside}")
    else:
        fix = (
            f"records up to {report.last_good_seq} are good; `revkv repair` deals with it"
            if report.repairable
            else "`revkv repair` cannot mend this; restore from a backup"
        )
        click.echo(f"damaged: {report.message}\n{fix}")
    ctx.exit(0 if report.damaged is None else 4)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def repair(as_json: bool) -> None:
    """Cut a damaged journal at its last good record, keeping the damaged bytes.

    The bytes after the damage are copied to a `.broken` file beside the segment, and
    later segments are renamed `.broken`; nothing is deleted. A lost newest segment is
    accepted as lost. Revs go on after the highest one ever handed out, so clients that
    saw the lost commits resync. It prints what it set aside and the commands that undo
    it. Damage only a backup mends (a missing first segment, a damaged SYSTEM file) is
    refused, changing nothing. Run it only on a directory no process has open.

    \b
    Examples:
      revkv check || revkv repair
      revkv --data /srv/revkv repair --json
    """
    report = repair_mod.repair(
        _data("it cuts the journal files of a directory no process has open")
    )
    if as_json:
        emit_json(_report_dict(report))
    elif not report.changed:
        click.echo("nothing to repair")
    else:
        click.echo(f"repaired: {repair_mod.describe(report)}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot's path and rev as JSON.")
@pass_local_store("it writes a snapshot file; a server snapshots its own store")
def snapshot(store: Service, as_json: bool) -> None:
    """Write a snapshot of the store now, so the next start replays less journal.

    The store also snapshots by itself every so many commands; this is for before a
    backup or after a large import. Older snapshots beyond the few kept are removed.

    \b
    Examples:
      revkv snapshot
      revkv --data /srv/revkv snapshot --json
    """
    path = store.snapshot()
    if as_json:
        emit_json({"path": str(path) if path else None, "rev": store.rev})
    else:
        click.echo(f"snapshot written: {path}")
