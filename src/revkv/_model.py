"""The words everyone shares: commits, their metadata, events, namespaces, and validation.

Records that exist by the million (every commit of every key) are msgspec Structs
without GC tracking: 16 bytes of header plus 8 per field. A `Commit` is immutable and
is handed out as it is stored, so reading never copies.

This module imports nothing of revkv but its errors.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import functools
import math
import re
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from enum import Enum
from typing import Any, Literal

import msgspec

from revkv.errors import (
    InvalidKey,
    InvalidName,
    InvalidRequest,
    InvalidVersion,
    VersionConflict,
)

__all__ = [
    "DEFAULT",
    "MAX_KEY_LENGTH",
    "Check",
    "Commit",
    "Condition",
    "Default",
    "Delete",
    "Event",
    "Expect",
    "Meta",
    "Namespace",
    "Page",
    "Put",
    "TxnResult",
    "check_author",
    "check_key",
    "check_namespace_name",
    "check_payload",
    "check_time",
    "check_token",
    "check_ttl",
    "check_version",
]

MAX_KEY_LENGTH = 256
MAX_AUTHOR_LENGTH = 256
MAX_COMMENT_LENGTH = 4096
DEFAULT_MAX_PAYLOAD = 1024 * 1024
MAX_TTL = 100 * 365.25 * 86400  # a century: anything longer is a mistake
LATEST_TIME = 253402300799.0  # 9999-12-31T23:59:59Z, the last time ISO 8601 can write

_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_COMMENT_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # tabs and newlines are fine


class Default(Enum):
    """The type of `DEFAULT`: "use the namespace's setting", where None means "none"."""

    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT"


#: Passed as `ttl=` or `expires=`: take the namespace's default TTL (None means never expire).
DEFAULT = Default.DEFAULT


class Meta(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """One version of one key, without its payload.

    `mtime` and `expires` are seconds since the epoch (UTC); `modified` and `expires_at`
    give them as aware datetimes. `rev` is the store-wide revision of the write.
    `token` is the name of the token that made the commit on a server with tokens
    (empty otherwise): the author is that name too, unless the token may act for others.
    `purged`: the version's payload was removed for good (`revkv purge`); its meta stays
    so the history still shows who changed what and when.
    """

    namespace: str
    key: str
    version: int
    rev: int
    mtime: float
    author: str = ""
    comment: str = ""
    expires: float | None = None
    deleted: bool = False
    token: str = ""
    purged: bool = False

    @property
    def modified(self) -> datetime:
        return datetime.fromtimestamp(self.mtime, UTC)

    @property
    def expires_at(self) -> datetime | None:
        return None if self.expires is None else datetime.fromtimestamp(self.expires, UTC)

    def is_expired(self, now: float) -> bool:
        return self.expires is not None and self.expires <= now

    def with_payload(self, payload: bytes) -> Commit:
        """This version as a Commit holding `payload`."""
        return Commit(
            self.namespace, self.key, self.version, self.rev, self.mtime, self.author,
            self.comment, self.expires, self.deleted, self.token, self.purged, payload,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The one JSON shape of a commit's meta, wherever revkv writes one (HTTP, the
        CLI's --json, export, watch events): times by `exact_time`, `deleted` the flag.
        Rainer's own answers keep Rainer's shape (`http/_rainer.py`)."""
        return {
            "namespace": self.namespace,
            "key": self.key,
            "version": self.version,
            "rev": self.rev,
            "author": self.author,
            "comment": self.comment,
            "mtime": exact_time(self.mtime),
            "expires": exact_time(self.expires) if self.expires is not None else None,
            "deleted": self.deleted,
            **({"token": self.token} if self.token else {}),
            **({"purged": True} if self.purged else {}),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Meta:
        """The inverse of `to_dict`; see `meta_row` for the older spellings it reads."""
        return Meta(*meta_row(data))


class Commit(Meta, frozen=True, gc=False, array_like=True):
    """One version of one key with its payload, stored verbatim (empty for a tombstone
    and for a purged version)."""

    payload: bytes = b""

    @property
    def meta(self) -> Meta:
        return Meta(
            self.namespace,
            self.key,
            self.version,
            self.rev,
            self.mtime,
            self.author,
            self.comment,
            self.expires,
            self.deleted,
            self.token,
            self.purged,
        )

    @property
    def text(self) -> str:
        """The payload decoded as UTF-8 (raises UnicodeDecodeError for binary payloads)."""
        return self.payload.decode("utf-8")

    def to_dict(self, payload: bool = False) -> dict[str, Any]:
        """The meta's shape (`Meta.to_dict`), with the payload when asked: `payload` as
        text when it is UTF-8, else `payload_base64` (the two fields a transaction takes)."""
        data = super().to_dict()
        if payload:
            try:
                data["payload"] = self.payload.decode("utf-8")
            except UnicodeDecodeError:
                data["payload_base64"] = base64.b64encode(self.payload).decode("ascii")
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any], payload: bytes | None = None) -> Commit:
        """The inverse of `to_dict(payload=True)`; `payload` given, the data's is ignored."""
        if payload is None:
            payload = b"" if data.get("purged") else payload_of(data)
        meta = Meta.from_dict(data)
        return meta.with_payload(payload)


