"""Write conditions as HTTP carries them, turned into the Service's one `expect=`.

    ?expect=N          the version you read (0 or "absent": create only; "exists")
    If-Match: "N"      the same, as an ETag (W/"N" too); `*`: the key must exist
    If-None-Match: *   create only

A failed condition is the Service's `VersionConflict` (409); asked as a precondition
header it is answered `PreconditionFailed` (412), as RFC 9110 says. Both doors (/kv and
OData) read conditions here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from revkv._model import Expect
from revkv.errors import InvalidRequest, PreconditionFailed, VersionConflict
from revkv.http._numbers import is_whole
from revkv.http._requests import header, param


@dataclass(frozen=True, slots=True)
class WriteCondition:
    """What a request expects of the key it writes; `header` when a precondition header
    said so (a failure is then 412, not 409)."""

    expect: Expect | None = None
    header: bool = False


def parse_expect(raw: str, what: str = "expect") -> Expect:
    """`N` (the version read), `absent` or `exists`."""
    text = raw.strip()
    if text in ("absent", "exists"):
        return text  # type: ignore[return-value]
    if not is_whole(text):
        raise InvalidRequest(
            f"{what} must be the version you read (a whole number; 0 or 'absent' to create "
            f"only, 'exists' for any live version), not {raw[:40]!r}"
        )
    return int(text)


def if_match(raw: str | None) -> Expect | None:
    """The condition of an `If-Match` header: one version ETag, or `*` (exists)."""
    if raw is None:
        return None
    text = raw.strip()
    if text == "*":
        return "exists"
    tag = text.removeprefix("W/").strip('"')
    if not is_whole(tag):
        raise InvalidRequest(
            f'If-Match must be one version ETag such as "3" (or *), not {raw[:40]!r}'
        )
    return int(tag)


def write_condition(request: Request) -> WriteCondition:
    """The condition of a /kv write: `?expect=`, `If-Match` or `If-None-Match: *`."""
    if param(request, "version") is not None:
        raise InvalidRequest(
            "?version= is no longer taken: pass the version you read as ?expect=N "
            "(0 to create only), or send If-Match"
        )
    raw_expect = param(request, "expect")
    matched = if_match(header(request, "if-match"))
    none_match = (header(request, "if-none-match") or "").strip()
    if none_match and none_match != "*":
        raise InvalidRequest("on a write, If-None-Match takes only * (create only)")
    given = [g for g in (raw_expect, matched, none_match or None) if g is not None]
    if len(given) > 1:
        raise InvalidRequest("give one of ?expect=, If-Match and If-None-Match, not several")
    if raw_expect is not None:
        return WriteCondition(parse_expect(raw_expect))
    if matched is not None:
        return WriteCondition(matched, header=True)
    if none_match:
        return WriteCondition("absent", header=True)
    return WriteCondition()


class Preconditions:
    """`with Preconditions(condition):` a `VersionConflict` inside becomes a
    `PreconditionFailed` when a header asked, told in the header's words (`etag` formats
    a version as the door's ETags do). A plain class: it is on every write's path."""

    __slots__ = ("condition", "etag")

    def __init__(self, condition: WriteCondition, etag: str = '"{}"') -> None:
        self.condition = condition
        self.etag = etag

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if (
            isinstance(error, VersionConflict)
            and self.condition.header
            and not isinstance(error, PreconditionFailed)
        ):
            failed = PreconditionFailed.of(error)
            failed.message = _told_in_headers(error, self.etag)
            raise failed from None


def _told_in_headers(conflict: VersionConflict, etag: str) -> str:
    where = f"{conflict.key!r} in {conflict.namespace!r}"
    if conflict.exists:
        tag = etag.format(conflict.current_version)
        return (
            f"precondition failed: {where} is at version {conflict.current_version} "
            f"(ETag {tag}); read it again and send If-Match: {tag}"
        )
    return (
        f"precondition failed: {where} does not exist (or was deleted or expired); "
        "send If-None-Match: * to create it"
    )
