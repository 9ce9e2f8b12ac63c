"""The store's snapshot image: typed msgspec Structs, so a million commits load quickly.

An image holds the namespaces, the change log (every commit from the oldest retained
rev on, in rev order) and, before it, the versions keys still keep from older revs.
Loading rebuilds each key's history from `older` then `log` (both ascending per key),
re-applying version retention, which also drops log entries retention had pruned.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, TypeVar

import msgspec

from revkv.model import Commit, Namespace
from revkv.store.keyspace import Keyspace, versions_of

if TYPE_CHECKING:
    from revkv.store.state import StoreState

FORMAT = 1
S = TypeVar("S", bound="StoreState")


class Image(msgspec.Struct, array_like=True):
    format: int
    rev: int
    namespaces: list[Namespace]
    older: list[Commit]
    log: list[Commit]
    compacted_through: int
    change_log_size: int


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Image)


def encode_image(state: StoreState) -> bytes:
    log = list(state.log)
    start = log[0].rev if log else state.rev + 1
    older: list[Commit] = []
    if state.log.compacted_through:  # else every retained version is in the log
        for ks in state.namespaces.values():
            for history in ks.keys.values():
                older.extend(c for c in versions_of(history) if c.rev < start)
    image = Image(
        FORMAT,
        state.rev,
        [ks.settings for ks in state.namespaces.values()],
        older,
        log,
        state.log.compacted_through,
        state.log.capacity,
    )
    return _encoder.encode(image)


def decode_image(cls: type[S], data: bytes) -> S:
    image = _decoder.decode(data)
    if image.format != FORMAT:
        raise ValueError(f"store image format {image.format} is not supported")
    state = cls(image.change_log_size)
    state.rev = state.durable_rev = image.rev
    for settings in image.namespaces:
        state.namespaces[settings.name] = Keyspace(settings)
    histories: dict[str, dict[str, Commit | list[Commit]]] = {name: {} for name in state.namespaces}
    for commit in image.older:
        _add(histories[commit.namespace], commit)
    for commit in image.log:
        _add(histories[commit.namespace], commit)
        state.log._items.append(commit)
    state.log.compacted_through = image.compacted_through
    for name, keys in histories.items():
        ks = state.namespaces[name]
        keep = ks.settings.keep_versions
        if keep is not None:
            for history in keys.values():
                if type(history) is list and len(history) > keep:
                    del history[: len(history) - keep]
        ks.keys.update(keys)
    _rebuild_expiry(state)
    return state


def _add(keys: dict[str, Commit | list[Commit]], commit: Commit) -> None:
    history = keys.get(commit.key)
    if history is None:
        keys[commit.key] = commit
    elif type(history) is Commit:
        keys[commit.key] = [history, commit]
    else:
        history.append(commit)  # type: ignore[union-attr]


def _rebuild_expiry(state: StoreState) -> None:
    heap = state.expiry._heap
    for ks in state.namespaces.values():
        for history in ks.keys.values():
            latest = history if isinstance(history, Commit) else history[-1]
            if latest.expires is not None and not latest.deleted:
                heap.append((latest.expires, latest.namespace, latest.key))
    heapq.heapify(heap)