EventType = Literal["put", "delete", "expire", "reset"]


class Event(msgspec.Struct, frozen=True):
    """What a watcher receives, in rev order.

    `put`, `delete` and `expire` carry the commit; `reset` (sent to a watcher that asked
    for resync after falling behind) carries the current state of everything it
    watches in `state`, after which live events follow from `rev`.
    """

    type: EventType
    rev: int
    commit: Commit | None = None
    state: list[Commit] | None = None

    @staticmethod
    def of(commit: Commit) -> Event:
        if not commit.deleted:
            kind: EventType = "put"
        elif commit.author == "revkv" and commit.comment == "expired":
            kind = "expire"
        else:
            kind = "delete"
        return Event(kind, commit.rev, commit)

    def to_dict(self, payloads: bool = False) -> dict[str, Any]:
        """`{"type", "rev", "commit"}` (or `"state"`, a reset's commits), as every door
        sends an event: over SSE, in `/changes` and long polls, from `revkv watch --json`."""
        data: dict[str, Any] = {"type": self.type, "rev": self.rev}
        if self.commit is not None:
            data["commit"] = self.commit.to_dict(payloads)
        if self.state is not None:
            data["state"] = [c.to_dict(payloads) for c in self.state]
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Event:
        kind, rev = data.get("type"), data.get("rev")
        if kind not in ("put", "delete", "expire", "reset") or not isinstance(rev, int):
            raise InvalidRequest(f"an event has a type and a rev, not {dict(data)!r:.200}")
        commit, state = data.get("commit"), data.get("state")
        return Event(
            kind,
            rev,
            None if commit is None else Commit.from_dict(_mapping(commit, "commit")),
            None if state is None else [Commit.from_dict(_mapping(c, "commit")) for c in state],
        )


class Namespace(msgspec.Struct, frozen=True, kw_only=True):
    """A namespace and its settings.

    Retention keeps every version by default; `keep_versions` keeps the newest N of each
    key, `keep_seconds` those younger than T (the latest version is always kept).
    """

    name: str
    max_payload: int = DEFAULT_MAX_PAYLOAD
    default_ttl: float | None = None
    keep_versions: int | None = None
    keep_seconds: float | None = None
    content_type: str | None = None
    json_objects_only: bool = False
    schema: dict[str, Any] | None = None
    created_rev: int = 0

    def to_dict(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)


SETTINGS = (
    "max_payload",
    "default_ttl",
    "keep_versions",
    "keep_seconds",
    "content_type",
    "json_objects_only",
    "schema",
)


class Page(msgspec.Struct, frozen=True):
    """One page of a listing; pass `next` back (as `start_after`/`before`) for the next.

    Iterating a page iterates its items; `store.iter_history()`, `store.iter_list()`
    and `store.iter_changes()` follow `next` for you.
    """

    items: list[Any]
    next: Any = None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class Condition(msgspec.Struct, frozen=True):
    """The one compare-and-set condition of a write, checked by the store under its lock.

    `version` N: the key's newest version (a tombstone, or an expiry not yet recorded,
    counts) is N, the version the writer read; `absent`: no live version (create only);
    `exists`: some live version. Users pass `expect=`: a version, 0 or "absent", or
    "exists" (see `Condition.of`). Rainer's `POST /kv/{ns}/{key}/{N}` is the condition
    `version` N - 1, where 0 means "no history at all".
    """

    kind: Literal["version", "absent", "exists"]
    version: int = 0

    @staticmethod
    def of(expect: Expect | None) -> Condition | None:
        """The condition of an `expect=` argument (None: unconditional)."""
        if expect is None or isinstance(expect, Condition):
            return expect
        if expect == "absent":
            return ABSENT
        if expect == "exists":
            return EXISTS
        if isinstance(expect, bool) or not isinstance(expect, int) or expect < 0:
            raise InvalidVersion(
                "expect= is the version you read (a whole number; 0 or 'absent' to create "
                f"only, 'exists' for any live version), not {expect!r}"
            )
        return ABSENT if expect == 0 else Condition("version", expect)

    @staticmethod
    def from_row(row: list[Any] | None) -> Condition | None:
        """The condition a journaled command carries as plain data."""
        if row is None:
            return None
        return Condition(row[0], row[1] if len(row) > 1 else 0)

    def to_row(self) -> list[Any]:
        return [self.kind, self.version] if self.kind == "version" else [self.kind]

    @property
    def expected(self) -> int | str:
        """What a `VersionConflict` reports the writer expected."""
        return self.version if self.kind == "version" else self.kind

    def check(self, namespace: str, key: str, current: int, live: bool) -> None:
        """VersionConflict unless a key at version `current` (`live` or not) satisfies it."""
        if self.kind == "version":
            held = current == self.version
        elif self.kind == "absent":
            held = not live
        else:
            held = live
        if not held:
            raise VersionConflict(namespace, key, self.expected, current, live)


