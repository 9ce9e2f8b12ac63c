"""A watch over Server-Sent Events, without I/O: what to ask, what each line means, where to resume.

`GET /watch/{ns}` streams a first comment `: watching from rev N`, then for each change
`id: <rev>`, `event: put|delete|expire|reset` and a JSON `data:` line, keep-alive
comments, and a final `event: shutdown` when the server stops. A `WatchSession` turns
those lines into `Event`s and keeps the position to resume from after a dropped
connection, so the consumer never misses nor sees twice an event:

- the position is the rev of the last event handed out and how many events of that rev
  were handed out: the commits of a transaction share one rev and travel as separate
  events, so "since rev" alone would lose the rest of a transaction cut in the middle;
- a reconnect asks for `since = rev - 1` (also as `Last-Event-ID`) and drops as many
  events of that rev as were handed out already; before any event it asks for the rev
  the watch started from, which is always known: a watch "from now" starts from the
  server's rev read just before (so a cut before the first event loses nothing);
- a `reset` (resync after compaction) is a complete position: resume from its rev;
- `event: shutdown` ends the watch (the server is going away; `Mirror` reconnects);
  `event: error` (the stream fell behind the retained history) raises its error,
  `Compacted`, as the embedded store's watch does; an error that passes
  (`DatabaseUnavailable`: the server's database is down) is a dropped stream instead,
  resumed from the position once the server answers again.

Only the `data:` of an event is read: it holds the rev (the server writes `id:` on the
last event of each rev only, for EventSource clients that resume by `Last-Event-ID`).

`revkv.client._sync.Watch` and `revkv.client._aio.AsyncWatch` only read lines, feed
them here, and reconnect after `delay()` seconds.
"""

from __future__ import annotations

import httpx

from revkv._model import Event, check_namespace_name
from revkv.client._base import MIN_REV, Call, RevFloor
from revkv.client._wire import (
    ForeignAnswer,
    answered,
    check_answer,
    error_of,
    event_of,
    json_body,
    segment,
)
from revkv.errors import InvalidRequest, Unavailable

RETRY_FIRST = 0.05
RETRY_MAX = 2.0
#: The server sends a keep-alive every 15 s (its `watch_keepalive`): a stream silent for
#: much longer than that is dead, and is resumed on a new connection.
STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)


def is_stream(response: httpx.Response) -> bool:
    """Whether `response` opens a stream of events; any other answer is read whole."""
    kind = response.headers.get("content-type", "")
    return response.is_success and kind.startswith("text/event-stream")


class WatchSession:
    def __init__(
        self,
        since_rev: int,
        namespace: str | None,
        prefix: str | None,
        resync: bool,
        floor: RevFloor | None = None,
    ) -> None:
        if namespace is not None:
            check_namespace_name(namespace)
        if not isinstance(since_rev, int) or isinstance(since_rev, bool) or since_rev < 0:
            raise InvalidRequest(f"since_rev must be a rev (0 or more), not {since_rev!r}")
        if prefix is not None and not isinstance(prefix, str):
            raise InvalidRequest("prefix must be a string")
        self.namespace = namespace
        self.prefix = prefix or None
        self.resync = resync
        self.floor = floor  # the client's: the server must have reached its rev
        self.rev = since_rev
        self.count = 0  # events handed out at `rev`; 0 when `rev` is a complete position
        self.ended = False
        self.failures = 0
        self._since = since_rev
        self._skip = 0
        self._fields: dict[str, str] = {}
        self._sent: Call | None = None

    def call(self) -> Call:
        """The request that (re)opens the stream at the current position."""
        params = {"payloads": "yes"}
        if self.prefix:
            params["prefix"] = self.prefix
        if self.resync:
            params["resync"] = "yes"
        self._since = self.rev - 1 if self.count else self.rev
        params["since"] = str(self._since)
        headers = {b"Accept": b"text/event-stream", b"Last-Event-ID": str(self._since).encode()}
        if self.floor is not None and self.floor.rev:
            headers[MIN_REV] = str(self.floor.rev).encode()
        self._skip = self.count
        self._fields = {}
        path = "/watch" if self.namespace is None else f"/watch/{segment(self.namespace)}"
        self._sent = Call("GET", path, params, headers)
        return self._sent

    def opened(self, response: httpx.Response, url: str) -> None:
        """Raise revkv's error for a refused stream (410: `Compacted`), `NotRevkvServer`
        for an answer that is not one (see `is_stream`: then its body was read)."""
        try:
            check_answer(response)
            if response.is_success and not is_stream(response):
                raise answered(response, "not revkv's stream of events")
        except ForeignAnswer as error:
            raise error.at(url) from None
        if not response.is_success:
            if self.floor is not None and self._sent is not None:  # RevAhead: lowered, raised
                self.floor.refused(self._sent, response)
            raise error_of(
                response.status_code,
                response.content,
                requested_rev=self._since,
                namespace=self.namespace,
            )
        self.failures = 0

    def delay(self) -> float:
        """Seconds to wait before the next attempt to reconnect: doubling, at most 2 s."""
        self.failures += 1
        return float(min(RETRY_FIRST * 2 ** (self.failures - 1), RETRY_MAX))

    def feed(self, line: str) -> Event | None:
        """One line of the stream; the Event it completes, if any."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: the start, or a keep-alive
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data" and "data" in self._fields:
            self._fields["data"] += "\n" + value
        elif name in ("data", "event", "id"):
            self._fields[name] = value
        return None

    def _dispatch(self) -> Event | None:
        fields, self._fields = self._fields, {}
        kind = fields.get("event")
        if kind == "shutdown":
            self.ended = True
            return None
        if "data" not in fields:
            return None
        if kind == "error":
            error = error_of(410, fields["data"].encode(), requested_rev=self.rev)
            if isinstance(error, Unavailable):
                return None  # the server ends the stream now; it is resumed
            raise error
        event = event_of(json_body(fields["data"].encode()))
        if self._skip:
            if event.rev == self.rev:
                self._skip -= 1
                return None  # handed out before the connection dropped
            self._skip = 0
        if event.type == "reset":
            self.rev, self.count = event.rev, 0
        elif event.rev == self.rev and self.count:
            self.count += 1
        else:
            self.rev, self.count = event.rev, 1
        return event
