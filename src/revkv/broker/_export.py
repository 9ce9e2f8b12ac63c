"""`export_class`: describe a Python class for clients by looking at it.

Each attribute named (a space-separated string or an iterable; `'*'` every public one,
`'+'` every method marked `@exported`) is classified by what the class holds:

    a function, named or @exported      Callable  (clients may call it)
    a classmethod/staticmethod          Callable on the class's meta (a class-level call)
    a brokered object (has `_meta`)     Ref
    anything else, or nothing yet       Field     (instance data)

`refs=`, `backrefs=`, `funcs=`, `classfuncs=` name attributes without looking;
`hidden=` keeps names out. The meta gets the stable key `("_s", "_ec", name)` and,
when it has class-level calls, its own meta `("_s", "_ecm", name)`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from revkv.broker._model import (
    BackRef,
    BrokeredInfo,
    Callable,
    Field,
    Ref,
    _Attribute,
    is_exported,
)

if TYPE_CHECKING:
    from revkv.broker._server import BrokerServer


def names(spec: Any) -> list[Any]:
    """The names (or attribute objects) of a spec: None, 'a b c' or an iterable."""
    if spec is None:
        return []
    if isinstance(spec, str):
        return [n for n in spec.split() if n]
    if isinstance(spec, Iterable):
        return list(spec)
    raise TypeError(f"attributes are named by a string or an iterable, not {spec!r}")


def export_class(
    server: BrokerServer,
    cls: type,
    attrs: Any = None,
    *,
    refs: Any = None,
    backrefs: Any = None,
    funcs: Any = None,
    classfuncs: Any = None,
    hidden: Any = None,
    vars: Any = None,
    name: str | None = None,
    key: tuple[Any, ...] | None = None,
    classkey: tuple[Any, ...] | None = None,
    metacls: type[BrokeredInfo] | BrokeredInfo = BrokeredInfo,
    target: Any = None,
) -> BrokeredInfo:
    """Build and register the meta of `cls` (set on `target`, else on the class)."""
    name = name or cls.__name__
    meta = metacls if isinstance(metacls, BrokeredInfo) else metacls(name)
    meta.model = cls  # type: ignore[attr-defined]
    skip = set(names(hidden))
    class_calls: list[_Attribute] = [_as(Callable, f) for f in names(classfuncs)]
    for attr in _expand(cls, attrs):
        if isinstance(attr, _Attribute):
            _add(meta, attr)
        elif attr not in skip:
            described = _classify(cls, attr)
            if described is not None and described.extra.get("meta"):
                class_calls.append(described)
            elif described is not None:
                _add(meta, described)
    for spec, kind in ((vars, Field), (refs, Ref), (backrefs, BackRef), (funcs, Callable)):
        for item in names(spec):
            if getattr(item, "name", item) not in skip:
                _add(meta, _as(kind, item))
    if class_calls:
        metameta = BrokeredInfo("meta_" + name)
        for call in class_calls:
            _add(metameta, call)
        server.register_meta(metameta, *(classkey or ("_ecm", name)))
        meta._meta = metameta
    server.register_meta(meta, *(key or ("_ec", name)))
    holder: Any = target if target is not None else cls
    holder._meta = meta
    return meta


def _expand(cls: type, attrs: Any) -> list[Any]:
    if attrs == "*":
        return [a for a in dir(cls) if not a.startswith("_")]
    if attrs == "+":
        return [a for a in dir(cls) if not a.startswith("_") and is_exported(getattr(cls, a))]
    return names(attrs)


def _classify(cls: type, attr: str) -> _Attribute | None:
    try:
        value = inspect.getattr_static(cls, attr)
    except AttributeError:
        return Field(attr)  # set on instances only
    if isinstance(value, (classmethod, staticmethod)):
        return Callable(attr, meta=True)
    if inspect.isfunction(value):
        return Callable(attr)
    if isinstance(value, property):
        return Field(attr)
    if isinstance(getattr(value, "_meta", None), BrokeredInfo) or (
        isinstance(value, type) and isinstance(getattr(value, "_meta", None), BrokeredInfo)
    ):
        return Ref(attr)
    return Field(attr)


def _as(kind: type[_Attribute], item: Any) -> _Attribute:
    return item if isinstance(item, _Attribute) else kind(item)


def _add(meta: BrokeredInfo, attr: _Attribute) -> None:
    table = meta._table(attr)
    if attr.name not in table:
        meta.add(attr)
