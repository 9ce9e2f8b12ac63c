"""A test-only hook, loaded by a `revkv serve` started with this folder first on its
PYTHONPATH: a scan whose `$filter` mentions 'explode' fails with a RecursionError, as one
did when the type check of a long `or` chain recursed (fixed in ba4a5d6).

It stands for any bug of the kind, which a test cannot otherwise count on finding: the
evaluator turns every failure it expects into a non-match or a 400. Like that bug's, its
traceback is over a thousand frames, more than a pipe holds.
"""

from __future__ import annotations

from typing import Any

from revkv.store import _select

_select_as_built = _select.Selector.select


def _descend(depth: int) -> int:
    """Two functions calling each other: a traceback does not fold their frames into
    "[Previous line repeated ...]" as it folds one function's."""
    return _descend_again(depth + 1) + 1


def _descend_again(depth: int) -> int:
    return _descend(depth + 1) + 1


def _select_or_explode(self: _select.Selector, namespace: str, query: Any, window: Any) -> Any:
    if "explode" in (query.filter_text or ""):
        _descend(0)
    return _select_as_built(self, namespace, query, window)


_select.Selector.select = _select_or_explode  # type: ignore[method-assign]
