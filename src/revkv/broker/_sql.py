"""SQLAlchemy models served by the broker, and DaBroker's session helpers.

    sql = SQLLoader(Session, broker)              # Session: a sessionmaker
    sql.add_model(Person, root.data, rw=True)     # key ("sql", "person", <primary key>...)
    sql.add_model(Address, hide={"secret"})

Columns become fields (less `hide`), many-to-one relationships refs, one-to-many
relationships back-references. `rw`: False (the default) lets clients `get`/`find`/
`count`; True adds `new(**values)` and `delete(obj)` on the class; None allows neither
(attributes and explicitly exported methods only).

SQLAlchemy is imported when a model is added (it comes with `revkv[postgresql]`), so
`revkv.broker` itself does not need it. Every request runs in one session per thread
(`session_wrapper`), committed when the request succeeds and rolled back when it
fails, so objects stay attached while their reply is encoded. Nested wrappers use
savepoints, except on SQLite, whose driver does not do them properly: there they share
the outer transaction, so an error must propagate through the outermost wrapper, and a
warning says so once (set `revkv.broker._sql._sqlite_warned = True` to silence it).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from revkv.broker._errors import UnknownKey
from revkv.broker._model import BackRef, BrokeredInfo, Field, Key, Ref
from revkv.errors import InvalidRequest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")

_sqlite_warned = False
_local = threading.local()


class SQLInfo(BrokeredInfo):
    """The meta of one model: its columns, relationships, and searching."""

    def __init__(self, loader: SQLLoader, model: type, name: str, rw: bool | None) -> None:
        super().__init__(name)
        self.loader = loader
        self.model = model
        self.rw = rw
        self._dab_cached = None if rw is None else False

    def _dab_search(self, _limit: int | None = None, **match: Any) -> list[Any]:
        query: Any = self._query(match)
        return list(query.limit(_limit) if _limit is not None else query)

    def _dab_count(self, **match: Any) -> int:
        return int(self._query(match).count())

    def _query(self, match: dict[str, Any]) -> Any:
        """Rows equal to `match` on exported fields only (a hidden column cannot be
        probed by searching on it)."""
        for name in match:
            if name not in self.fields or name == "_meta":
                raise InvalidRequest(
                    f"{self.name} cannot be searched by {name!r}: search by one of "
                    + ", ".join(sorted(n for n in self.fields if n != "_meta"))
                )
        return self.loader.session().query(self.model).filter_by(**match)

    def local_new(self, **values: Any) -> Any:
        obj = self.model(**values)
        session = self.loader.session()
        session.add(obj)
        session.flush()
        return obj

    def local_update(self, obj: Any, **values: Any) -> None:
        for name, value in values.items():
            setattr(obj, name, value)
        self.loader.session().flush()

    def local_delete(self, obj: Any) -> None:
        session = self.loader.session()
        session.delete(obj)
        session.flush()

    def new(self, **values: Any) -> Any:
        """A new row (clients: `Model.new(**values)` when rw=True)."""
        return self.loader.broker.obj_new(self, **values)

    new._dab_include = True  # type: ignore[attr-defined]

    def delete(self, obj: Any) -> None:
        """Delete a row (clients: `Model.delete(obj)` when rw=True)."""
        self.loader.broker.obj_delete(obj)


class SQLLoader:
    """Serves SQLAlchemy models from `session_factory` (a sessionmaker)."""

    def __init__(
        self, session_factory: Callable[[], Session], broker: Any, id: str = "sql"
    ) -> None:
        self.id = id
        self.session_factory = session_factory
        self.broker = broker
        self.models: dict[str, SQLInfo] = {}
        broker.loader.add_loader(self)
        broker.scopes.append(self.request_scope)

    def add_model(
        self,
        model: type,
        container: dict[str, Any] | None = None,
        rw: bool | None = False,
        hide: Any = (),
        name: str | None = None,
    ) -> SQLInfo:
        """Describe `model` for clients; put its meta in `container` under its name."""
        from sqlalchemy import inspect as sa_inspect  # SQLAlchemy: revkv[postgresql]

        mapper: Any = sa_inspect(model)
        table = mapper.local_table.name
        meta = SQLInfo(self, model, name or model.__name__, rw)
        hidden = set(hide)
        for column in mapper.column_attrs:
            if column.key not in hidden:
                meta.add(Field(column.key))
        for relation in mapper.relationships:
            if relation.key not in hidden:
                meta.add(BackRef(relation.key) if relation.uselist else Ref(relation.key))
        if rw:
            metameta = BrokeredInfo("meta_" + meta.name)
            for call in ("new", "delete"):
                metameta.add(_call(call))
            self.broker.register_meta(metameta, "_ecm", meta.name)
            meta._meta = metameta
        meta._key = Key((self.id, table))
        self.models[table] = meta
        model._meta = meta  # type: ignore[attr-defined]
        model._key = property(self.key_of)  # type: ignore[attr-defined]
        if container is not None:
            container[meta.name] = meta
        return meta

    def key_of(self, obj: Any) -> Key:
        from sqlalchemy import inspect as sa_inspect

        identity = sa_inspect(obj).identity
        if identity is None:
            raise UnknownKey(f"{obj!r} has no primary key yet (it was never flushed)")
        return Key((self.id, sa_inspect(obj).mapper.local_table.name, *identity))

    def get(self, *parts: Any) -> Any:
        meta = self.models.get(parts[0]) if parts else None
        if meta is None:
            raise UnknownKey(f"no model is served as {(self.id, *parts[:1])!r}")
        if len(parts) == 1:
            return meta
        pk = parts[1] if len(parts) == 2 else tuple(parts[1:])
        obj: Any = self.session().get(meta.model, pk)
        if obj is None:
            raise UnknownKey(f"no {meta.name} has the key {pk!r}")
        return obj

    def session(self) -> Session:
        """This thread's session of this loader (one for the request, or a new scope)."""
        stack = _stacks().get(self.session_factory)
        if stack:
            return stack[-1]
        raise RuntimeError("no session: use session_wrapper(model) or @with_session")

    @contextlib.contextmanager
    def request_scope(self) -> Iterator[Session]:
        """The server's scope: the outermost one, or joins the caller's (obj_* calls)."""
        with _wrapped(self.session_factory, join=True) as session:
            yield session


