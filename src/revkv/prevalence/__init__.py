"""Object prevalence: plain Python objects made durable by journaling their method calls.

A coopy user switches by changing the import; coopy's names all work::

    from revkv.prevalence import init_system, readonly

    wiki = init_system(Wiki(), "/path/to/somedir")
    wiki.create_page("My First Page", "My First Page Content")   # journaled, fsynced
    wiki.take_snapshot()

`open_system` is the same with every setting spelled out; `control(proxy)` reaches the
engine (snapshots, stats, close) without any chance of clashing with the object's names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from revkv.prevalence._codec import Codec, MsgpackCodec, PickleCodec
from revkv.prevalence._decorators import abort_exception, readonly, unlocked
from revkv.prevalence._journal import DEFAULT_SEGMENT_SIZE, Durability
from revkv.prevalence._proxy import Proxy, control
from revkv.prevalence._system import Settings, System

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "Codec",
    "Durability",
    "MsgpackCodec",
    "PickleCodec",
    "Proxy",
    "Settings",
    "System",
    "abort_exception",
    "control",
    "init_persistent_system",
    "init_system",
    "open_system",
    "readonly",
    "unlocked",
]

T = TypeVar("T")


def open_system(
    obj: Any,
    path: str | Path | None,
    *,
    codec: Literal["pickle", "msgpack"] = "pickle",
    durability: Durability = "always",
    fsync_interval: float = 0.05,
    snapshot_every: int | None = None,
    snapshot_interval: float | None = None,
    keep_snapshots: int = 2,
    keep_journal: bool = False,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
    validate_clock: bool = True,
    replay_errors: Literal["raise", "log"] = "raise",
    progress: bool | None = None,
    compact_on_snapshot: bool = False,
) -> Any:
    """Open (or create) the prevalent system kept in `path`; `None` keeps it in memory only.

    `obj` is the initial state, a class or an instance: it is used only when the
    directory is new. Returns a proxy whose method calls are commands.
    """
    settings = Settings(
        codec=codec,
        durability=durability,
        fsync_interval=fsync_interval,
        snapshot_every=snapshot_every,
        snapshot_interval=snapshot_interval,
        keep_snapshots=max(1, keep_snapshots),
        keep_journal=keep_journal,
        segment_size=segment_size,
        validate_clock=validate_clock,
        replay_errors=replay_errors,
        progress=progress,
        compact_on_snapshot=compact_on_snapshot,
    )
    directory = Path(path) if path is not None else None
    return Proxy(System(obj, directory, settings))


def _default_basedir(obj: Any) -> Path:
    cls = obj if isinstance(obj, type) else type(obj)
    return Path(cls.__name__.lower())


def init_persistent_system(obj: Any, basedir: str | Path | None = None, **settings: Any) -> Any:
    """coopy's entry point: `basedir` defaults to the lower-cased class name."""
    return open_system(obj, basedir if basedir is not None else _default_basedir(obj), **settings)


def init_system(
    obj: Any,
    basedir: str | Path | None = None,
    snapshot_time: float = 0,
    master: bool = False,
    replication: bool = False,
    port: int = 5466,
    host: str = "127.0.0.1",
    password: str = "copynet",
    **settings: Any,
) -> Any:
    """coopy's documented entry point, every argument with its documented meaning.

    `snapshot_time` > 0 takes a snapshot every that many seconds. `master=True` also
    serves the journal to replicas on `host:port`; `replication=True` opens a read-only
    replica that follows the master at `host:port` (its `basedir` holds its own copy).
    """
    if snapshot_time:
        settings.setdefault("snapshot_interval", snapshot_time)
    if replication:
        from revkv.prevalence._replication import open_replica

        return open_replica(obj, basedir, host=host, port=port, password=password, **settings)
    proxy = init_persistent_system(obj, basedir, **settings)
    if master:
        from revkv.prevalence._replication import serve_replicas

        serve_replicas(control(proxy), host=host, port=port, password=password)
    return proxy
