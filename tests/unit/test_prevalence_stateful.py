"""Random commands, snapshots and restarts against a plain dict: after every step they agree."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from revkv import _paths as paths
from revkv.prevalence import control, open_system
from tests.domains import Counter

keys = st.sampled_from(["a", "b", "c", "d/e", "ü"])
values = st.one_of(st.integers(), st.text(max_size=20), st.binary(max_size=20), st.none())


class PrevalenceMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="revkv-stateful-"))
        self.codec = "pickle"
        self.model: dict[str, Any] = {}
        self.system = self._open()

    def _open(self) -> Any:
        return open_system(Counter, self.dir, codec=self.codec, segment_size=700)

    @rule(key=keys, value=values)
    def set(self, key: str, value: Any) -> None:
        self.system.set(key, value)
        self.model[key] = value

    @rule(key=keys, by=st.integers(-5, 5))
    def incr(self, key: str, by: int) -> None:
        if isinstance(self.model.get(key, 0), int) and not isinstance(self.model.get(key), bool):
            self.system.incr(key, by)
            self.model[key] = self.model.get(key, 0) + by

    @rule(key=keys)
    def delete(self, key: str) -> None:
        try:
            self.system.delete(key)
        except KeyError:
            assert key not in self.model
        else:
            del self.model[key]

    @rule(key=keys, value=st.integers(-2, 2))
    def set_positive(self, key: str, value: int) -> None:
        try:
            self.system.set_positive(key, value)
        except ValueError:
            assert value <= 0
        else:
            self.model[key] = value

    @rule()
    def snapshot(self) -> None:
        self.system.take_snapshot()

    @rule()
    def restart(self) -> None:
        self.system.close()
        self.system = self._open()

    @precondition(lambda self: paths.journal_segments(self.dir))
    @rule(garbage=st.binary(min_size=1, max_size=40))
    def crash_with_a_torn_write(self, garbage: bytes) -> None:
        """A crash mid-write leaves unacknowledged bytes after the last record."""
        self.system.close()
        newest = paths.journal_segments(self.dir)[-1][1]
        with open(newest, "ab") as f:
            f.write(garbage)
        self.system = self._open()

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert control(self.system).obj.data == self.model

    def teardown(self) -> None:
        self.system.close()
        shutil.rmtree(self.dir, ignore_errors=True)


PrevalenceMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None
)
TestPrevalence = PrevalenceMachine.TestCase
