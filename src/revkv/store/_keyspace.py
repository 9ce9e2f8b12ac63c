"""The keys of one namespace, sorted, each with its versions (etcd's key_index, in Python).

A key's history is stored as a bare Commit while it has one version and as a list once
it has more: most keys of a large store have one version, and a list would cost each of
them 72 bytes. Versions in a history are contiguous (retention only drops the oldest),
so version v sits at index `v - first.version`.

Each keyspace counts, as versions come and go, how many it keeps and their payload
bytes (`revkv stats`, `/metrics`): O(1) per write, never a scan per question. Whatever
adds or drops versions goes through `append`, `prune_older_than` or `forget`, or calls
`recount` after changing `keys` directly (as loading a snapshot does).
"""

from __future__ import annotations

from collections.abc import Iterator

from sortedcontainers import SortedDict

from revkv._model import Commit, Namespace

History = Commit | list[Commit]

#: bytes of memory per version besides its key's characters and its payload (CPython
#: 3.11, 64-bit; see `Keyspace.memory_bytes`)
VERSION_OVERHEAD = 280


def versions_of(history: History) -> list[Commit]:
    return [history] if isinstance(history, Commit) else history


def newest(history: History) -> Commit:
    return history if isinstance(history, Commit) else history[-1]


class Keyspace:
    """A namespace's settings and its keys; knows versions, not durability or time."""

    __slots__ = ("key_chars", "keys", "payload_bytes", "settings", "versions")

    def __init__(self, settings: Namespace) -> None:
        self.settings = settings
        self.keys: SortedDict = SortedDict()
        self.versions = 0  # versions kept, over all keys
        self.payload_bytes = 0  # the sum of their payloads' lengths
        self.key_chars = 0  # the sum of the versions' key lengths (each holds its own str)

    def memory_bytes(self) -> int:
        """An estimate of the memory the kept versions take, from the counts above.

        Each version is a Commit with its own key string, times and payload object;
        `VERSION_OVERHEAD` is what that costs beyond the key's characters and the
        payload's bytes, measured with tracemalloc by `bench/size.py` (which prints the
        estimate beside the measurement). Within about 10% for payloads of 0 to 1000
        bytes; a key's history list and its slot in the sorted dict are amortised in.
        """
        return self.versions * VERSION_OVERHEAD + self.key_chars + self.payload_bytes

    def recount(self) -> None:
        """Count versions and payload bytes again from `keys` (after loading them)."""
        versions = payload = chars = 0
        for key, history in self.keys.items():
            if type(history) is Commit:
                versions += 1
                payload += len(history.payload)
                chars += len(key)
            else:
                versions += len(history)
                payload += sum(len(c.payload) for c in history)
                chars += len(key) * len(history)
        self.versions, self.payload_bytes, self.key_chars = versions, payload, chars

    def forget(self, dropped: list[Commit]) -> None:
        """Account for versions dropped from a history (by retention)."""
        self.versions -= len(dropped)
        self.payload_bytes -= sum(len(c.payload) for c in dropped)
        self.key_chars -= sum(len(c.key) for c in dropped)

    def latest(self, key: str) -> Commit | None:
        history: History | None = self.keys.get(key)
        return None if history is None else newest(history)

    def visible(self, key: str, durable_rev: int) -> Commit | None:
        """The newest version of `key` that is durable."""
        history: History | None = self.keys.get(key)
        if history is None:
            return None
        if isinstance(history, Commit):
            return history if history.rev <= durable_rev else None
        for commit in reversed(history):
            if commit.rev <= durable_rev:
                return commit
        return None

    def version(self, key: str, version: int) -> Commit | None:
        history = self.keys.get(key)
        if history is None:
            return None
        versions = versions_of(history)
        index = version - versions[0].version
        return versions[index] if 0 <= index < len(versions) else None

    def history(self, key: str) -> list[Commit]:
        history = self.keys.get(key)
        return [] if history is None else versions_of(history)

    def append(self, commit: Commit) -> None:
        """Add the next version of a key, then drop versions retention no longer keeps."""
        key = commit.key
        history = self.keys.get(key)
        self.versions += 1
        self.payload_bytes += len(commit.payload)
        self.key_chars += len(key)
        if history is None:
            self.keys[key] = commit
            return
        if type(history) is Commit:
            versions = self.keys[key] = [history, commit]
        else:
            versions = history
            versions.append(commit)
        keep = self.settings.keep_versions
        if keep is not None and len(versions) > keep:
            self.forget(versions[: len(versions) - keep])
            del versions[: len(versions) - keep]

    def replace(self, old: Commit, new: Commit) -> None:
        """Put `new` in place of `old`, the same version of the same key (a purge)."""
        history = self.keys[old.key]
        self.payload_bytes += len(new.payload) - len(old.payload)
        if history is old:
            self.keys[old.key] = new
        else:
            history[old.version - history[0].version] = new

    def keep_newest(self, keep: int) -> int:
        """Drop all but the newest `keep` versions of every key; returns how many."""
        dropped = 0
        for key, history in self.keys.items():
            if type(history) is list and len(history) > keep:
                dropped += len(history) - keep
                self.forget(history[: len(history) - keep])
                del history[: len(history) - keep]
                if len(history) == 1:
                    self.keys[key] = history[0]
        return dropped

    def prune_older_than(self, cutoff: float) -> int:
        """Drop versions older than `cutoff` except each key's newest; returns how many."""
        dropped = 0
        for key, history in self.keys.items():
            if type(history) is list:
                old = 0
                while old < len(history) - 1 and history[old].mtime < cutoff:
                    old += 1
                if old:
                    self.forget(history[:old])
                    del history[:old]
                    dropped += old
                    if len(history) == 1:
                        self.keys[key] = history[0]
        return dropped

    def scan(self, prefix: str | None = None, start_after: str | None = None) -> Iterator[str]:
        """Keys in order, from just after `start_after`, while they start with `prefix`."""
        low = prefix or None
        if start_after is not None and (low is None or start_after >= low):
            keys = self.keys.irange(minimum=start_after, inclusive=(False, True))
        else:
            keys = self.keys.irange(minimum=low)
        if not prefix:
            yield from keys
            return
        for key in keys:
            if not key.startswith(prefix):
                return
            yield key
