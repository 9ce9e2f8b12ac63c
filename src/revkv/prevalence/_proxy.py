"""The proxy users hold: calling a method on it runs that method as a journaled command.

Non-callable attributes pass straight through (coopy does the same), after a barrier so
that nothing a crash could take away is ever read. A few container dunders delegate
too, so `len(proxy)` and `proxy[key]` work when the object supports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from revkv.errors import PrevalenceError
from revkv.prevalence._system import System

#: Names the proxy answers itself, as coopy's proxy does; `control(proxy)` reaches them
#: without any chance of clashing with the object's own methods.
CONTROL_NAMES = frozenset(
    {"take_snapshot", "close", "shutdown", "basedir_abspath", "start_snapshot_manager"}
)


class Proxy:
    __slots__ = ("_revkv_callers", "_revkv_system")

    def __init__(self, system: System) -> None:
        object.__setattr__(self, "_revkv_system", system)
        object.__setattr__(self, "_revkv_callers", {})

    def __getattr__(self, name: str) -> Any:
        system: System = object.__getattribute__(self, "_revkv_system")
        callers: dict[str, Callable[..., Any]] = object.__getattribute__(self, "_revkv_callers")
        caller = callers.get(name)
        if caller is not None:
            return caller
        if name in CONTROL_NAMES:
            return _control_method(system, name)
        value = getattr(system.obj, name)
        if not callable(value) or name.startswith("_"):
            system.barrier()
            return value
        caller = callers[name] = _caller(system, name)
        return caller

    def __setattr__(self, name: str, value: Any) -> None:
        raise PrevalenceError(
            f"cannot set {name!r} on a prevalent system from outside: the change would not be "
            "journaled. Set it inside one of the system's methods"
        )

    def __dir__(self) -> list[str]:
        system: System = object.__getattribute__(self, "_revkv_system")
        return sorted(set(dir(system.obj)) | CONTROL_NAMES)

    def __repr__(self) -> str:
        system: System = object.__getattribute__(self, "_revkv_system")
        where = system.directory or "memory"
        return f"<prevalent {system.cls.__qualname__} in {where}>"

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        object.__getattribute__(self, "_revkv_system").close()

    def __len__(self) -> int:
        return int(self.__getattr__("__len__")())

    def __iter__(self) -> Any:
        return iter(self.__getattr__("__iter__")())

    def __contains__(self, item: object) -> bool:
        return bool(self.__getattr__("__contains__")(item))

    def __getitem__(self, key: Any) -> Any:
        return self.__getattr__("__getitem__")(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        system: System = object.__getattribute__(self, "_revkv_system")
        system.execute("__setitem__", (key, value), {})

    def __delitem__(self, key: Any) -> None:
        system: System = object.__getattribute__(self, "_revkv_system")
        system.execute("__delitem__", (key,), {})


def _caller(system: System, name: str) -> Callable[..., Any]:
    kind = system.kind_of(name)
    if kind.readonly:

        def read(*args: Any, **kwargs: Any) -> Any:
            if system.in_command():
                return getattr(system.obj, name)(*args, **kwargs)
            return system.query(name, args, kwargs)

        return read

    def command(*args: Any, **kwargs: Any) -> Any:
        if system.in_command():  # called from inside another command: part of it
            return getattr(system.obj, name)(*args, **kwargs)
        return system.execute(name, args, kwargs)[0]

    return command


def _control_method(system: System, name: str) -> Callable[..., Any]:
    if name == "shutdown":
        return system.close
    if name == "basedir_abspath":
        return lambda: [str(system.directory.resolve())] if system.directory else []
    method: Callable[..., Any] = getattr(system, name)
    return method


def control(proxy: Proxy) -> System:
    """The System behind a proxy: snapshots, close, stats, without name clashes."""
    system = object.__getattribute__(proxy, "_revkv_system")
    assert isinstance(system, System)
    return system
