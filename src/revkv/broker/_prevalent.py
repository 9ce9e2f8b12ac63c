"""A prevalent system (`revkv.prevalence`) served to remote clients: coopy's "use Pyro"
advice, over the broker instead.

    key      ("_s", "prevalent", <name>)          meta ("_s", "_ec", <name>)
    calls    every public method of the system's class; `@readonly` ones carry
             `readonly: true` in the meta (clients may tell queries from commands)
    fields   the attributes named in `fields=`, read through the system (consistent
             with the journal, as the proxy reads them)

A command (a method that is not `@readonly`) runs through the proxy, so it is journaled
like any local call; when it returns, clients are told the system object changed
(before the reply), and read its fields again. Arguments come from JSON, never pickle;
the journal's codec (pickle for a local system of the user's own objects) is the
system's business, not the network's.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from revkv.broker._model import BaseObj, BrokeredInfo, Callable, Field
from revkv.prevalence import Proxy, control
from revkv.prevalence._decorators import method_kind

if TYPE_CHECKING:
    from revkv.broker._server import BrokerServer


class PrevalentObj(BaseObj):
    """The brokered face of one prevalent system."""

    def __init__(self, broker: BrokerServer, proxy: Proxy, meta: BrokeredInfo) -> None:
        self._broker = broker
        self._proxy = proxy
        self._meta = meta

    def __getattr__(self, name: str) -> Any:
        meta = self.__dict__.get("_meta")
        if meta is None or name.startswith("_"):
            raise AttributeError(name)
        if name in meta.fields:
            return getattr(self._proxy, name)
        if name in meta.calls:
            return self._caller(name, bool(meta.calls[name].extra.get("readonly")))
        raise AttributeError(name)

    def _caller(self, name: str, readonly: bool) -> Any:
        method = getattr(self._proxy, name)
        if readonly:
            return method

        def command(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            finally:
                self.changed()

        return command

    def changed(self) -> None:
        """Tell clients the system's state changed (done after every remote command;
        call it after local commands too if clients should see them at once)."""
        meta: BrokeredInfo = self.__dict__["_meta"]
        self._broker.send("invalid_key", _key=self._key, _meta=meta._key)


def serve_prevalent(
    broker: BrokerServer,
    proxy: Proxy,
    name: str,
    fields: Any = (),
    container: dict[str, Any] | None = None,
) -> PrevalentObj:
    """Export the prevalent system behind `proxy` under `name` (and into `container`)."""
    cls = control(proxy).cls
    meta = BrokeredInfo(name)
    for field in fields.split() if isinstance(fields, str) else fields:
        meta.add(Field(field))
    for attr, value in inspect.getmembers(cls, inspect.isfunction):
        if attr.startswith("_"):
            continue
        readonly = method_kind(value).readonly
        meta.add(Callable(attr, readonly=True) if readonly else Callable(attr))
    broker.register_meta(meta, "_ec", name)
    served = PrevalentObj(broker, proxy, meta)
    broker.add_static(served, "prevalent", name)
    if container is not None:
        container[name] = served
    return served
