"""The per-namespace sizes follow what purge and retention-on-set remove (both landed
together: the counts must not drift until the next restart recounts them)."""

from __future__ import annotations

from pathlib import Path

import revkv


def test_purge_and_lowered_retention_update_the_sizes(tmp_path: Path) -> None:
    with revkv.open(tmp_path / "data") as store:
        store.create_namespace("n")
        for payload in (b"12345", b"123", b"1"):
            store.put("n", "k", payload)
        store.purge("n", "k")  # empties versions 1 and 2
        sizes = store.stats().namespaces["n"]
        assert (sizes.versions, sizes.payload_bytes) == (3, 1)
        store.put("n", "k", b"22")
        store.update_namespace("n", keep_versions=1)  # drops three versions at once
        sizes = store.stats().namespaces["n"]
        assert (sizes.keys, sizes.versions, sizes.payload_bytes) == (1, 1, 2)
