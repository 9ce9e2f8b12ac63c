"""revkv's own namespaces as brokered collections, kept fresh by the store's watch feed.

    key of a namespace's meta   ("kv", <namespace>)
    key of one of its keys      ("kv", <namespace>, <key>)
    fields                      key, payload (decoded JSON when it is JSON, else text),
                                version, author, comment, time (datetime, UTC), rev
    calls                       history() -> [{version, author, comment, time, deleted}],
                                revert(to_version, author=None, comment=None) -> version
    searching                   get/find/count by equality on the payload's fields (or on
                                key, version, author)

Every commit to an exported namespace, through any door (HTTP, CLI, dripline, Python),
reaches the broker through the Service's watch hub and becomes one `invalid_key`
broadcast; no `obj_update` is needed. The rev up to which commits were broadcast is
written to `state_file`, so a restarted broker first broadcasts what changed while it was
down (from that rev), then follows live. A `revert` made through the broker broadcasts
its own commit before its reply, so the caller never reads its own stale copy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import threading
from collections import abc
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revkv._model import Commit, Event
from revkv.broker._errors import UnknownKey
from revkv.broker._model import BaseObj, BrokeredInfo, Callable, Field, Key
from revkv.errors import Compacted, NotFound

if TYPE_CHECKING:
    from revkv._service import Service
    from revkv.broker._server import BrokerServer

log = logging.getLogger(__name__)

FIELDS = ("key", "payload", "version", "author", "comment", "time", "rev")
POLL = 0.5  # how often the follower looks whether it should stop


def decode_payload(payload: bytes) -> Any:
    """JSON when it is JSON, else text (bytes that are not UTF-8 are shown replaced)."""
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return payload.decode("utf-8", errors="replace")


class KeyObject(BaseObj):
    """The newest version of one key, as clients see it."""

    def __init__(self, meta: NamespaceInfo, commit: Commit) -> None:
        self._meta = meta
        self._key = Key(("kv", commit.namespace, commit.key))
        self.key = commit.key
        self.payload = decode_payload(commit.payload)
        self.version = commit.version
        self.author = commit.author
        self.comment = commit.comment
        self.time = dt.datetime.fromtimestamp(commit.mtime, dt.UTC)
        self.rev = commit.rev

    def history(self) -> list[dict[str, Any]]:
        """Every version, newest first."""
        meta: NamespaceInfo = self._meta  # type: ignore[assignment]
        return [
            {
                "version": m.version,
                "author": m.author,
                "comment": m.comment,
                "time": dt.datetime.fromtimestamp(m.mtime, dt.UTC),
                "deleted": m.deleted,
            }
            for m in meta.service.iter_history(meta.namespace, self.key)
        ]

    def revert(self, to_version: int, author: str | None = None, comment: str | None = None) -> int:
        """Commit version `to_version`'s payload again; the new version."""
        meta: NamespaceInfo = self._meta  # type: ignore[assignment]
        commit = meta.service.revert(
            meta.namespace, self.key, to_version, author=author, comment=comment
        )
        meta.loader.catch_up(commit.rev)
        return commit.version


class NamespaceInfo(BrokeredInfo):
    """The meta of one namespace: it describes, finds and counts its keys."""

    _dab_cached = True

    def __init__(self, loader: RevkvLoader, namespace: str, name: str) -> None:
        super().__init__(name)
        self.loader = loader
        self.service = loader.service
        self.namespace = namespace
        for field in FIELDS:
            self.add(Field(field))
        self.add(Callable("history"))
        self.add(Callable("revert"))

    def object(self, key: str) -> KeyObject:
        try:
            return KeyObject(self, self.service.get(self.namespace, key))
        except NotFound:
            raise UnknownKey(f"namespace {self.namespace!r} has no key {key!r}") from None

    def _dab_search(self, _limit: int | None = None, **match: Any) -> list[Any]:
        found: list[Any] = []
        for commit in self.service.iter_list(self.namespace):
            obj = KeyObject(self, commit)
            if _matches(obj, match):
                found.append(obj)
                if _limit is not None and len(found) >= _limit:
                    break
        return found


