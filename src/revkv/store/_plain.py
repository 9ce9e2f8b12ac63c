"""Plain data a command may carry: checked before it is journaled, so that it replays.

A namespace's `schema` (and any other free-form setting) is journaled as msgpack and
served as JSON by every door, and replayed at every start-up. A value is accepted only
if all three will work, by the rules below; a value that passed once was journaled and
must replay, so these rules never become stricter than what the replay takes:

- None, bool, str, int, float, lists (tuples) and dicts with str keys, nothing else;
- nested at most `MAX_DEPTH` levels (`revkv._json.MAX_DEPTH`, as for request bodies);
- integers within a signed 64-bit range (msgpack's, and what JSON peers read exactly);
- finite floats (JSON has no NaN or Infinity);
- strings that UTF-8 can encode (no lone surrogates);
- at most `MAX_ITEMS` values in all.

The walk is iterative: a value too deep for recursion is refused, not crashed on.
"""

from __future__ import annotations

import math
from typing import Any

from revkv._json import MAX_DEPTH
from revkv.errors import InvalidRequest

__all__ = ["MAX_INT", "MAX_ITEMS", "MIN_INT", "check_plain"]

MIN_INT = -(2**63)
MAX_INT = 2**63 - 1
MAX_ITEMS = 100_000


def check_plain(value: Any, what: str) -> Any:
    """`value` itself when it is plain data revkv can journal, replay and serve as JSON;
    otherwise `InvalidRequest` naming `what` and where in it the bad value sits."""
    root = _Place(None, what, 1)
    stack: list[tuple[Any, _Place]] = [(value, root)]
    count = 0
    while stack:
        item, place = stack.pop()
        count += 1
        if count > MAX_ITEMS:
            raise InvalidRequest(f"{what} holds more than {MAX_ITEMS} values, revkv's limit")
        if isinstance(item, dict):
            _check_depth(what, place.depth)
            for name, member in item.items():
                if not isinstance(name, str):
                    raise InvalidRequest(f"{place}: object keys must be strings, not {name!r}")
                _check_text(name, place, f" (the key {name[:40]!r})")
                stack.append((member, _Place(place, f".{name[:40]}", place.depth + 1)))
        elif isinstance(item, (list, tuple)):
            _check_depth(what, place.depth)
            stack.extend((m, _Place(place, f"[{i}]", place.depth + 1)) for i, m in enumerate(item))
        else:
            _check_scalar(item, place)
    return value


class _Place:
    """Where a value sits (`schema.a[1].b`), spelled out only for an error message."""

    __slots__ = ("depth", "label", "parent")

    def __init__(self, parent: _Place | None, label: str, depth: int) -> None:
        self.parent, self.label, self.depth = parent, label, depth

    def __str__(self) -> str:
        labels = []
        place: _Place | None = self
        while place is not None:
            labels.append(place.label)
            place = place.parent
        return "".join(reversed(labels))


def _check_depth(what: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidRequest(
            f"{what} nests arrays and objects deeper than {MAX_DEPTH} levels, revkv's limit"
        )


def _check_scalar(item: Any, where: _Place) -> None:
    if item is None or isinstance(item, bool):
        return
    if isinstance(item, int):
        if not MIN_INT <= item <= MAX_INT:
            raise InvalidRequest(
                f"{where}: the integer is outside -2**63..2**63-1, the range revkv keeps exactly"
            )
    elif isinstance(item, float):
        if not math.isfinite(item):
            raise InvalidRequest(f"{where}: {item!r} is not a finite number; JSON has no NaN")
    elif isinstance(item, str):
        _check_text(item, where)
    else:
        raise InvalidRequest(
            f"{where}: a {type(item).__name__} is not plain data (use null, true/false, "
            "numbers, strings, arrays and objects)"
        )


def _check_text(text: str, where: _Place, what: str = "") -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(
            f"{where}{what}: the string is not valid Unicode (a lone surrogate)"
        ) from None
