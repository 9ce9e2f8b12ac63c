"""The broker server: export objects, answer requests, broadcast invalidations.

    request   {"_m": name, "_o_": Ref(target)?, "_a": LIST[args], **named}
              no target: the server's `do_<name>`; a target: a method its meta lists
              in `calls` (or `_dab_search`/`_dab_count` on a searchable meta)
    reply     {"data": result, "msgid": N}   N = the last broadcast sent before it
              {"error": exc, "tb": []}        (see `_errors`)
    broadcast {"data": {"_m": "invalid_key", "_key": Ref, "_meta": Ref, attr: LIST[old, new]},
               "msgid": N}                   N counts up from 1 per server process

`handle` is the whole request path and does no I/O: it returns the broadcasts a request
caused and its reply, and the transport sends them in that order (DaBroker's client
holds a reply until it has seen the broadcast numbered in its `msgid`). Broadcasts made
outside a request (`obj_update` from the application, the store's watch feed) go to the
transport at once. Results are sent as keys, except for `include` methods (`get`,
`root`, `@exported(include=True)`, small searches) which send whole objects.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from revkv.broker import _codec as codec
from revkv.broker._errors import ForgedKey, MalformedMessage, NotExported, UnknownKey
from revkv.broker._export import export_class
from revkv.broker._loader import Loaders
from revkv.broker._model import (
    DEFAULT_SECRET,
    ROOT_META,
    BrokeredInfo,
    Key,
    _Attribute,
    access_code,
    includes,
)
from revkv.errors import RevkvError

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "transport": "local",
    "codec": "json",
    "amqp_host": "localhost",
    "amqp_port": 5672,
    "amqp_user": "guest",
    "amqp_password": "guest",
    "amqp_virtual_host": "/",
    "rpc_queue": "dab_queue",
    "rpc_exchange": "dab_alert",
    "SECRET_KEY": DEFAULT_SECRET,
}

BROADCAST_WAIT = 10.0
_ENVELOPE = ("_m", "_o", "_a", "_mt")


class BrokerServer:
    """A DaBroker-compatible server. Subclass it to add `do_<name>` methods.

    `cfg` takes DaBroker's keys (see `DEFAULTS`); `transport` is "local" (in process)
    or "amqp". Thread-safe: requests, `obj_*` calls and the watch feed may run at once.
    """

    root: Any = None

    def __init__(self, cfg: dict[str, Any] | None = None) -> None:
        self.cfg = {**DEFAULTS, **(cfg or {})}
        if self.cfg["codec"] != "json":
            raise ValueError(f"codec {self.cfg['codec']!r}: revkv's broker speaks json only")
        self.secret = str(self.cfg["SECRET_KEY"])
        self.loader = Loaders(self.code)
        #: this process's name on the wire (AMQP app_id), so peers tell servers apart
        self.instance = uuid.uuid4().hex[:12]
        self.transport: Any = None
        self.last_msgid = 0
        self._lock = threading.Lock()
        self._pending = threading.local()
        self._exported: dict[str, BrokeredInfo] = {}
        #: context managers every request and obj_* call runs in (SQL sessions)
        self.scopes: list[Callable[[], AbstractContextManager[Any]]] = []
        self._codes: dict[tuple[Any, ...], str] = {}

    # -- life --------------------------------------------------------------------------

    def start(self, purge: bool = False) -> None:
        """Connect the transport and serve; `purge` drops requests queued while down."""
        from revkv.broker._transport import server_transport

        if self.transport is None:
            self.transport = server_transport(self)
        self.transport.start(purge=purge)

    def stop(self) -> None:
        """Stop serving (requests wait in the queue for the next server)."""
        if self.transport is not None:
            self.transport.stop()
            self.transport = None

    # -- objects -----------------------------------------------------------------------

    def add_static(self, obj: Any, *key: Any) -> Key:
        """Register `obj` under the stable key `("_s", *key)`."""
        return self.loader.static.add(obj, *key)

    def del_static(self, obj: Any, *key: Any) -> None:
        self.loader.static.delete(obj, *key)

    def export_class(self, cls: type, attrs: Any = None, **kw: Any) -> BrokeredInfo:
        """Describe `cls` for clients (see `revkv.broker._export.export_class`)."""
        return export_class(self, cls, attrs, **kw)

    def export_object(self, obj: Any, attrs: Any = None, **kw: Any) -> BrokeredInfo:
        """Describe one object: its class's attributes, set on the object alone."""
        kw.setdefault("name", type(obj).__name__)
        return export_class(self, type(obj), attrs, target=obj, **kw)

    def register_meta(self, meta: BrokeredInfo, *key: Any) -> None:
        if meta.name in self._exported and self._exported[meta.name] is not meta:
            raise ValueError(f"a class named {meta.name!r} is exported already: pass name=")
        self._exported[meta.name] = meta
        self.add_static(meta, *key)

    def code(self, parts: tuple[Any, ...]) -> str:
        """The access code of a key (cached: it is a hash of the secret and the parts)."""
        code = self._codes.get(parts)
        if code is None:
            code = self._codes[parts] = access_code(self.secret, parts)
        return code

    def key_of(self, obj: Any, owner: Any = None, name: str = "") -> Key:
        """The key of `obj`; an unkeyed object reached as `owner.name` gets the stable
        key `owner's parts + (name,)` in the static loader."""
        key = getattr(obj, "_key", None)
        if isinstance(key, Key):
            return key
        owner_key = getattr(owner, "_key", None)
        if not isinstance(owner_key, Key) or owner_key.parts[0] != "_s":
            raise UnknownKey(f"{obj!r} has no key: register it with add_static()")
        return self.loader.add(obj, *owner_key.parts[1:], name)

    # -- updates -----------------------------------------------------------------------

    def obj_update(self, obj: Any, **values: Any) -> None:
        """Change `obj` and tell clients: they drop their copies and fetch it again."""
        meta: BrokeredInfo = obj._meta
        changes = {}
        with self.scoped():
            for name, new in values.items():
                if name != "_meta" and (name in meta.fields or name in meta.refs):
                    changes[name] = (self._wire_value(meta, name, getattr(obj, name, None)), new)
            meta.local_update(obj, **values)
            key = getattr(obj, "_key", None)
        if not isinstance(key, Key):
            return  # never sent to a client: nobody has a copy to drop
        for name, (old, new) in list(changes.items()):
            changes[name] = (old, self._wire_value(meta, name, new))
        self.send("invalid_key", _key=key, _meta=self.key_of(meta), **changes)

    def obj_new(self, cls: Any, *key: Any, **values: Any) -> Any:
        """Make an object of `cls` (a class or a model meta), register it under `key`
        if given, and tell clients searching that class."""
        meta: BrokeredInfo = cls if isinstance(cls, BrokeredInfo) else cls._meta
        with self.scoped():
            obj = meta.local_new(**values) if hasattr(meta, "local_new") else cls(**values)
            if key:
                self.loader.add(obj, *key)
            attrs = {n: (self._wire_value(meta, n, getattr(obj, n, None)),) for n in _data(meta)}
        self.send("invalid_key", _meta=self.key_of(meta), **attrs)
        return obj

    def obj_delete(self, obj: Any) -> None:
        """Delete `obj` and tell clients."""
        meta: BrokeredInfo = obj._meta
        with self.scoped():
            attrs = {n: (self._wire_value(meta, n, getattr(obj, n, None)),) for n in _data(meta)}
            key = getattr(obj, "_key", None)
            meta.local_delete(obj)
        if not isinstance(key, Key):
            return
        self.send("invalid_key", _key=key, _meta=self.key_of(meta), **attrs)

    def _wire_value(self, meta: BrokeredInfo, name: str, value: Any) -> Any:
        if name in meta.refs and value is not None:
            return getattr(value, "_key", value)
        return value

    def send(self, action: str, *args: Any, **values: Any) -> int:
        """Broadcast `{"_m": action, ...}` to every client; its msgid."""
        message: dict[str, Any] = {"_m": action, **values}
        if args:
            message["_a"] = list(args)
        data = codec.encode_dict(message, self._encode_hook, None)
        pending: list[tuple[int, bytes]] | None = getattr(self._pending, "broadcasts", None)
        ticket = None
        with self._lock:  # numbers and hand-over in one order
            self.last_msgid += 1
            msgid = self.last_msgid
            body = codec.dumps({"data": data, "msgid": msgid})
            if pending is not None:
                pending.append((msgid, body))
            elif self.transport is not None:
                ticket = self.transport.broadcast(body, msgid)
        if ticket is not None:  # sent (AMQP) before obj_update returns
            try:
                ticket.result(BROADCAST_WAIT)
            except Exception as error:  # the broker is away: clients reconnecting refetch
                log.warning("broadcast %d was not sent: %s", msgid, error)
        return msgid

    def invalidate(self, keys: Iterable[Key], meta: BrokeredInfo | None = None) -> int:
        """Tell clients these objects changed (for loaders that watch their source)."""
        msgid = 0
        for key in keys:
            extra = {"_meta": self.key_of(meta)} if meta is not None else {}
            msgid = self.send("invalid_key", _key=key, **extra)
        return msgid

    # -- requests ----------------------------------------------------------------------

    def handle(self, body: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
        """One request: the broadcasts it caused and its reply. Never raises."""
        broadcasts: list[tuple[int, bytes]] = []
        self._pending.broadcasts = broadcasts
        try:
            reply = self._reply(body)
        finally:
            self._pending.broadcasts = None
        return broadcasts, reply

    def _reply(self, body: bytes) -> bytes:
        try:
            with self.scoped():  # objects stay attached (SQL) until encoded
                proc, args, named, include = self._resolve(body)
                result = proc(*args, **named)
                if not isinstance(result, (list, tuple, dict)) and _is_iterator(result):
                    result = list(result)
                data = codec.encode(result, self._encode_hook, include)
            return codec.dumps({"data": data, "msgid": self.last_msgid})
        except Exception as error:
            return self.error_reply(error)

    @contextlib.contextmanager
    def scoped(self) -> Iterator[None]:
        """Run inside every registered scope (one SQL session per thread)."""
        if not self.scopes:
            yield
            return
        with contextlib.ExitStack() as stack:
            for scope in self.scopes:
                stack.enter_context(scope())
            yield

    def error_reply(self, error: Exception) -> bytes:
        """An error as DaBroker's clients read it; unexpected ones are logged here."""
        if isinstance(error, codec.CodecError):
            error = MalformedMessage(str(error))
        elif not isinstance(error, (RevkvError, LookupError, ValueError, TypeError)):
            log.exception("a broker request failed")
        tagged = {"_o": "exc", "_t": type(error).__name__, "_r": repr(error), "msg": str(error)}
        return codec.dumps({"error": tagged, "tb": []})

    def _resolve(self, body: bytes) -> tuple[Any, list[Any], dict[str, Any], bool]:
        raw = codec.loads(body)
        if "_m" not in raw and isinstance(raw.get("data"), dict):
            raw = raw["data"]  # DaBroker's clients wrap a request as {"data": …}
        message = codec.decode(raw, self._decode_hook)
        name = message.get("_m")
        if not isinstance(name, str) or not name:
            raise MalformedMessage("a request names its method in _m")
        args = message.get("_a", [])
        if not isinstance(args, list):
            raise MalformedMessage("_a holds the positional arguments as a list")
        named = {k: v for k, v in message.items() if k not in _ENVELOPE}
        if "_o" not in message:
            proc = getattr(self, "do_" + name, None)
            if proc is None or not callable(proc):
                raise NotExported(f"the server has no method {name!r}")
            return proc, args, named, includes(proc)
        return self._method_of(message["_o"], name, args, named)

    def _method_of(
        self, target: Any, name: str, args: list[Any], named: dict[str, Any]
    ) -> tuple[Any, list[Any], dict[str, Any], bool]:
        if name in ("_dab_search", "_dab_count"):
            if not isinstance(target, BrokeredInfo) or target._dab_cached is None:
                raise NotExported(f"{target!r} cannot be searched")
            limit = named.get("_limit")
            small = name == "_dab_search" and isinstance(limit, int) and limit < 10
            return getattr(target, name), args, named, small
        meta = getattr(target, "_meta", None)
        if isinstance(target, BrokeredInfo):
            meta = meta or ROOT_META
        if name.startswith("_") or not isinstance(meta, BrokeredInfo) or name not in meta.calls:
            raise NotExported(f"{name!r} is not a method that {_label(target)} exports")
        proc = getattr(target, name, None)
        if proc is None and isinstance(target, BrokeredInfo):
            proc = getattr(getattr(target, "model", None), name, None)
        if proc is None or not callable(proc):
            raise NotExported(f"{_label(target)} has no method {name!r}")
        return proc, args, named, includes(proc)

    # -- the codec's hooks -------------------------------------------------------------

    def _encode_hook(self, value: Any, include: bool | None) -> dict[str, Any] | None:
        if value is ROOT_META:
            return {"_o": "_ROOT"}
        if isinstance(value, Key):
            return self._ref(value, include is not None)
        if isinstance(value, _Attribute):
            return {**codec.encode_dict(value.wire(), self._encode_hook, False), "_o": value.kind}
        meta = ROOT_META if isinstance(value, BrokeredInfo) else getattr(value, "_meta", None)
        if not isinstance(meta, BrokeredInfo):
            return None
        key = self.key_of(value)
        if not include and not (include is False and isinstance(value, BrokeredInfo)):
            return self._ref(key, include is not None)  # metas go whole: small and few
        tagged = self._ref(key, True)
        if isinstance(value, BrokeredInfo):
            tagged["_o"] = "Info"
            tagged["f"] = codec.encode_dict(_info_fields(value), self._encode_hook, False)
            tagged["r"] = {"_meta": codec.encode(value._meta or ROOT_META, self._encode_hook)}
            return tagged
        tagged["_o"] = "Obj"
        fields = {n: getattr(value, n, None) for n in meta.fields if n != "_meta"}
        tagged["f"] = codec.encode_dict(fields, self._encode_hook, False)
        refs: dict[str, Any] = {"_meta": self._ref(self.key_of(meta), True)}
        for name in meta.refs:
            if name != "_meta":
                ref = getattr(value, name, None)
                refs[name] = None if ref is None else self._ref(self.key_of(ref, value, name), True)
        tagged["r"] = refs
        return tagged

    def _ref(self, key: Key, with_code: bool) -> dict[str, Any]:
        tagged: dict[str, Any] = {"_o": "Ref", "k": {"_o": "LIST", "_d": list(key.parts)}}
        if with_code:
            tagged["c"] = self.code(key.parts)
        return tagged

    def _decode_hook(self, tag: str, fields: dict[str, Any]) -> Any:
        if tag == "_ROOT":
            return ROOT_META
        if tag not in ("Ref", "Obj", "Info"):
            raise codec.CodecError(f"a client cannot send {tag!r} objects")
        parts = fields.get("k")
        if not isinstance(parts, list) or not all(isinstance(p, (str, int)) for p in parts):
            raise codec.CodecError("a key is a LIST of strings and integers")
        code = fields.get("c")
        if code is None:
            raise ForgedKey(f"the key {tuple(parts)!r} came without its access code")
        if code != self.code(tuple(parts)):
            raise ForgedKey(f"the access code of key {tuple(parts)!r} is wrong")
        return self.loader.get(tuple(parts))

    # -- built-in requests -------------------------------------------------------------

    def do_root(self) -> Any:
        """The root object, whole (registered as `("_s", "root")` on first use)."""
        root = self.root
        if root is None:
            raise UnknownKey("this server has no root object (set broker.root)")
        if not isinstance(getattr(root, "_key", None), Key):
            self.add_static(root, "root")
        if not isinstance(root._meta._key, Key):
            self.add_static(root._meta, "root", "meta")
        return root

    do_root._dab_include = True  # type: ignore[attr-defined]

    def do_get(self, obj: Any) -> Any:
        """An object by its key (decoding the key checked its access code)."""
        return obj

    do_get._dab_include = True  # type: ignore[attr-defined]

    def do_echo(self, msg: Any) -> Any:
        return msg

    def do_ping(self) -> None:
        """Nothing; the reply's msgid tells a new client where broadcasts stand."""

    def do_pong(self) -> None:
        """Nothing (DaBroker's)."""

    def do_backref_idx(self, obj: Any, name: str, index: int) -> Any:
        """Item `index` of back-reference `name` of `obj`."""
        return self._backref(obj, name)[index]

    def do_backref_len(self, obj: Any, name: str) -> int:
        return len(self._backref(obj, name))

    def _backref(self, obj: Any, name: str) -> list[Any]:
        meta = getattr(obj, "_meta", None)
        if not isinstance(meta, BrokeredInfo) or name not in meta.backrefs:
            raise NotExported(f"{_label(obj)} has no back-reference {name!r}")
        return meta.backref_items(obj, name)

    # -- peers -------------------------------------------------------------------------

    def on_peer_broadcast(self, body: bytes) -> None:
        """Another server's broadcast: apply its `obj_update` values to our copy of the
        object, so servers holding the same static objects stay in step."""
        try:
            message = codec.decode(codec.loads(body), _peer_value)["data"]
            key = message.get("_key")
            if message.get("_m") != "invalid_key" or not isinstance(key, Key):
                return
            obj = self.loader.get(key.parts)
        except (codec.CodecError, UnknownKey, KeyError, TypeError):
            return
        meta = getattr(obj, "_meta", None)
        if not isinstance(meta, BrokeredInfo):
            return
        for name, change in message.items():
            if name.startswith("_") or not isinstance(change, list) or len(change) != 2:
                continue
            new = change[1]
            if name in meta.refs and isinstance(new, Key):
                try:
                    new = self.loader.get(new.parts)
                except UnknownKey:
                    continue
            if name in meta.fields or name in meta.refs:
                meta.local_update(obj, **{name: new})
        self.peer_changed(obj, message)

    def peer_changed(self, obj: Any, message: dict[str, Any]) -> None:
        """Called after a peer's invalidation was applied to `obj` (override to react)."""


def _peer_value(tag: str, fields: dict[str, Any]) -> Any:
    if tag == "Ref":
        return Key(tuple(fields.get("k") or ()))
    return fields


def _data(meta: BrokeredInfo) -> list[str]:
    return [n for n in (*meta.fields, *meta.refs) if n != "_meta"]


def _info_fields(meta: BrokeredInfo) -> dict[str, Any]:
    return {
        "name": meta.name,
        "fields": dict(meta.fields),
        "refs": dict(meta.refs),
        "backrefs": dict(meta.backrefs),
        "calls": dict(meta.calls),
        "_dab_cached": meta._dab_cached,
    }


def _label(obj: Any) -> str:
    key = getattr(obj, "_key", None)
    return f"the object {key!r}" if isinstance(key, Key) else f"{type(obj).__name__} object"


def _is_iterator(value: Any) -> bool:
    return hasattr(value, "__next__")