ABSENT = Condition("absent")
EXISTS = Condition("exists")

#: What `expect=` takes: the version read, 0 or "absent" (create only), "exists".
Expect = int | Literal["absent", "exists"] | Condition


class Check(msgspec.Struct, frozen=True):
    """A transaction's condition: `key` is live at `version` (the version you read),
    or absent when `version` is None."""

    namespace: str
    key: str
    version: int | None


class Put(msgspec.Struct, frozen=True, kw_only=True):
    """A transaction's write of a new version."""

    namespace: str
    key: str
    payload: bytes | str
    author: str | None = None
    comment: str | None = None
    ttl: float | None = None
    token: str = ""  # set by the Service: the token that writes


class Delete(msgspec.Struct, frozen=True, kw_only=True):
    """A transaction's tombstone; the key must be live when its turn comes."""

    namespace: str
    key: str
    author: str | None = None
    comment: str | None = None
    token: str = ""  # set by the Service: the token that writes


class TxnResult(msgspec.Struct, frozen=True):
    """The one rev of a transaction and the metas of its commits, in order."""

    rev: int
    commits: list[Meta]


@functools.lru_cache(maxsize=65536)
def iso_time(seconds: float) -> str:
    """ISO 8601 in UTC with milliseconds, the way Rainer (Joda) writes times.

    Rounds to the microsecond as `datetime.fromtimestamp` does, without building a
    datetime (twice as quick); cached, for a version is read far more than written.
    """
    fraction, whole = math.modf(seconds)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    elif micros < 0:  # before 1970: modf keeps the sign
        whole, micros = whole - 1, micros + 1_000_000
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{stamp}.{micros // 1000:03d}Z"


@functools.lru_cache(maxsize=65536)
def exact_time(seconds: float) -> str:
    """ISO 8601 (RFC 3339) in UTC: milliseconds at least, then as many digits as the
    stored time has, so `parse_time` reads back the very same float.

    The fraction's digits are those of `repr(seconds)`, the shortest decimal that reads
    back exactly: `1764000000.5` is `...:00.500Z`, `1764000000.0271235` `...:00.0271235Z`.
    A time Rainer's servlet would write (whole milliseconds) reads the same in both.
    """
    exact = Decimal(repr(float(seconds)))
    whole = exact.to_integral_value(rounding=ROUND_FLOOR)
    digits = format(exact - whole, "f").partition(".")[2].rstrip("0").ljust(3, "0")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(whole)))
    return f"{stamp}.{digits}Z"


_ISO_RE = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d{1,400}))?(Z|z|[+-]\d\d:?\d\d)?")


