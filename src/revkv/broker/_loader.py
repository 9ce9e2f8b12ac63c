"""Loaders: who finds an object by its key. The first part of a key names the loader.

The static loader (`_s`) holds objects the application registers by hand
(`add_static(obj, "root")` → key `("_s", "root")`) and the metas of exported classes
(`("_s", "_ec", name)`, their class-level metas `("_s", "_ecm", name)`). Other loaders
(SQL models, revkv namespaces, prevalent systems) compute objects from their keys.
Keys are never assigned by sequence or at random: they must mean the same object after
a server restart, so that connected clients do not notice it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from revkv.broker._errors import UnknownKey
from revkv.broker._model import Key


class Loader(Protocol):
    """What a loader offers the server: its id and `get` by the rest of a key."""

    id: str

    def get(self, *parts: Any) -> Any:
        """The object with key `(self.id, *parts)`; `UnknownKey` when there is none."""
        ...


class StaticLoader:
    """Objects registered by hand, by key."""

    id = "_s"

    def __init__(self, code: Callable[[tuple[Any, ...]], str]) -> None:
        self.objects: dict[tuple[Any, ...], Any] = {}
        self.code = code

    def add(self, obj: Any, *parts: Any) -> Key:
        """Register `obj` under `("_s", *parts)` and give it that key."""
        if not parts:
            raise ValueError("a static object needs a key: add_static(obj, 'name', ...)")
        key = Key((self.id, *parts))
        key.code = self.code(key.parts)
        self.objects[tuple(parts)] = obj
        obj._key = key
        return key

    def delete(self, obj: Any, *parts: Any) -> None:
        """Forget the object registered under `parts` (if it is `obj`)."""
        if self.objects.get(tuple(parts)) is obj:
            del self.objects[tuple(parts)]

    def get(self, *parts: Any) -> Any:
        """The object registered under `parts`, or reached as a ref from one: an
        unkeyed object sent as `owner.name` has the key `owner's parts + (name,)`, so
        a server that has not sent it yet (a peer, or this one restarted) finds it."""
        found = self.objects.get(parts)
        if found is not None:
            return found
        if len(parts) >= 2 and isinstance(parts[-1], str):
            try:
                owner = self.get(*parts[:-1])
            except UnknownKey:
                pass
            else:
                meta = getattr(owner, "_meta", None)
                child = getattr(owner, parts[-1], None)
                if parts[-1] in getattr(meta, "refs", ()) and child is not None:
                    if getattr(child, "_key", None) is None:
                        self.add(child, *parts)
                    return child
        raise UnknownKey(f"no object has the key {(self.id, *parts)!r}")


class Loaders:
    """A server's loaders, by id."""

    def __init__(self, code: Callable[[tuple[Any, ...]], str]) -> None:
        self.code = code
        self.static = StaticLoader(code)
        self.loaders: dict[str, Loader] = {self.static.id: self.static}

    def add_loader(self, loader: Loader) -> None:
        if loader.id in self.loaders:
            raise ValueError(f"a loader with id {loader.id!r} is already registered")
        self.loaders[loader.id] = loader

    def add(self, obj: Any, *parts: Any) -> Key:
        """Register `obj` with the static loader (DaBroker's `loader.add`)."""
        return self.static.add(obj, *parts)

    def get(self, parts: tuple[Any, ...]) -> Any:
        """The object a key names; `UnknownKey` when no loader has it."""
        if not parts or not isinstance(parts[0], str):
            raise UnknownKey(f"no object has the key {parts!r}")
        loader = self.loaders.get(parts[0])
        if loader is None:
            raise UnknownKey(f"no loader is called {parts[0]!r} (key {parts!r})")
        return loader.get(*parts[1:])
