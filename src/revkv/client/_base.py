"""The client's logic, once and without I/O: every Store method as a flow of HTTP calls.

A flow is a generator, as httpx's `Auth.auth_flow` is: it checks its arguments as the
embedded store does (so a bad key fails the same way, before any request), yields a
`Call`, is sent the `httpx.Response`, and then yields the next call or returns the
result, or raises revkv's error for the answer. `Client` and `AsyncClient` only drive
flows (`_drive` in each), one line per method.

Round trips: one per method (payload and meta answers carry the exact meta in
`X-Revkv-Meta`; against a server without it, `get` and `meta` fall back to a second
request, `history?before=V+1&limit=1`), except:

- `create_namespace` and `update_namespace` read the namespace first: the server's
  `PUT /ns/{ns}` creates or updates, so "must not exist" and "must exist" are checked
  here, in a separate request (another client may act in between).
- `keys` pages through the listing, 10,000 keys per request.
- `list`, `keys` and `count` read the namespace when the answer is empty: the server
  lists an unknown namespace as empty (as Rainer, which has no namespaces, does), where
  the Store interface raises `NamespaceNotFound`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import ssl
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx

import revkv
from revkv._model import (
    Check,
    Commit,
    Condition,
    Delete,
    Event,
    Expect,
    Meta,
    Namespace,
    Page,
    Put,
    TxnResult,
    check_author,
    check_key,
    check_namespace_name,
    check_payload,
    check_version,
)
from revkv.client._wire import (
    ForeignAnswer,
    answered,
    check_answer,
    commit_of,
    error_of,
    event_of,
    header_text,
    json_body,
    kv_path,
    lifetime_headers,
    meta_of,
    namespace_of,
    segment,
    with_payload,
)
from revkv.errors import (
    InvalidRequest,
    KeyNotFound,
    NamespaceExists,
    NotFound,
    RevAhead,
    RevkvError,
    VersionNotFound,
)
from revkv.store.base import TTL, CompactionReport, Expires

T = TypeVar("T")

log = logging.getLogger("revkv.client")

KEYS_PAGE = 10_000  # the server's largest page
JSON = {b"Content-Type": b"application/json"}


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request, relative to the client's base URL."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[bytes, bytes] = field(default_factory=dict)
    content: bytes | None = None


Flow = Generator[Call, httpx.Response, T]

#: Sent when reading a key's latest version: a deleted or expired key is absent (404),
#: not Rainer's empty 200 with `X-Rainer-Empty: Yes`.
ABSENT_IS_404 = {b"X-Revkv-Absent": b"404"}


MIN_REV = b"X-Revkv-Min-Rev"


def check_min_rev(rev: object) -> int:
    if not isinstance(rev, int) or isinstance(rev, bool) or rev < 0:
        raise InvalidRequest(f"min_rev must be a rev (0 or more), not {rev!r}")
    return rev


class RevFloor:
    """The rev a client's reads must see: read-your-writes for one client object.

    Every read is sent with `X-Revkv-Min-Rev: <rev>` (when above 0), so a server behind
    it (another server on the same database, behind a load balancer) catches up, waits
    a moment, or answers `RevNotReached`. With `follow_writes`, each write the client
    makes raises the floor to the rev it got, so the client always sees its own writes
    wherever its next request lands. Thread-safe: the floor only rises, unless set.
    """

    __slots__ = ("_lock", "follow_writes", "rev")

    def __init__(self, rev: int = 0, follow_writes: bool = True) -> None:
        self.rev = check_min_rev(rev)
        self.follow_writes = follow_writes
        self._lock = threading.Lock()

    def raise_to(self, rev: int) -> None:
        """Reads from now on see at least `rev` (a rev below the floor changes nothing)."""
        with self._lock:
            self.rev = max(self.rev, check_min_rev(rev))

    def on(self, call: Call) -> Call:
        """`call` as sent: a read carries the floor."""
        rev = self.rev
        if rev <= 0 or call.method != "GET":
            return call
        return replace(call, headers={**call.headers, MIN_REV: str(rev).encode()})

    def refused(self, sent: Call, response: httpx.Response) -> bool:
        """Whether the server refused `sent` only for the floor it carried: `RevAhead`,
        its word that it will never reach that rev (a repair or a restore set it aside,
        or the rev was another store's). The floor then comes down to the server's rev,
        with a warning, and the caller sends the call again: the client goes on with the
        store as it is, instead of failing every read from now on."""
        if response.status_code != 410 or MIN_REV not in sent.headers:
            return False
        error = error_of(410, response.content)
        if not isinstance(error, RevAhead) or error.current_rev >= self.rev:
            return False
        log.warning(
            "the server is at rev %d, behind rev %d this client saw (a repair or a restore "
            "set newer commits aside, or that rev was another store's): reading from rev %d",
            error.current_rev, self.rev, error.current_rev,
        )  # fmt: skip
        with self._lock:
            self.rev = min(self.rev, error.current_rev)
        return True

    def wrote(self, call: Call, result: object) -> None:
        """A flow ended with `result`, its last request `call`: a write's rev raises the
        floor (`Meta` of a put, delete or revert; `TxnResult` of a transaction)."""
        if self.follow_writes and call.method != "GET" and isinstance(result, (Meta, TxnResult)):
            self.raise_to(result.rev)


def default_headers(token: str | None) -> dict[str, str]:
    """Sent with every call: JSON errors always (never Rainer's plain-text bodies)."""
    headers = {"Accept": "application/json", "User-Agent": f"revkv-python/{revkv.__version__}"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


Verify = bool | str | os.PathLike[str] | ssl.SSLContext
"""How a client checks the server's TLS certificate: True (the system's CAs), False (not
at all: tests only), the path of a PEM CA file (a private CA's), or an SSLContext (also
for a client certificate: `context.load_cert_chain(...)`)."""


def tls_verify(verify: Verify) -> bool | ssl.SSLContext:
    """`verify` as httpx takes it (it deprecates paths): a CA file becomes a context, and a
    file that cannot be read is an `InvalidRequest` naming it."""
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    try:
        return ssl.create_default_context(cafile=os.fspath(verify))
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
        raise InvalidRequest(
            f"cannot use the CA file {os.fspath(verify)}: {reason}; give the PEM certificate "
            "of the CA that signed the server's certificate"
        ) from None


def advance(flow: Flow[T], response: httpx.Response, url: str) -> Call:
    """Give `flow` its answer; its next call (`StopIteration` carries the result).

    An answer no revkv server gives, or one a flow cannot read (another service's JSON,
    a page without revkv's headers), raises `NotRevkvServer` naming `url` (see
    `ForeignAnswer`), not a KeyError from deep inside the flow.
    """
    try:
        check_answer(response)
        return flow.send(response)
    except ForeignAnswer as error:
        if error.status == 0:  # raised by the flow, which saw only the body
            error = answered(response, error.reason)
        raise error.at(url) from None
    except RevkvError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise answered(response, f"not revkv's answer ({error!r})").at(url) from None


def answer(response: httpx.Response, **context: Any) -> Any:
    """The JSON of a 2xx answer; otherwise the revkv error it stands for, raised."""
    if response.is_success:
        return json_body(response.content)
    raise error_of(response.status_code, response.content, **context)


# -- namespaces ------------------------------------------------------------------------


def _ns_path(name: str) -> str:
    return f"/ns/{segment(check_namespace_name(name))}"


def get_namespace(name: str) -> Flow[Namespace]:
    response = yield Call("GET", _ns_path(name))
    return namespace_of(answer(response, namespace=name))


def namespaces() -> Flow[list[Namespace]]:
    response = yield Call("GET", "/ns")
    return [namespace_of(data) for data in answer(response)]


def create_namespace(name: str, exist_ok: bool, settings: dict[str, Any]) -> Flow[Namespace]:
    response = yield Call("GET", _ns_path(name))
    if response.status_code != 404:
        existing = namespace_of(answer(response, namespace=name))
        if not exist_ok:
            raise NamespaceExists(name)
        return existing
    return (yield from _put_namespace(name, settings))


def update_namespace(name: str, settings: dict[str, Any]) -> Flow[Namespace]:
    yield from get_namespace(name)  # NamespaceNotFound: PUT /ns/{ns} would create it
    return (yield from _put_namespace(name, settings))


def _put_namespace(name: str, settings: dict[str, Any]) -> Flow[Namespace]:
    try:
        body = json.dumps(settings).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"namespace settings must be plain JSON data: {exc}") from None
    response = yield Call("PUT", _ns_path(name), headers=JSON, content=body)
    return namespace_of(answer(response, namespace=name))


# -- reads ---------------------------------------------------------------------------


def _checked(namespace: str, key: str) -> None:
    check_namespace_name(namespace)
    check_key(key)


def _limit(limit: int) -> str:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidRequest(f"limit must be a positive integer, not {limit!r}")
    return str(limit)


class FloorHolder:
    """`min_rev`, as `Client` and `AsyncClient` both offer it over their `RevFloor`."""

    _floor: RevFloor

    @property
    def min_rev(self) -> int:
        """The rev every read must see (`X-Revkv-Min-Rev`): 0, or what `min_rev=` gave,
        raised by each write of this client (unless `read_your_writes=False`). Set it
        to carry a rev from elsewhere (another client's write, a message); 0 to stop."""
        return self._floor.rev

    @min_rev.setter
    def min_rev(self, rev: int) -> None:
        self._floor.rev = check_min_rev(rev)


class _Missing:
    def __repr__(self) -> str:
        return "<no default>"


#: `get(default=MISSING)`: raise when absent (None is a default like any other).
MISSING: Any = _Missing()


def get(namespace: str, key: str, version: int | None, default: Any = MISSING) -> Flow[Commit]:
    try:
        return (yield from _get(namespace, key, version))
    except NotFound:
        if default is MISSING:
            raise
        found: Commit = default
        return found


def _get(namespace: str, key: str, version: int | None) -> Flow[Commit]:
    _checked(namespace, key)
    if version is None:
        path = kv_path(namespace, key)
    else:
        path = kv_path(namespace, key, str(check_version(version)))
    response = yield Call("GET", path, headers=ABSENT_IS_404)
    if not response.is_success:
        raise error_of(
            response.status_code, response.content, namespace=namespace, key=key, version=version
        )
    if version is None and response.headers.get("x-rainer-empty", "").lower() == "yes":
        raise KeyNotFound(namespace, key)  # a server older than X-Revkv-Absent
    exact = response.headers.get("x-revkv-meta")
    if exact is not None:
        return with_payload(meta_of(json.loads(exact)), response.content)
    meta = yield from _version_meta(namespace, key, int(response.headers["x-rainer-version"]))
    return with_payload(meta, response.content)


def meta(namespace: str, key: str, version: int | None, include_deleted: bool) -> Flow[Meta]:
    _checked(namespace, key)
    if version is not None:
        return (yield from _version_meta(namespace, key, check_version(version)))
    if include_deleted:
        page = yield from history(namespace, key, 1, None)
        head: Meta = page.items[0]
        return head
    response = yield Call("GET", kv_path(namespace, key, "meta"), headers=ABSENT_IS_404)
    latest = answer(response, namespace=namespace, key=key)
    if latest.get("empty"):
        raise KeyNotFound(namespace, key)
    exact = response.headers.get("x-revkv-meta")
    if exact is not None:
        return meta_of(json.loads(exact))
    return (yield from _version_meta(namespace, key, int(latest["version"])))


def _version_meta(namespace: str, key: str, version: int) -> Flow[Meta]:
    """One version's full meta (rev, expires): the single line of a history page."""
    page = yield from history(namespace, key, 1, version + 1)
    if not page.items or page.items[0].version != version:
        raise VersionNotFound(namespace, key, version)
    found: Meta = page.items[0]
    return found


def history(namespace: str, key: str, limit: int, before: int | None) -> Flow[Page]:
    _checked(namespace, key)
    params = {"limit": _limit(limit)}
    if before is not None:
        params["before"] = str(check_version(before, "before"))
    response = yield Call("GET", kv_path(namespace, key, "history"), params)
    body = answer(response, namespace=namespace, key=key)
    return Page([meta_of(item) for item in body["items"]], body.get("next"))


def _listing(
    namespace: str, prefix: str | None, include_deleted: bool, **params: str
) -> dict[str, str]:
    check_namespace_name(namespace)
    if prefix is not None:
        if not isinstance(prefix, str):
            raise InvalidRequest("prefix must be a string")
        params["prefix"] = prefix
    if include_deleted:
        params["all"] = "yes"
    return params


def list_(
    namespace: str, prefix: str | None, start_after: str | None, limit: int, include_deleted: bool
) -> Flow[Page]:
    params = _listing(namespace, prefix, include_deleted, limit=_limit(limit))
    if start_after is not None:
        if not isinstance(start_after, str):
            raise InvalidRequest("start_after must be a string (a key)")
        params["start_after"] = start_after
    params["payload_base64"] = "yes"
    response = yield Call("GET", kv_path(namespace), params)
    body = answer(response, namespace=namespace)
    if not body["items"]:
        yield from _known(namespace)
    return Page([commit_of(item) for item in body["items"]], body.get("next"))


def keys(namespace: str, prefix: str | None) -> Flow[list[str]]:
    params = _listing(namespace, prefix, False, limit=str(KEYS_PAGE))
    found: list[str] = []
    while True:
        response = yield Call("GET", kv_path(namespace), params)
        body = answer(response, namespace=namespace)
        found.extend(item["key"] for item in body["items"])
        if body.get("next") is None:
            if not found:
                yield from _known(namespace)
            return found
        params = {**params, "start_after": body["next"]}


def count(namespace: str, prefix: str | None, include_deleted: bool) -> Flow[int]:
    params = _listing(namespace, prefix, include_deleted, **{"$top": "0"})
    response = yield Call("GET", kv_path(namespace), params)
    counted = int(answer(response, namespace=namespace)["count"])
    if not counted:
        yield from _known(namespace)
    return counted


def _known(name: str) -> Flow[None]:
    """Raise NamespaceNotFound for an unknown namespace, which a listing shows as empty."""
    yield from get_namespace(name)


def rev() -> Flow[int]:
    response = yield Call("GET", "/health")
    return int(answer(response)["rev"])


def changes(
    since_rev: int, namespace: str | None, prefix: str | None, limit: int
) -> Flow[list[Event]]:
    params = {"since": str(since_rev), "limit": _limit(limit), "payloads": "1"}
    if namespace is not None:
        params["namespace"] = check_namespace_name(namespace)
    if prefix:
        params["prefix"] = prefix
    response = yield Call("GET", "/changes", params)
    body = answer(response, requested_rev=since_rev, namespace=namespace)
    return [event_of(item) for item in body["events"]]


# -- writes --------------------------------------------------------------------------


def _signature(author: str | None, comment: str | None) -> dict[bytes, bytes]:
    """The author and comment headers; absent ones take the server's default."""
    check_author(author, comment)
    headers = {}
    if author is not None:
        headers[b"X-Revkv-Author"] = header_text("author", author)
    if comment is not None:
        headers[b"X-Revkv-Comment"] = header_text("comment", comment)
    return headers


def _cas(expect: Expect | None, **params: str) -> dict[str, str]:
    """`?expect=`: the version the caller read (0 or absent: create only; exists)."""
    condition = Condition.of(expect)
    if condition is not None:
        params["expect"] = str(condition.expected)
    return params


def as_page(events: list[Event]) -> Page:
    """A page of changes: full pages go on from their last rev."""
    full = len(events) >= 1000
    return Page(events, events[-1].rev if full and events else None)


def paged(fetch: Callable[[Any], Page]) -> Iterator[Any]:
    """Every item of the pages `fetch(cursor)` gives, following `next` (sync clients)."""
    cursor = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if page.next is None:
            return
        cursor = page.next


def put(
    namespace: str,
    key: str,
    payload: bytes | str,
    expect: Expect | None,
    author: str | None,
    comment: str | None,
    ttl: TTL,
    expires: Expires,
) -> Flow[Meta]:
    _checked(namespace, key)
    data = check_payload(payload)
    params = _cas(expect)
    headers = _signature(author, comment)
    headers.update(lifetime_headers(ttl, expires))
    response = yield Call("PUT", kv_path(namespace, key), params, headers, data)
    return meta_of(answer(response, namespace=namespace, key=key, expected=expect))


def delete(
    namespace: str, key: str, expect: Expect | None, author: str | None, comment: str | None
) -> Flow[Meta]:
    _checked(namespace, key)
    call = Call("DELETE", kv_path(namespace, key), _cas(expect), _signature(author, comment))
    response = yield call
    return meta_of(answer(response, namespace=namespace, key=key, expected=expect))


def revert(
    namespace: str,
    key: str,
    to_version: int,
    expect: Expect | None,
    author: str | None,
    comment: str | None,
) -> Flow[Meta]:
    _checked(namespace, key)
    to = str(check_version(to_version, "the version to revert to"))
    path = kv_path(namespace, key, "revert")
    response = yield Call("POST", path, _cas(expect, to=to), _signature(author, comment))
    context = {"version": to_version, "expected": expect}
    return meta_of(answer(response, namespace=namespace, key=key, **context))


def purge(namespace: str, key: str, before_version: int | None, all_versions: bool) -> Flow[int]:
    _checked(namespace, key)
    params = {"all": "true"} if all_versions else {}
    if before_version is not None:
        params["before"] = str(check_version(before_version, "before_version"))
    response = yield Call("DELETE", kv_path(namespace, key, "history"), params)
    return int(answer(response, namespace=namespace, key=key)["purged"])


def compact() -> Flow[CompactionReport]:
    response = yield Call("POST", "/compact")
    done = answer(response)
    return CompactionReport(done["snapshot"], done["removed_files"], done["removed_bytes"])


def txn(checks: Sequence[Check], writes: Sequence[Put | Delete]) -> Flow[TxnResult]:
    body = {"checks": [_check(c) for c in checks], "writes": [_write(w) for w in writes]}
    if not body["writes"]:
        raise InvalidRequest("a transaction needs at least one write")
    response = yield Call("POST", "/txn", headers=JSON, content=json.dumps(body).encode())
    result = answer(response)
    return TxnResult(result["rev"], [meta_of(m) for m in result["commits"]])


def _check(check: Check) -> dict[str, Any]:
    if not isinstance(check, Check):
        raise InvalidRequest(f"a transaction check is a Check, not {check!r}")
    _checked(check.namespace, check.key)
    if check.version is not None:
        check_version(check.version)
    return {"namespace": check.namespace, "key": check.key, "version": check.version}


def _write(write: Put | Delete) -> dict[str, Any]:
    if not isinstance(write, (Put, Delete)):
        raise InvalidRequest(f"a transaction write is a Put or a Delete, not {write!r}")
    _checked(write.namespace, write.key)
    check_author(write.author, write.comment)
    row: dict[str, Any] = {"namespace": write.namespace, "key": write.key}
    if write.author is not None:
        row["author"] = write.author
    if write.comment is not None:
        row["comment"] = write.comment
    if isinstance(write, Delete):
        return {"op": "delete", **row}
    data = check_payload(write.payload)
    row["payload_base64"] = base64.b64encode(data).decode()
    if write.ttl is not None:
        row["ttl"] = write.ttl
    return {"op": "put", **row}
