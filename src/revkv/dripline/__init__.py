"""revkv's dripline door: a dripline wp1 service on RabbitMQ whose values are revkv keys.

`Interface` talks to any dripline service from a script; `revkv dripline serve`
serves a dragonfly `kv_store` YAML file (see docs/dripline.md).
"""

from __future__ import annotations

from revkv.dripline._interface import Interface, Reply

__all__ = ["Interface", "Reply"]
