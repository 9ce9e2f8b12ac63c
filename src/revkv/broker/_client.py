"""The broker client: remote objects as Python objects, with a cache the server empties.

`BrokerClient(cfg).root` is the server's root object. Reading a field reads the
object's copy; reading a ref fetches the object it names (from the cache, else with one
`get`); calling a method sends it to the server. Metas (`root.data["Person"]`, or any
object's `_meta`) answer `get`, `find` and `count` by equality on fields.

The cache holds each object once, by key. A broadcast `invalid_key` drops the object it
names (and cached searches of its class); the next access through a ref fetches it
again. An object already in hand keeps its old copy: refresh it with `obj._key()`.

Ordering: a reply carries the number of the last broadcast its server sent before it
(`msgid`); it is processed only once that broadcast has been seen, so a reply never
overtakes the invalidation that preceded it. Broadcasts and replies carry the sending
server's id (AMQP `app_id`), so several servers' numbers are kept apart; a server's
first reply to this client sets where its numbering stands.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from revkv import errors
from revkv.broker import _codec as codec
from revkv.broker._errors import KNOWN, ManyData, NoData, NotExported, RemoteError
from revkv.broker._model import BackRef, Callable, Field, Key, Ref
from revkv.broker._server import DEFAULTS
from revkv.errors import RevkvError

log = logging.getLogger(__name__)

CACHE_SIZE = 10_000
ORDER_WAIT = 2.0  # seconds a reply waits for the broadcast it follows
_ATTRS = {"_F": Field, "_R": Ref, "_B": BackRef, "_C": Callable}


class ClientKey(Key):
    """A key as a client holds it: call it to get its object (`root = root._key()`)."""

    __slots__ = ("client",)

    def __init__(self, parts: tuple[Any, ...], code: str | None, client: BrokerClient) -> None:
        super().__init__(parts, code)
        self.client = client

    def __call__(self) -> Any:
        return self.client.get(self)


class ClientObj:
    """A copy of a server object: fields as attributes, refs fetched on access."""

    _key: ClientKey
    _meta: ClientInfo
    _refs: dict[str, ClientKey | None]
    _obsolete: bool

    def __getattr__(self, name: str) -> Any:
        meta = self.__dict__.get("_meta")
        if meta is None or name.startswith("__"):
            raise AttributeError(name)
        if name in meta.refs:
            ref = self.__dict__["_refs"].get(name)
            return None if ref is None else ref()
        if name in meta.backrefs:
            return BackRefList(self, name)
        calls = meta.calls if not isinstance(self, ClientInfo) else self._class_calls()
        if name in calls:
            return _RemoteMethod(self, name)
        raise AttributeError(f"{self!r} has no attribute {name!r}")

    def __repr__(self) -> str:
        meta = self.__dict__.get("_meta")
        return f"‹{getattr(meta, 'name', '?')} {self.__dict__.get('_key')!r}›"  # noqa: RUF001

    def __eq__(self, other: object) -> bool:
        return bool(self.__dict__.get("_key") == getattr(other, "_key", other))

    def __hash__(self) -> int:
        return hash(self.__dict__.get("_key"))


class ClientInfo(ClientObj):
    """A meta on the client: describes its objects and searches them."""

    name: str
    fields: dict[str, Field]
    refs: dict[str, Ref]
    backrefs: dict[str, BackRef]
    calls: dict[str, Callable]
    _dab_cached: bool | None

    def _class_calls(self) -> dict[str, Any]:
        meta = self.__dict__.get("_meta")
        return dict(getattr(meta, "calls", {}) or {})

    def find(self, **match: Any) -> list[Any]:
        """Every object whose fields equal `match`."""
        return self._dab.find(self, None, match)

    def get(self, **match: Any) -> Any:
        """The one object whose fields equal `match`: `NoData`, `ManyData` otherwise."""
        found = self._dab.find(self, 2, match)
        if not found:
            raise NoData(f"no {self.name} has {_describe(match)}")
        if len(found) > 1:
            raise ManyData(f"more than one {self.name} has {_describe(match)}: use find()")
        return found[0]

    def count(self, **match: Any) -> int:
        """How many objects `find(**match)` would return."""
        self._searchable()
        return int(self._dab.send("_dab_count", _o=self, **match))

    def _searchable(self) -> None:
        if self._dab_cached is None:
            raise NotExported(f"{self.name} objects cannot be searched")

    @property
    def _dab(self) -> BrokerClient:
        client: BrokerClient = self._key.client
        return client

    def __repr__(self) -> str:
        return f"‹I:{self.__dict__.get('name')}›"  # noqa: RUF001


class _RemoteMethod:
    def __init__(self, obj: ClientObj, name: str) -> None:
        self.obj = obj
        self.name = name

    def __call__(self, *args: Any, **named: Any) -> Any:
        return self.obj._key.client.send(self.name, *args, _o=self.obj, **named)


class BackRefList:
    """The objects referring to one object, read by index and length (one RPC each)."""

    def __init__(self, obj: ClientObj, name: str) -> None:
        self.obj = obj
        self.name = name

    def __len__(self) -> int:
        return int(self.obj._key.client.send("backref_len", self.obj, self.name))

    def __getitem__(self, index: int) -> Any:
        item = self.obj._key.client.send("backref_idx", self.obj, self.name, index)
        return item() if isinstance(item, ClientKey) else item

    def __iter__(self) -> Any:
        for index in range(len(self)):
            yield self[index]


class _Root(ClientInfo):
    """The meta of metas."""


class BrokerClient:
    """A connection to broker servers; `cfg` as for `BrokerServer` (DaBroker's keys).

    Thread-safe: many threads may read and call at once over one connection.
    """

    def __init__(self, cfg: dict[str, Any] | None = None, *, start: bool = True) -> None:
        self.cfg = {**DEFAULTS, **(cfg or {})}
        self.timeout = float(self.cfg.get("timeout", 10.0))
        self._cache: OrderedDict[tuple[Any, ...], ClientObj] = OrderedDict()
        self._searches: dict[tuple[Any, ...], dict[str, list[Any]]] = {}
        self._lock = threading.RLock()
        self._order = threading.Condition()
        self._seen: dict[str, int] = {}
        self._replied: set[str] = set()
        self._root_meta = self._make_root()
        self._root_key: ClientKey | None = None
        self.hits = 0
        from revkv.broker._transport import client_transport

        self.transport = client_transport(self)
        if start:
            self.start()

    def start(self) -> None:
        self.transport.start()

    def stop(self) -> None:
        self.transport.stop()

    close = stop

    def __enter__(self) -> BrokerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the API -----------------------------------------------------------------------

    @property
    def root(self) -> Any:
        """The server's root object: asked for once, then by its key (from the cache
        until the server invalidates it)."""
        key = self._root_key
        if key is not None:
            return self.get(key)
        root = self.send("root")
        self._root_key = root.__dict__.get("_key") if isinstance(root, ClientObj) else None
        return root

    def call(self, name: str, /, *args: Any, **named: Any) -> Any:
        """Call the server's `do_<name>` (DaBroker 2014's `broker.send`)."""
        return self.send(name, *args, **named)

    def get(self, key: Key) -> Any:
        """The object `key` names: from the cache, else from the server."""
        obj = self.cached(key)
        return obj if obj is not None else self.send("get", key)

    def find(self, meta: ClientInfo, limit: int | None, match: dict[str, Any]) -> list[Any]:
        meta._searchable()
        named = dict(match)
        if limit is not None:
            named["_limit"] = limit
        label = repr(sorted((k, repr(v)) for k, v in named.items()))
        if meta._dab_cached:
            with self._lock:
                hit = self._searches.get(meta._key.parts, {}).get(label)
            if hit is not None:
                return [self._resolve(r) for r in hit]
        found = self.send("_dab_search", _o=meta, **named)
        if meta._dab_cached:
            with self._lock:
                self._searches.setdefault(meta._key.parts, {})[label] = list(found)
        return [self._resolve(r) for r in found]

    def _resolve(self, item: Any) -> Any:
        return item() if isinstance(item, ClientKey) else item

    def send(self, name: str, /, *args: Any, _o: Any = None, **named: Any) -> Any:
        """One request; its decoded result (an error the server sent is raised)."""
        body = self._request_body(name, args, _o, named)
        reply, server = self.transport.request(body, self.timeout)
        return self._read_reply(reply, server)

    def _request_body(self, name: str, args: tuple[Any, ...], target: Any, named: Any) -> bytes:
        """The wire form of one request (shared with `AsyncBrokerClient`)."""
        message: dict[str, Any] = {"_m": name, **named}
        if args:
            message["_a"] = list(args)
        if target is not None:
            message["_o"] = target
        return codec.dumps({"data": codec.encode_dict(message, self._encode_hook, False)})

    def cached(self, key: Key) -> Any:
        """The cached copy of the object `key` names, or None (no I/O)."""
        with self._lock:
            obj = self._cache.get(key.parts)
            if obj is not None:
                self.hits += 1
            return obj

    # -- replies and broadcasts --------------------------------------------------------

    def _read_reply(self, body: bytes, server: str) -> Any:
        message = codec.loads(body)
        if "error" in message:
            raise _error_of(message["error"])
        msgid = message.get("msgid")
        if isinstance(msgid, int):
            self._await_broadcast(server, msgid)
        return codec.decode(message.get("data"), self._decode_hook)

    def _await_broadcast(self, server: str, msgid: int) -> None:
        with self._order:
            if server not in self._replied:
                self._replied.add(server)
                self._seen[server] = max(self._seen.get(server, 0), msgid)
                return
            if self._order.wait_for(lambda: self._seen.get(server, 0) >= msgid, ORDER_WAIT):
                return
            log.warning("broadcast %d of server %s never came: dropping the cache", msgid, server)
            self._seen[server] = msgid
        self.drop_cache()

    def on_broadcast(self, body: bytes, server: str) -> None:
        """A server's broadcast (any thread): drop what it invalidates."""
        try:
            message = codec.loads(body)
            data = codec.decode(message.get("data"), self._broadcast_hook)
        except (codec.CodecError, RevkvError) as error:
            log.warning("ignoring a bad broadcast: %s", error)
            return
        if isinstance(data, dict) and data.get("_m") in ("invalid_key", "invalid"):
            keys = [data.get("_key")] if data.get("_m") == "invalid_key" else data.get("_a", [])
            self.invalidate([k for k in keys if isinstance(k, Key)], data.get("_meta"))
        msgid = message.get("msgid")
        with self._order:
            if isinstance(msgid, int) and msgid > self._seen.get(server, 0):
                self._seen[server] = msgid
            self._order.notify_all()

    def invalidate(self, keys: list[Key], meta: Any = None) -> None:
        """Drop these objects, and the cached searches of their class."""
        with self._lock:
            for key in keys:
                obj = self._cache.pop(key.parts, None)
                if obj is not None:
                    obj.__dict__["_obsolete"] = True
                if isinstance(obj, ClientInfo):  # a whole class changed: its objects too
                    self._searches.pop(key.parts, None)
                    for parts, item in list(self._cache.items()):
                        if item.__dict__.get("_meta") is obj:
                            del self._cache[parts]
            if isinstance(meta, Key):
                self._searches.pop(meta.parts, None)
            elif keys:
                self._searches.clear()

    def drop_cache(self) -> None:
        """Forget every cached object but the metas (the server may have restarted)."""
        with self._lock:
            for parts in [p for p, o in self._cache.items() if not isinstance(o, ClientInfo)]:
                del self._cache[parts]
            self._searches.clear()

    # -- the codec's hooks -------------------------------------------------------------

    def _encode_hook(self, value: Any, include: bool | None) -> dict[str, Any] | None:
        key = value.__dict__.get("_key") if isinstance(value, ClientObj) else value
        if not isinstance(key, Key):
            return None
        tagged: dict[str, Any] = {"_o": "Ref", "k": {"_o": "LIST", "_d": list(key.parts)}}
        if key.code is not None:
            tagged["c"] = key.code
        return tagged

    def _broadcast_hook(self, tag: str, fields: dict[str, Any]) -> Any:
        if tag in ("Ref", "Obj", "Info"):
            return ClientKey(tuple(fields.get("k") or ()), fields.get("c"), self)
        return fields

    def _decode_hook(self, tag: str, fields: dict[str, Any]) -> Any:
        if tag == "Ref":
            return ClientKey(tuple(fields["k"]), fields.get("c"), self)
        if tag in ("Obj", "Info"):
            return self._object(tag, fields)
        if tag == "_ROOT":
            return self._root_meta
        if tag in _ATTRS:
            name = fields.pop("name")
            return _ATTRS[tag](name, **fields)
        if tag == "exc":
            return _error_of({**fields, "_o": "exc"})
        raise codec.CodecError(f"unknown object tag {tag!r} from the server")

    def _object(self, tag: str, fields: dict[str, Any]) -> ClientObj:
        key = ClientKey(tuple(fields["k"]), fields.get("c"), self)
        refs = dict(fields.get("r") or {})
        meta = refs.pop("_meta", None)
        if isinstance(meta, ClientKey):
            meta = meta()
        obj: ClientObj = ClientInfo() if tag == "Info" else ClientObj()
        obj.__dict__.update(fields.get("f") or {})
        obj.__dict__.update(_key=key, _meta=meta, _refs=refs, _obsolete=False)
        with self._lock:
            self._cache[key.parts] = obj
            self._cache.move_to_end(key.parts)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return obj

    def _make_root(self) -> ClientInfo:
        root = _Root()
        root.__dict__.update(
            name="BrokeredInfoInfo Singleton", fields={}, refs={}, backrefs={}, calls={},
            _dab_cached=None, _meta=None, _refs={}, _obsolete=False,
            _key=ClientKey((), None, self),
        )  # fmt: skip
        return root


_BUILTIN_ERRORS: dict[str, type[Exception]] = {
    e.__name__: e for e in (KeyError, IndexError, ValueError, TypeError)
}


def _error_of(tagged: Any) -> Exception:
    if not isinstance(tagged, dict):
        return RemoteError("Error", repr(tagged))
    kind = str(tagged.get("_t", "Exception"))
    message = str(tagged.get("msg") or tagged.get("_r") or kind)
    known = KNOWN.get(kind)
    if known is not None:
        return known(message)
    revkv_error = getattr(errors, kind, None)
    if isinstance(revkv_error, type) and issubclass(revkv_error, RevkvError):
        return revkv_error.from_fields(message, {})
    builtin = _BUILTIN_ERRORS.get(kind)
    if builtin is not None:
        return builtin(message)
    return RemoteError(kind, message)


def _describe(match: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in sorted(match.items())) or "no conditions"
