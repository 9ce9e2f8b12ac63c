"""Clock validation: refuse a system whose methods read the wall clock directly.

A heuristic (an AST scan of the class's own methods, as coopy does), so it catches the
obvious mistakes, `datetime.now()`, `date.today()`, `time.time()` and their relatives,
not every way to be non-deterministic. Classes whose source is unavailable are skipped.
"""

from __future__ import annotations

import ast
import inspect
import logging
import textwrap

from revkv.errors import ClockMisuse

log = logging.getLogger(__name__)

_FORBIDDEN = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
}


def validate_clock_use(cls: type) -> None:
    """Raise ClockMisuse naming the first method that reads the wall clock directly."""
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, member in vars(klass).items():
            func = getattr(member, "__func__", member)
            if inspect.isfunction(func):
                call = _first_clock_call(func)
                if call is not None:
                    raise ClockMisuse(f"{klass.__qualname__}.{name}", call)


def _first_clock_call(func: object) -> str | None:
    try:
        source = textwrap.dedent(inspect.getsource(func))  # type: ignore[arg-type]
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        log.debug("no source for %r; clock validation skipped", func)
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = (
                owner.id
                if isinstance(owner, ast.Name)
                else owner.attr
                if isinstance(owner, ast.Attribute)
                else None
            )
            if (owner_name, node.func.attr) in _FORBIDDEN:
                return f"{owner_name}.{node.func.attr}()"
    return None
