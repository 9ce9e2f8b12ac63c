"""revkv's HTTP wire format as a client reads and writes it: no I/O, no httpx calls.

- Paths: every namespace and key segment is percent-encoded with nothing safe, so a
  key `a/b` travels as `a%2Fb` and stays one segment (the `/kv` door routes raw paths).
- Meta, commits and events: revkv's one JSON shape (`Meta.to_dict`, `Event.to_dict`),
  read back by the model's own `from_dict`: times are exact ISO 8601 UTC and become
  the same float epoch seconds again.
- Payloads in JSON: text as `payload`, anything else as `payload_base64` (listings
  asked with `payload_base64=yes` always send the latter).
- Errors: `{"error": {"code": <revkv error class name>, "message", ...data}}` becomes
  the same class again, with the server's message and the data the class carries
  (`current_version`, `oldest_rev`, `failed`, ...), completed from the request where the
  body does not say it (the namespace and key asked for).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from revkv import errors
from revkv._model import Commit, Default, Event, Meta, Namespace, check_time, check_ttl
from revkv.errors import RevkvError
from revkv.store.base import TTL, Expires

#: revkv's error classes by the name the server puts in `code`.
ERRORS: dict[str, type[RevkvError]] = {
    name: cls
    for name in errors.__all__
    if isinstance(cls := getattr(errors, name), type) and issubclass(cls, RevkvError)
}

#: For an answer without a known code (a proxy, an older server): the class by status.
BY_STATUS: dict[int, type[RevkvError]] = {
    400: errors.InvalidRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.InvalidRequest,
    409: errors.Conflict,
    410: errors.Compacted,
    412: errors.PreconditionFailed,
    413: errors.PayloadTooLarge,
    503: errors.Unavailable,
}


def segment(text: str) -> str:
    return quote(text, safe="")


def kv_path(namespace: str, key: str | None = None, *rest: str) -> str:
    parts = [namespace] if key is None else [namespace, key, *rest]
    return "/kv/" + "/".join(segment(p) for p in parts)


def header_text(name: str, text: str) -> bytes:
    """A header value as the server reads it back (`rainer.from_header`): raw UTF-8."""
    if "\r" in text or "\n" in text:
        raise errors.InvalidRequest(
            f"the {name} cannot hold a line break over HTTP (it travels in a header); "
            "use spaces, or write through txn(), whose JSON body carries any text"
        )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.InvalidRequest(f"the {name} is not valid Unicode") from None


def lifetime_headers(ttl: TTL, expires: Expires) -> dict[bytes, bytes]:
    """`X-Revkv-TTL` or `X-Revkv-Expires` for a write; none for the namespace default."""
    if not isinstance(ttl, Default) and not isinstance(expires, Default):
        raise errors.InvalidRequest("give ttl or expires, not both")
    if not isinstance(expires, Default):
        if expires is None:
            return {b"X-Revkv-Expires": b"never"}
        if isinstance(expires, datetime):
            moment = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
            expires = moment.timestamp()
        return {b"X-Revkv-Expires": repr(check_time(expires, "expires")).encode()}
    if isinstance(ttl, Default):
        return {}
    if ttl is None:
        return {b"X-Revkv-TTL": b"never"}
    return {b"X-Revkv-TTL": repr(check_ttl(ttl)).encode()}


# -- reading ------------------------------------------------------------------------


def meta_of(data: Mapping[str, Any]) -> Meta:
    try:
        return Meta.from_dict(data)
    except errors.InvalidRequest as error:  # a server's answer: not revkv's, not the caller's fault
        raise ForeignAnswer(f"not revkv's answer ({error})") from None


def commit_of(data: Mapping[str, Any], payload: bytes | None = None) -> Commit:
    try:
        return Commit.from_dict(data, payload)
    except errors.InvalidRequest as error:
        raise ForeignAnswer(f"not revkv's answer ({error})") from None


def with_payload(meta: Meta, payload: bytes) -> Commit:
    return meta.with_payload(payload)


def event_of(data: Mapping[str, Any]) -> Event:
    try:
        return Event.from_dict(data)
    except errors.InvalidRequest as error:
        raise ForeignAnswer(f"not revkv's event ({error})") from None


def namespace_of(data: Mapping[str, Any]) -> Namespace:
    known = {name: data[name] for name in Namespace.__struct_fields__ if name in data}
    return Namespace(**known)


def json_body(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        raise ForeignAnswer("not JSON") from None


# -- another server than revkv ------------------------------------------------------

#: The first segment of revkv's own routes: a URL that holds one is not a base URL.
ROUTES = ("kv", "odata", "ui", "watch")


def check_base_url(url: str) -> None:
    """Refuse a URL into one of revkv's routes (`http://host:8080/kv`, a key's URL pasted
    from a browser): the client adds `/kv/...` itself, so its requests would go to
    `/kv/kv/...`, which a revkv server answers with a misleading 400 or 404.

    (So a revkv server cannot be proxied under a path named kv, odata, ui or watch.)
    """
    parsed = httpx.URL(url)
    segments = parsed.raw_path.decode("ascii", "replace").split("?")[0].split("/")
    for at, name in enumerate(segments):
        if name in ROUTES:
            base = parsed.copy_with(raw_path="/".join(segments[:at]).encode() or b"/")
            raise errors.NotRevkvServer(url, f"/{name} is one of its routes", str(base).rstrip("/"))


class ForeignAnswer(RevkvError):
    """An answer no revkv server gives, or one the client cannot read. The driver, which
    knows the URL, raises `NotRevkvServer` for it (`at`); a gateway's 502, 503 or 504
    becomes `Unreachable`: the revkv server behind the proxy may be down."""

    def __init__(self, reason: str, status: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    def at(self, url: str) -> errors.Unreachable:
        if self.status in (502, 503, 504):
            why = f"{self.reason} (a proxy's answer? the revkv server behind it may be down)"
            return errors.Unreachable(url, why)
        return errors.NotRevkvServer(url, self.reason)


def answered(response: httpx.Response, why: str) -> ForeignAnswer:
    """`GET /kv/default/k answered HTTP 404 Not Found (text/html): not revkv's error JSON`."""
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    request = response.request
    status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    return ForeignAnswer(
        f"{request.method} {request.url.raw_path.decode('ascii', 'replace').split('?')[0]} "
        f"answered {status} ({kind}): {why}",
        response.status_code,
    )


def check_answer(response: httpx.Response) -> None:
    """Raise `ForeignAnswer` for an error answer without revkv's error JSON
    (`{"error": {"code": "KeyNotFound", "message": ...}}`, which every revkv error is,
    since the client asks for JSON): a web page, another service's error, a proxy's."""
    if response.is_success:
        return
    try:
        info = json.loads(response.content).get("error")
    except (ValueError, AttributeError):
        info = None
    code = info.get("code") if isinstance(info, dict) else None
    if not (isinstance(code, str) and code.isidentifier() and "message" in info):
        raise answered(response, "not revkv's error JSON")


# -- errors -------------------------------------------------------------------------


def error_of(status: int, content: bytes, **context: Any) -> RevkvError:
    """The revkv error an error answer stands for; `context` completes its fields."""
    info: dict[str, Any] = {}
    try:
        parsed = json.loads(content)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            info = parsed["error"]
    except ValueError:
        pass
    text = content.decode("utf-8", errors="replace").strip()[:500]
    message = str(info.get("message") or text or f"the server answered HTTP {status}")
    cls = ERRORS.get(str(info.get("code"))) or BY_STATUS.get(status, RevkvError)
    return cls.from_fields(message, {**context, **info})


def transport_reason(error: httpx.TransportError) -> str:
    """A transport failure as a person reads it: `connection refused`, `timed out ...`."""
    if isinstance(error, httpx.ConnectTimeout):
        return "timed out connecting"
    if isinstance(error, httpx.TimeoutException):
        return "timed out waiting for the answer"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"the connection broke ({error}; if the server serves https://, use that)"
    text = str(error) or type(error).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        why = re.sub(r"^.*certificate verify failed: ([^(]*).*$", r"\1", text).strip()
        return (
            f"its TLS certificate is not trusted ({why}); give the CA file that signed it: "
            "revkv --ca-file FILE or $REVKV_CA_FILE, Client(url, verify=FILE)"
        )
    if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
        return f"it does not answer TLS ({text}); if it serves plain http://, use that"
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)  # "[Errno 111] Connection refused"
    return text[:1].lower() + text[1:]


def unreachable(url: str, error: httpx.TransportError) -> errors.Unreachable:
    return errors.Unreachable(url, transport_reason(error))
