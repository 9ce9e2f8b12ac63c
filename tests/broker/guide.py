"""The objects of DaBroker's server guide (doc/server.rst), as the tests serve them."""

from __future__ import annotations

import itertools
from typing import Any

from revkv.broker import BaseObj, BrokerClient, BrokerServer, exported

_queues = itertools.count()


class Status(BaseObj):
    seq = 0
    servers = ("joe", "curly", "moe")
    load = {"joe": 0.1, "curly": None, "moe": 2.5}
    health = "OK"


class Special(BaseObj):
    def __init__(self, msg: str) -> None:
        self.msg = msg


class MyRoot(BaseObj):
    version_string = "0.12.3"
    version_tuple = (0, 12, 3)
    status = Status()

    def login(self, name: str, hash: str) -> str:
        return f"welcome {name}"

    def secret(self) -> str:  # not exported: no client may call it
        return "never"

    @exported(include=True)
    def special_object(self, msg: str) -> Special:
        special = Special(msg)
        self.broker.add_static(special, "special", msg)
        return special

    @exported
    def special_ref(self, msg: str) -> Special:
        special = Special(msg)
        self.broker.add_static(special, "special", msg)
        return special

    broker: Any = None


class GuideServer(BrokerServer):
    def do_hello(self, msg: str) -> str:
        return "hello " + msg

    def do_special(self, msg: str) -> Special:
        special = Special(msg)
        self.add_static(special, "special", msg)
        return special

    do_special.include = True  # type: ignore[attr-defined]

    def do_special_ref(self, msg: str) -> Special:
        special = Special(msg)
        self.add_static(special, "special", msg)
        return special


def serve_guide(cfg: dict[str, Any]) -> tuple[GuideServer, MyRoot]:
    """The guide's server: Status exported, the root exported as an object."""
    broker = GuideServer(cfg=cfg)
    broker.export_class(Status, "servers load health")
    broker.export_class(Special, "msg")
    MyRoot.status = Status()
    root = MyRoot()
    root.broker = broker
    broker.export_object(root, "version_string version_tuple login special_object special_ref",
                         refs="status")  # fmt: skip
    broker.add_static(root, "root")
    broker.root = root
    broker.start()
    return broker, root


def local_cfg() -> dict[str, Any]:
    """A local transport of its own (tests do not share servers)."""
    return {"transport": "local", "rpc_queue": f"test-{next(_queues)}"}


def client_of(broker: BrokerServer) -> BrokerClient:
    return BrokerClient(dict(broker.cfg))