def _call(name: str) -> Any:
    from revkv.broker._model import Callable as Call

    return Call(name)


def _stacks() -> dict[Any, list[Session]]:
    stacks: dict[Any, list[Session]] | None = getattr(_local, "stacks", None)
    if stacks is None:
        stacks = _local.stacks = {}
    return stacks


def _factory_of(x: Any) -> Callable[[], Session]:
    meta = x if isinstance(x, SQLInfo) else getattr(x, "_meta", None)
    if not isinstance(meta, SQLInfo):
        raise TypeError(
            f"session_wrapper needs a model added with add_model(), or one of its rows: {x!r}"
        )
    return meta.loader.session_factory


@contextlib.contextmanager
def session_wrapper(x: Any) -> Iterator[Session]:
    """This thread's session for the database of `x` (a served model, row or meta):
    the outermost wrapper commits (or rolls back on error); nested ones use savepoints."""
    with _wrapped(_factory_of(x)) as session:
        yield session


@contextlib.contextmanager
def _wrapped(factory: Callable[[], Session], join: bool = False) -> Iterator[Session]:
    stack = _stacks().setdefault(factory, [])
    if stack:
        session = stack[-1]
        if join:
            yield session
            return
        if session.get_bind().dialect.name == "sqlite":
            _warn_sqlite()
            yield session
            return
        with session.begin_nested():
            yield session
        return
    session = factory()
    stack.append(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        stack.pop()
        session.close()


def _warn_sqlite() -> None:
    global _sqlite_warned
    if not _sqlite_warned:
        _sqlite_warned = True
        warnings.warn(
            "SQLite has no usable savepoints here: a nested session_wrapper shares the outer "
            "transaction, so let errors propagate through the outermost one",
            RuntimeWarning,
            stacklevel=4,
        )


def with_session(func: Callable[..., T]) -> Callable[..., T]:
    """`@with_session def f(session, x, ...)` is called as `f(x, ...)`, in
    `session_wrapper(x)`."""

    @functools.wraps(func)
    def wrapper(x: Any, *args: Any, **kwargs: Any) -> T:
        with session_wrapper(x) as session:
            return func(session, x, *args, **kwargs)

    return wrapper
