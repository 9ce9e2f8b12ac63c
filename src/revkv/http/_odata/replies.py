"""What the door answers with: the negotiated format, documents as responses, OData errors.

Every answer carries ``DataServiceVersion: 2.0``. Errors are OData error documents in the
request's format: Atom's ``<error>`` (the only kind Pyslet's client can read; a plain
text or JSON body makes it raise an XML parse error instead) or the verbose-JSON
``{"error": ...}``. The status of an error comes from one table, resolved by class
hierarchy: the door's own errors first, then revkv's table (``revkv.http._errors``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.responses import Response

from revkv.errors import (
    NotFound,
    PreconditionFailed,
    RevkvError,
    Unauthorized,
    VersionConflict,
)
from revkv.http._errors import STATUS, status_for
from revkv.http._odata.atom import error_xml
from revkv.http._odata.jsonfmt import error_json
from revkv.http._odata.urls import Format

__all__ = [
    "ATOM_ENTRY",
    "ATOM_FEED",
    "EntityUnreadable",
    "MethodNotAllowed",
    "NotSupported",
    "document",
    "error_response",
    "format_of",
    "media_type",
]

log = logging.getLogger(__name__)

ATOM_ENTRY = "application/atom+xml;type=entry"
ATOM_FEED = "application/atom+xml;type=feed"
SERVICE = "application/atomsvc+xml"
XML = "application/xml"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
VERSION_HEADER = {"DataServiceVersion": "2.0"}


class MethodNotAllowed(RevkvError):
    """A method the addressed resource does not take."""

    def __init__(self, method: str, what: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"{method} is not allowed on {what}; use {', '.join(allowed)}")
        self.allowed = allowed


class NotSupported(RevkvError):
    """Part of OData 2 that revkv does not implement ($batch)."""


class EntityUnreadable(RevkvError):
    """A stored payload does not fit its entity type: the request was fine, the data is
    not (written through /kv, or before the schema changed)."""


#: revkv's table (``revkv.http._errors.STATUS``) with the door's own errors added.
_STATUS: dict[type[BaseException], int] = {
    **STATUS,
    MethodNotAllowed: 405,
    NotSupported: 501,
    EntityUnreadable: 422,
}


def status_of(error: BaseException) -> int:
    return status_for(error, _STATUS)


def format_of(requested: Format | None, accept: str) -> Format:
    """``$format`` if given, else JSON when the Accept header names it, else Atom."""
    if requested is not None:
        return requested
    return "json" if "application/json" in accept else "atom"


def media_type(fmt: Format, atom: str) -> str:
    """The Content-Type of a document: ``atom`` (the Atom type of this document) for
    Atom, ``application/xml`` for ``$format=xml``, ``application/json`` for JSON."""
    return {"atom": atom, "xml": XML, "json": JSON}[fmt]


def document(
    body: bytes,
    media: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(body, status, headers={**VERSION_HEADER, **(headers or {})}, media_type=media)


def error_response(error: BaseException, fmt: Format) -> Response:
    """The OData error document of ``error`` (any exception; unexpected ones are logged
    and answered 500 without detail)."""
    status = status_of(error)
    headers: dict[str, str] = {}
    if isinstance(error, RevkvError):
        code, message = _code(error), error.message
        if status >= 500:
            log.error("OData request failed: %s", error)
    else:
        log.error("OData request failed", exc_info=error)
        code, message = "InternalError", "the server failed; this is a bug, see its log"
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    if fmt == "json":
        return document(error_json(code, message), JSON, status, headers)
    return document(error_xml(code, message), XML, status, headers)


def _code(error: RevkvError) -> str:
    if isinstance(error, NotFound):
        return "ResourceNotFound"
    if isinstance(error, VersionConflict) and not isinstance(error, PreconditionFailed):
        return "Conflict"
    return type(error).__name__