def _matches(obj: KeyObject, match: dict[str, Any]) -> bool:
    payload = obj.payload if isinstance(obj.payload, dict) else {}
    for name, wanted in match.items():
        if name in payload:
            if payload[name] != wanted:
                return False
        elif name in ("key", "version", "author"):
            if getattr(obj, name) != wanted:
                return False
        else:
            return False
    return True


class RevkvLoader:
    """Serves revkv namespaces (`add_namespace`) and follows the store's changes."""

    id = "kv"

    def __init__(
        self,
        service: Service,
        broker: BrokerServer,
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.service = service
        self.broker = broker
        self.state_file = Path(state_file) if state_file is not None else None
        self.namespaces: dict[str, NamespaceInfo] = {}
        self.rev = self._saved_rev()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: called (under the loader's lock) with a namespace that is not exported when a
        #: commit to it is seen; `BrokerDoor` exports every namespace this way
        self.on_new_namespace: abc.Callable[[str], object] | None = None
        broker.loader.add_loader(self)

    def add_namespace(
        self, namespace: str, container: dict[str, Any] | None = None, name: str | None = None
    ) -> NamespaceInfo:
        """Export `namespace`; its meta is put in `container` (say `root.data`) under
        `name` (default: the namespace's name)."""
        self.service.get_namespace(namespace)  # NamespaceNotFound now, not at first use
        meta = NamespaceInfo(self, namespace, name or namespace)
        meta._key = Key((self.id, namespace))
        self.namespaces[namespace] = meta
        if container is not None:
            container[name or namespace] = meta
        return meta

    def get(self, *parts: Any) -> Any:
        meta = self.namespaces.get(parts[0]) if parts else None
        if meta is None or len(parts) > 2:
            raise UnknownKey(f"no exported namespace has the key {(self.id, *parts)!r}")
        return meta if len(parts) == 1 else meta.object(str(parts[1]))

    # -- following the store -------------------------------------------------------------

    def start(self) -> None:
        """Broadcast what changed since the saved rev, then follow live in a thread."""
        if self.rev is None:
            self.rev = self.service.rev
            self._save_rev(self.rev)
        self.catch_up(self.service.rev)
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="broker-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                with self.service.watch(self.rev) as watch:
                    while not self._stop.is_set() and not watch.ended:
                        event = watch.next(timeout=POLL)
                        if event is not None:
                            self.catch_up(max(event.rev, watch.cursor))
                    if watch.ended:
                        return
            except Compacted:  # too far behind to tell: every namespace changed
                log.warning("the store compacted past rev %s: invalidating all", self.rev)
                with self._lock:
                    self.broker.send("invalid", *[m._key for m in self.namespaces.values()])
                    self.rev = self.service.rev

    def catch_up(self, upto: int) -> None:
        """Broadcast the commits to exported namespaces up to rev `upto` (once each)."""
        with self._lock:
            start = self.rev if self.rev is not None else upto
            if upto <= start:
                return
            for event in self.service.iter_changes(start):
                if event.rev > upto:
                    break
                self._announce(event)
            self.rev = upto
            self._save_rev(upto)

    def _announce(self, event: Event) -> None:
        commit = event.commit
        if commit is None:  # a reset: everything may have changed
            self.broker.send("invalid", *[m._key for m in self.namespaces.values()])
            return
        meta = self.namespaces.get(commit.namespace)
        if meta is None:  # nobody has a copy of its keys: nothing to invalidate
            if self.on_new_namespace is not None:
                self.on_new_namespace(commit.namespace)
            return
        key = Key((self.id, commit.namespace, commit.key))
        self.broker.send("invalid_key", _key=key, _meta=meta._key, version=(commit.version,))

    def _saved_rev(self) -> int | None:
        if self.state_file is None:
            return None
        with contextlib.suppress(OSError, ValueError):
            return int(self.state_file.read_text().strip())
        return None

    def _save_rev(self, rev: int) -> None:
        if self.state_file is None:
            return
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(f"{rev}\n")
        os.replace(temporary, self.state_file)
