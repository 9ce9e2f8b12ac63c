"""The embedded store against the perfect model, with restarts and snapshots."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings

import revkv
from revkv.testing.stateful import StoreMachine


class InMemoryMachine(StoreMachine):
    def open_store(self) -> Any:
        return revkv.open()


class DirectoryMachine(StoreMachine):
    durable = True

    def open_store(self) -> Any:
        self.dir = Path(tempfile.mkdtemp(prefix="revkv-store-stateful-"))
        return self._open()

    def _open(self) -> Any:
        return revkv.open(self.dir, snapshot_every=7, durability="never", segment_size=4096)

    def reopen(self) -> Any:
        self.store.close()
        return self._open()

    def teardown(self) -> None:
        super().teardown()
        shutil.rmtree(self.dir, ignore_errors=True)


InMemoryMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)
DirectoryMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=40, deadline=None
)
TestInMemory = InMemoryMachine.TestCase
TestInADirectory = DirectoryMachine.TestCase
