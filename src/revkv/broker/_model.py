"""The object model both ends share: keys with access codes, metas and their attributes.

A brokered object is any Python object with a `_meta` (a `BrokeredInfo`, describing
which of its attributes are plain data, references, back-references and callables) and,
once a loader knows it, a `_key`: the loader's id followed by the key parts, plus an
access code. The code is what keeps a client from naming an object it was never sent:

    code = base64(sha1(SECRET_KEY + b"\\0" + part1 + b"\\0" + part2 ...)[:6])   # 8 chars

(DaBroker's `make_secret`; integers are hashed as their decimal text.) The server
recomputes it for every key a client sends and refuses one that does not match.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable as CallableT
from typing import Any, TypeVar

from revkv.broker._errors import NotExported

DEFAULT_SECRET = (
    "You really should change this"  # DaBroker's default SECRET_KEY: set your own in cfg
)

F = TypeVar("F", bound=CallableT[..., Any])


def access_code(secret: str, parts: tuple[Any, ...]) -> str:
    """The 8-character access code of a key under `secret` (see the module docstring)."""
    digest = hashlib.sha1(secret.encode())
    for part in parts:
        text = str(part) if isinstance(part, int) else part
        digest.update(b"\0" + (text if isinstance(text, bytes) else str(text).encode()))
    return base64.b64encode(digest.digest()[:6]).decode("ascii")


class Key:
    """A key: the parts that find an object, and the access code that proves the
    holder was given it. Keys compare and hash by their parts alone."""

    __slots__ = ("code", "parts")

    def __init__(self, parts: tuple[Any, ...], code: str | None = None) -> None:
        for part in parts:
            if not isinstance(part, (str, int)) or isinstance(part, bool):
                raise TypeError(f"a key part is a string or an integer, not {part!r}")
        self.parts = tuple(parts)
        self.code = code

    def __hash__(self) -> int:
        return hash(self.parts)

    def __eq__(self, other: object) -> bool:
        other = getattr(other, "_key", other)
        if isinstance(other, Key):
            return self.parts == other.parts
        if isinstance(other, tuple):
            return self.parts == other
        return NotImplemented

    def __len__(self) -> int:
        return len(self.parts)

    def __getitem__(self, index: int) -> Any:
        return self.parts[index]

    def __repr__(self) -> str:
        inner = ",".join(repr(p) for p in self.parts)
        return f"R:({inner})‹{self.code or '?'}›"  # noqa: RUF001


class _Attribute:
    """One described attribute; attributes compare by name."""

    kind = ""

    def __init__(self, name: str, **extra: Any) -> None:
        self.name = name
        self.extra = extra

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return bool(self.name == getattr(other, "name", other))

    def wire(self) -> dict[str, Any]:
        """The attribute as DaBroker sends it inside a meta: its name and extras."""
        return {"name": self.name, **self.extra}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Field(_Attribute):
    """Plain data: numbers, strings, lists, dicts, dates."""

    kind = "_F"


class Ref(_Attribute):
    """A reference to one other brokered object (many-to-one); sent as its key."""

    kind = "_R"


class BackRef(_Attribute):
    """The objects that refer to this one (one-to-many), read by index and length."""

    kind = "_B"


class Callable(_Attribute):
    """A method the client may call on the server. `meta=True`: a class-level call."""

    kind = "_C"


class BrokeredInfo:
    """The description of a class of brokered objects (DaBroker's meta object).

    `_dab_cached` None: no `get`/`find`/`count` for clients; False or True: searching is
    allowed (the value tells clients whether to cache search results).
    """

    _dab_cached: bool | None = None

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self.fields: dict[str, Field] = {}
        self.refs: dict[str, Ref] = {}
        self.backrefs: dict[str, BackRef] = {}
        self.calls: dict[str, Callable] = {}
        self._meta: BrokeredInfo | None = None  # the meta's meta (class-level calls)
        self._key: Key | None = None
        self.add(Ref("_meta"))

    def add(self, attribute: _Attribute) -> None:
        """Describe one more attribute; a name may be described once."""
        table = self._table(attribute)
        if attribute.name in table:
            raise ValueError(f"{self.name} already has an attribute {attribute.name!r}")
        table[attribute.name] = attribute

    def _table(self, attribute: _Attribute) -> dict[str, Any]:
        if isinstance(attribute, Field):
            return self.fields
        if isinstance(attribute, Ref):
            return self.refs
        if isinstance(attribute, BackRef):
            return self.backrefs
        if isinstance(attribute, Callable):
            return self.calls
        raise TypeError(f"not an attribute description: {attribute!r}")

    # -- what the server calls; loaders override them -------------------------------

    def local_update(self, obj: Any, **values: Any) -> None:
        """Apply an `obj_update` to the server's object (plain objects: setattr)."""
        for name, value in values.items():
            setattr(obj, name, value)

    def local_delete(self, obj: Any) -> None:
        """Forget an object on `obj_delete` (a loader's model deletes its row)."""

    def _dab_search(self, _limit: int | None = None, **match: Any) -> list[Any]:
        """The objects whose fields equal `match`, at most `_limit` (loaders override)."""
        raise NotExported(f"{self.name} objects cannot be searched")

    def _dab_count(self, **match: Any) -> int:
        """How many objects `_dab_search` would find without a limit."""
        return len(self._dab_search(**match))

    def backref_items(self, obj: Any, name: str) -> list[Any]:
        """The objects of back-reference `name` of `obj` (default: the attribute)."""
        return list(getattr(obj, name) or ())

    def __repr__(self) -> str:
        return f"BrokeredInfo({self.name!r})"


class _RootInfo(BrokeredInfo):
    """The meta of metas without class-level calls: `{"_o": "_ROOT"}` on the wire."""

    def __init__(self) -> None:
        super().__init__("BrokeredInfoInfo Singleton")
        for name in ("name", "fields", "refs", "backrefs", "calls", "_dab_cached"):
            self.add(Field(name))


ROOT_META = _RootInfo()


class BaseObj:
    """A convenient base for brokered objects; any object with `_meta` will do.

    Objects compare by key once they have one.
    """

    _meta: BrokeredInfo | None = None
    _key: Key | None = None

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    def __eq__(self, other: object) -> bool:
        if self._key is None:
            return self is other
        return self._key == getattr(other, "_key", other)

    def __hash__(self) -> int:
        return hash(self._key) if self._key is not None else id(self)


def exported(func: F | None = None, *, include: bool = False) -> Any:
    """Mark a method as callable by clients (`@exported` or `@exported(include=True)`).

    `include=True` sends the objects it returns whole (fields and refs) rather than as
    keys the client fetches when it needs them.
    """

    def mark(f: F) -> F:
        target = f.__func__ if isinstance(f, (classmethod, staticmethod)) else f
        target._dab_callable = True  # type: ignore[attr-defined]
        target._dab_include = include  # type: ignore[attr-defined]
        return f

    return mark(func) if func is not None else mark


def is_exported(func: Any) -> bool:
    """Whether `func` (or the function a bound method wraps) was marked `@exported`."""
    return bool(getattr(getattr(func, "__func__", func), "_dab_callable", False))


def includes(func: Any) -> bool:
    """Whether `func` sends whole objects (`@exported(include=True)`, `_dab_include`)."""
    inner = getattr(func, "__func__", func)
    return bool(getattr(inner, "_dab_include", False) or getattr(inner, "include", False))
