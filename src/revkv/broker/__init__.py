"""The object broker: DaBroker's server and client on revkv, over RabbitMQ or in process.

    from revkv.broker import BrokerServer, BrokerClient, BaseObj

A server publishes typed Python objects (plain ones, SQLAlchemy models, revkv
namespaces, prevalent systems); clients read their fields, follow their refs, call
their methods and search them, caching what they read until the server says it changed.
Wire-compatible with DaBroker's 2014 json codec and AMQP topology; see docs/broker.md.
"""

from __future__ import annotations

from revkv.broker._aclient import AsyncBrokerClient
from revkv.broker._client import BrokerClient, ClientInfo, ClientKey, ClientObj
from revkv.broker._door import BrokerDoor, NamespacesRoot, broker_door
from revkv.broker._errors import (
    ForgedKey,
    ManyData,
    NoData,
    NotExported,
    RemoteError,
    UnknownKey,
)
from revkv.broker._main import Main
from revkv.broker._model import (
    BackRef,
    BaseObj,
    BrokeredInfo,
    Callable,
    Field,
    Key,
    Ref,
    access_code,
    exported,
)
from revkv.broker._prevalent import PrevalentObj, serve_prevalent
from revkv.broker._revkv import NamespaceInfo, RevkvLoader
from revkv.broker._server import BrokerServer
from revkv.broker._sql import SQLInfo, SQLLoader, session_wrapper, with_session

__all__ = [
    "AsyncBrokerClient",
    "BackRef",
    "BaseObj",
    "BrokerClient",
    "BrokerDoor",
    "BrokerServer",
    "BrokeredInfo",
    "Callable",
    "ClientInfo",
    "ClientKey",
    "ClientObj",
    "Field",
    "ForgedKey",
    "Key",
    "Main",
    "ManyData",
    "NamespaceInfo",
    "NamespacesRoot",
    "NoData",
    "NotExported",
    "PrevalentObj",
    "Ref",
    "RemoteError",
    "RevkvLoader",
    "SQLInfo",
    "SQLLoader",
    "UnknownKey",
    "access_code",
    "broker_door",
    "exported",
    "serve_prevalent",
    "session_wrapper",
    "with_session",
]
