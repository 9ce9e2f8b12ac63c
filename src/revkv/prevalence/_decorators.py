"""Method decorators that tell the proxy how to run a method (coopy's names and markers).

The markers are the attribute names coopy sets, so a class decorated with coopy's
decorators behaves the same under revkv.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

__all__ = ["MethodKind", "abort_exception", "method_kind", "readonly", "unlocked"]

P = ParamSpec("P")
R = TypeVar("R")

READONLY = "__readonly"
UNLOCKED = "__unlocked"
ABORT_EXCEPTION = "__abort_exception"


def readonly(func: Callable[P, R]) -> Callable[P, R]:
    """Not journaled: the method only reads. It still sees only durable state."""
    setattr(func, READONLY, True)
    return func


def unlocked(func: Callable[P, R]) -> Callable[P, R]:
    """Run without the system's lock; the method does its own concurrency control."""
    setattr(func, UNLOCKED, True)
    return func


def abort_exception(func: Callable[P, R]) -> Callable[P, R]:
    """A call that raises is not journaled and leaves no trace in the state.

    Unlike coopy's, this rolls back: when the method raises, the state is rebuilt from
    the newest snapshot and the journal (everything but the failed call). That costs a
    reload, so it is for calls that rarely fail; validate before mutating on hot paths.
    """
    setattr(func, ABORT_EXCEPTION, True)
    return func


@dataclass(frozen=True, slots=True)
class MethodKind:
    readonly: bool = False
    unlocked: bool = False
    abort_exception: bool = False


def method_kind(func: Any) -> MethodKind:
    return MethodKind(
        readonly=bool(getattr(func, READONLY, False)),
        unlocked=bool(getattr(func, UNLOCKED, False)),
        abort_exception=bool(getattr(func, ABORT_EXCEPTION, False)),
    )
