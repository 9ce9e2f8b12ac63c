"""The broker's errors, in revkv's one hierarchy, and how they travel.

    RevkvError
    ├── NotFound
    │   ├── UnknownKey      a key no loader knows (deleted, or never there)
    │   └── NoData          `get` found nothing (DaBroker's name, known to its client)
    ├── InvalidRequest
    │   ├── MalformedMessage  (revkv's) not DaBroker JSON, or lacking `_m`
    │   └── ManyData        `get` found more than one
    ├── Forbidden
    │   ├── ForgedKey       an access code that does not match its key
    │   └── NotExported     a method (or a search) the object's meta does not offer
    ├── TimedOut            (revkv's) no reply in time
    └── RemoteError         on a client: a server error of no class it knows

A server sends an error as `{"error": {"_o": "exc", "_t": <class name>, "_r": repr,
"msg": message}, "tb": []}`: class name and message, never a traceback (that goes
to the server's log). A client makes the class of that name again when it knows it.
"""

from __future__ import annotations

from revkv.errors import Forbidden, InvalidRequest, MalformedMessage, NotFound, RevkvError, TimedOut


class UnknownKey(NotFound):
    """No object has this key (any more): fetch its container again."""


class NoData(NotFound):
    """A `get` matched no object."""


class ManyData(InvalidRequest):
    """A `get` matched more than one object: use `find`, or narrow the search."""


class ForgedKey(Forbidden):
    """A key whose access code is not the one the server gave out."""


class NotExported(Forbidden):
    """A method that the object's meta does not export."""


class RemoteError(RevkvError):
    """A server error of a class this client does not know; `.kind` names it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


KNOWN: dict[str, type[RevkvError]] = {
    cls.__name__: cls
    for cls in (UnknownKey, NoData, ManyData, ForgedKey, NotExported, MalformedMessage)
}

__all__ = [
    "ForgedKey",
    "MalformedMessage",
    "ManyData",
    "NoData",
    "NotExported",
    "RemoteError",
    "TimedOut",
    "UnknownKey",
]
