"""The store's snapshot image: commits stored column by column, strings once.

An image holds the namespaces, the change log (every commit from the oldest retained
rev on, in rev order) and, before it, the versions keys still keep from older revs.
Loading rebuilds each key's history from `older` then `log` (both ascending per key),
re-applying version retention, which also drops log entries retention had pruned.

Why columns: a million commits decoded as a million records would give each its own
copy of its namespace, author and comment (about 170 bytes a key), and the temporary
records would leave the heap full of holes. As columns, namespaces, authors and
comments are indices into one string table, the temporaries are a few large lists
that go straight back to the system, and each commit is built exactly once, by `map`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from revkv._model import Commit, Namespace
from revkv.store._keyspace import Keyspace, versions_of

if TYPE_CHECKING:
    from revkv.store._state import StoreState

FORMAT = 2
S = TypeVar("S", bound="StoreState")


class Columns(msgspec.Struct, array_like=True):
    namespace: list[int]
    key: list[str]
    version: list[int]
    rev: list[int]
    mtime: list[float]
    author: list[int]
    comment: list[int]
    expires: list[float | None]
    deleted: list[bool]
    payload: list[bytes]
    #: the token each commit records, as indices into the strings; empty when none
    #: does (and in images written before tokens were recorded)
    token: list[int] = msgspec.field(default_factory=list)
    #: whether each commit's payload was purged; empty when none was (and in images
    #: written before purging existed). A purged commit's payload is empty here too.
    purged: list[bool] = msgspec.field(default_factory=list)


class Image(msgspec.Struct, array_like=True):
    format: int
    rev: int
    namespaces: list[Namespace]
    strings: list[str]
    older: Columns
    log: Columns
    compacted_through: int
    change_log_size: int


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Image)
_PLAIN = ("key", "version", "rev", "mtime", "expires", "deleted", "payload")


class _Strings:
    """The string table being built: each distinct text once, by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def ids(self, texts: Any) -> list[int]:
        index = self.index
        return [index.setdefault(text, len(index)) for text in texts]


def _columns(commits: list[Commit], strings: _Strings) -> Columns:
    plain = {name: list(map(attrgetter(name), commits)) for name in _PLAIN}
    tokens = list(map(attrgetter("token"), commits))
    purged = list(map(attrgetter("purged"), commits))
    return Columns(
        namespace=strings.ids(map(attrgetter("namespace"), commits)),
        author=strings.ids(map(attrgetter("author"), commits)),
        comment=strings.ids(map(attrgetter("comment"), commits)),
        token=strings.ids(tokens) if any(tokens) else [],
        purged=purged if any(purged) else [],
        **plain,
    )


def encode_image(state: StoreState) -> bytes:
    return capture_image(state)()


def capture_image(state: StoreState) -> Callable[[], bytes]:
    """Take what a snapshot needs (under the lock: list copies), encode it later.

    Commits are immutable, so copies of the lists that hold them are a consistent view;
    building the columns and encoding them can run while writers go on.
    """
    log = list(state.log)
    start = log[0].rev if log else state.rev + 1
    older: list[Commit] = []
    if state.log.compacted_through:  # else every retained version is in the log
        for ks in state.namespaces.values():
            for history in ks.keys.values():
                older.extend(c for c in versions_of(history) if c.rev < start)
    rev, compacted, capacity = state.rev, state.log.compacted_through, state.log.capacity
    settings = [ks.settings for ks in state.namespaces.values()]

    def encode() -> bytes:
        strings = _Strings()
        older_columns, log_columns = _columns(older, strings), _columns(log, strings)
        image = Image(
            FORMAT,
            rev,
            settings,
            list(strings.index),
            older_columns,
            log_columns,
            compacted,
            capacity,
        )
        return _encoder.encode(image)

    return encode


def _commits(columns: Columns, strings: list[str]) -> list[Commit]:
    text = strings.__getitem__
    return list(
        map(
            Commit,
            map(text, columns.namespace),
            columns.key,
            columns.version,
            columns.rev,
            columns.mtime,
            map(text, columns.author),
            map(text, columns.comment),
            columns.expires,
            columns.deleted,
            map(text, columns.token) if columns.token else repeat(""),
            columns.purged or repeat(False),
            columns.payload,
        )
    )


def decode_image(cls: type[S], data: bytes | memoryview) -> S:
    image = _decoder.decode(data)
    if image.format != FORMAT:
        raise ValueError(f"store image format {image.format} is not supported")
    state = cls(image.change_log_size)
    state.rev = state.durable_rev = image.rev
    strings = [state.strings.intern(s) for s in image.strings]
    for settings in image.namespaces:
        state.namespaces[settings.name] = Keyspace(settings)
    names = {name: name for name in state.namespaces}
    strings = [names.get(s, s) for s in strings]  # a commit's namespace is its keyspace's name
    histories: dict[str, dict[str, Commit | list[Commit]]] = {name: {} for name in names}
    for commit in _commits(image.older, strings):
        _add(histories[commit.namespace], commit)
    log = _commits(image.log, strings)
    compacted_through = image.compacted_through
    del image  # let the decoded columns go before the histories are built
    for commit in log:
        _add(histories[commit.namespace], commit)
    state.log.load(log, compacted_through)
    heap = state.expiry._heap
    for name, keys in histories.items():
        ks = state.namespaces[name]
        keep = ks.settings.keep_versions
        if keep is not None:
            for history in keys.values():
                if type(history) is list and len(history) > keep:
                    del history[: len(history) - keep]
        _collect_expiry(keys, heap)
        ks.keys.update(keys)
        ks.recount()
    heapq.heapify(heap)
    return state


def _add(keys: dict[str, Commit | list[Commit]], commit: Commit) -> None:
    history = keys.get(commit.key)
    if history is None:
        keys[commit.key] = commit
    elif type(history) is Commit:
        keys[commit.key] = [history, commit]
    else:
        history.append(commit)  # type: ignore[union-attr]


def _collect_expiry(
    keys: dict[str, Commit | list[Commit]], heap: list[tuple[float, str, str]]
) -> None:
    """Queue the keys whose newest version expires (from the plain dict: it is quick)."""
    for history in keys.values():
        latest = history if type(history) is Commit else history[-1]  # type: ignore[index]
        if latest.expires is not None and not latest.deleted:
            heap.append((latest.expires, latest.namespace, latest.key))
