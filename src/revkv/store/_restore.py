"""Restoring an export with its revs (`revkv import --keep-revs`) into an empty embedded
store.

A command's seq is its rev, so the versions of each rev are loaded by one `load`
command journaled at exactly that seq. The seqs between two revs (namespace changes,
sweeps, versions retention dropped, in the store that was exported) are taken by the
creation of a namespace the next versions need, with its settings, or else by empty
`load` commands, which change nothing. Settings of namespaces that found no free seq
are applied after the last version, so the store's rev then ends a little past the last
version's. Everything is checked before anything is journaled.

Why not renumber: watchers, mirrors and caches resume from a rev; a store restored with
the same revs lets them resume instead of starting over.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from operator import itemgetter
from pathlib import Path
from typing import Any

from revkv._model import Commit
from revkv.errors import InvalidRequest
from revkv.prevalence import System
from revkv.store._arguments import load_row
from revkv.store._namespaces import check_settings
from revkv.store._state import StoreState


def load_keeping_revs(
    system: System,
    path: Path | None,
    settings: Mapping[str, Mapping[str, Any]],
    commits: Iterable[Commit],
) -> int:
    """Load `commits` at their revs and create the namespaces of `settings`; returns how
    many versions were loaded, once durable."""
    state: StoreState = system.obj
    rows = sorted(((c.rev, load_row(c)) for c in commits), key=itemgetter(0))
    if rows and rows[0][0] < 1:
        raise InvalidRequest(
            "a version in the file has no rev (an export written before revs were "
            "recorded); import it without --keep-revs"
        )
    checked = {name: check_settings(dict(given)) for name, given in settings.items()}
    with system.lock:
        if system.journal.last_seq or state.namespaces:
            raise InvalidRequest(
                f"--keep-revs imports into an empty store only, and {path or 'this store'} "
                f"holds commits up to rev {state.rev}; import into a new directory"
            )
        state.plan_load([row for _, row in rows])
    for rev, group in itertools.groupby(rows, key=itemgetter(0)):
        batch = [row for _, row in group]
        _fill_gap(system, state, rev, {row[0] for row in batch}, checked)
        seq = system.execute("load", (batch,), {}, wait=False)[1]
        assert seq == rev, (seq, rev)
    for name, given in checked.items():
        command = "update_namespace" if name in state.namespaces else "create_namespace"
        args = (name, given) if command == "update_namespace" else ({**given, "name": name},)
        system.execute(command, args, {}, wait=False)
    system.barrier()
    return len(rows)


def _fill_gap(
    system: System, state: StoreState, rev: int, names: set[str], settings: dict[str, Any]
) -> None:
    """Take the seqs before `rev`: namespaces the next versions need, then empty loads."""
    journal = system.journal
    for name in sorted(names):
        free = journal.last_seq < rev - 1
        if free and name in settings and name not in state.namespaces:
            system.execute(
                "create_namespace", ({**settings.pop(name), "name": name},), {}, wait=False
            )
    while journal.last_seq < rev - 1:
        system.execute("load", ([],), {}, wait=False)