def parse_time(value: object, what: str = "a time") -> float:
    """Epoch seconds from an ISO 8601 time with a zone (any number of digits, exactly:
    the inverse of `exact_time`) or from a number of seconds (revkv's exports before
    times were ISO)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    match = _ISO_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidRequest(f"{what} is an ISO 8601 time with a zone, not {value!r:.80}")
    stamp, digits, zone = match.groups()
    if zone is None:
        raise InvalidRequest(f"{what} {value!r} needs a zone (e.g. Z for UTC)")
    try:
        moment = datetime.fromisoformat(f"{stamp}{'+00:00' if zone in 'Zz' else zone}")
    except ValueError:
        raise InvalidRequest(f"{what} {value!r} is not a valid date and time") from None
    whole = calendar.timegm(moment.utctimetuple())
    return float(Decimal(whole) + Decimal(f"0.{digits or 0}"))


def meta_row(data: Mapping[str, Any]) -> tuple[Any, ...]:
    """A meta's fields, in `Meta`'s order, from its JSON shape (`Meta.to_dict`).

    Also read, for what older revkv versions wrote: `empty` for `deleted` (revkv's
    HTTP answers, as Rainer's) and times as epoch seconds (revkv's exports).
    """
    if not isinstance(data, Mapping):
        raise InvalidRequest(f"a commit is a JSON object, not {type(data).__name__}")
    missing = [name for name in ("namespace", "key", "version", "mtime") if name not in data]
    if missing:
        raise InvalidRequest(f"a commit needs {', '.join(missing)}; it has {sorted(data)}")
    version, rev = data["version"], data.get("rev", 0)
    if not _whole(version) or not _whole(rev):
        raise InvalidRequest(f"a version and a rev are whole numbers, not {version!r}, {rev!r}")
    expires = data.get("expires")
    deleted = data["deleted"] if "deleted" in data else data.get("empty", False)
    texts = [data.get(name) or "" for name in ("namespace", "key", "author", "comment", "token")]
    if not all(isinstance(text, str) for text in texts) or not isinstance(deleted, bool):
        raise InvalidRequest("a commit's names and texts are strings, its flags true or false")
    namespace, key, author, comment, token = texts
    mtime = parse_time(data["mtime"], "mtime")
    expiry = None if expires is None else parse_time(expires, "expires")
    return (namespace, key, version, rev, mtime, author, comment, expiry, deleted, token,
            bool(data.get("purged")))  # fmt: skip


def payload_of(data: Mapping[str, Any]) -> bytes:
    """The payload of a commit's JSON: `payload` (text) or `payload_base64`; also
    `payload_utf8` (Rainer's listing) and `payload` with `"base64": true` (older exports)."""
    encoded = data.get("payload_base64")
    text = data.get("payload", data.get("payload_utf8"))
    if encoded is None and data.get("base64") is True:
        encoded, text = text, None
    if encoded is not None:
        if not isinstance(encoded, str):
            raise InvalidRequest("payload_base64 is a base64 string")
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("payload_base64 is not valid base64") from None
    if text is not None and not isinstance(text, str):
        raise InvalidRequest(f"payload is text, not {type(text).__name__}")
    return check_payload(text or "")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"a {what} is a JSON object, not {type(value).__name__}")
    return value


def check_namespace_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidName(
            f"invalid namespace name {name!r}: use a letter, then up to 63 letters, digits, "
            "'_', '.' or '-'"
        )
    return name


def check_key(key: object) -> str:
    if not isinstance(key, str):
        raise InvalidKey(f"a key must be a string, not {type(key).__name__}")
    if not key:
        raise InvalidKey("a key cannot be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"key of {len(key)} characters is too long; the limit is {MAX_KEY_LENGTH}")
    bad = _CONTROL_RE.search(key)
    if bad:
        raise InvalidKey(
            f"key {key!r} contains the control character U+{ord(bad.group()):04X} at "
            f"position {bad.start()}; keys may hold any other character"
        )
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidKey(f"key {key!r} is not valid Unicode (a lone surrogate)") from exc
    return key


def check_payload(payload: object) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        try:
            return payload.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidRequest("the payload text is not valid Unicode") from exc
    if isinstance(payload, (bytearray, memoryview)):
        return bytes(payload)
    raise InvalidRequest(
        f"a payload must be bytes or str, not {type(payload).__name__}; "
        "encode it first (e.g. json.dumps(value).encode())"
    )


def check_ttl(ttl: object, what: str = "ttl") -> float:
    """A time to live in seconds: positive, finite, at most a century."""
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl <= MAX_TTL:
        raise InvalidRequest(
            f"{what} must be a positive number of seconds up to {MAX_TTL:.0f} (a century), "
            f"not {ttl!r}"
        )
    return float(ttl)


def check_time(seconds: object, what: str) -> float:
    """A moment as epoch seconds, between 1970 and the end of year 9999."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 <= seconds <= LATEST_TIME
    ):
        raise InvalidRequest(f"{what} must be a time between 1970 and 9999, not {seconds!r}")
    return float(seconds)


def check_version(version: object, what: str = "version") -> int:
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidVersion(f"{what} must be an integer of 1 or more, not {version!r}")
    return version


def check_token(name: object) -> str:
    """The name of a token that writes, as a commit records it (an author's rules)."""
    if not isinstance(name, str):
        raise InvalidRequest(f"a token's name is a string, not {type(name).__name__}")
    return check_author(name, "")[0]


def check_author(author: object, comment: object) -> tuple[str, str]:
    author = "" if author is None else author
    comment = "" if comment is None else comment
    if not isinstance(author, str) or not isinstance(comment, str):
        raise InvalidRequest("author and comment must be strings")
    if len(author) > MAX_AUTHOR_LENGTH or _CONTROL_RE.search(author):
        raise InvalidRequest(
            f"an author is at most {MAX_AUTHOR_LENGTH} characters with no control characters"
        )
    if len(comment) > MAX_COMMENT_LENGTH or _COMMENT_CONTROL_RE.search(comment):
        raise InvalidRequest(
            f"a comment is at most {MAX_COMMENT_LENGTH} characters; tabs and newlines are "
            "its only control characters"
        )
    try:
        author.encode("utf-8")
        comment.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(
            "an author or comment is not valid Unicode (a lone surrogate)"
        ) from None
    return author, comment
