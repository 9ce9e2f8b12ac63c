"""What the door answers with: the negotiated format and version, documents as
responses, OData errors.

Every answer carries the ``DataServiceVersion`` it is written in: ``2.0``, or ``1.0``
when the client can read no more (``MaxDataServiceVersion: 1.0``, or a request of
``DataServiceVersion: 1.0`` without a maximum, as Pyslet's server negotiates).
Errors are OData error documents in the request's format: Atom's ``<error>`` (the
only kind Pyslet's client can read; a plain text or JSON body makes it raise an XML
parse error instead) or the verbose-JSON ``{"error": ...}``. The status of an error
comes from one table, resolved by class hierarchy: the door's own errors first, then
revkv's table (``revkv.http._errors``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.responses import Response

from revkv.errors import (
    InvalidRequest,
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
    "NeedsVersion2",
    "NotSupported",
    "document",
    "error_response",
    "format_of",
    "media_type",
    "response_version",
    "version_header",
]

log = logging.getLogger(__name__)

ATOM_ENTRY = "application/atom+xml;type=entry"
ATOM_FEED = "application/atom+xml;type=feed"
SERVICE = "application/atomsvc+xml"
XML = "application/xml"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
VERSION_HEADER = {"DataServiceVersion": "2.0"}
V1_HEADER = {"DataServiceVersion": "1.0"}


def version_header(version: int) -> dict[str, str]:
    return V1_HEADER if version == 1 else VERSION_HEADER


def response_version(request_version: str | None, max_version: str | None) -> int:
    """The OData major version to answer in: 1 when the client's maximum (its
    ``MaxDataServiceVersion``, else its ``DataServiceVersion``) is 1.x, else 2."""
    header = max_version or request_version
    if not header:
        return 2
    major = header.split(";")[0].strip().split(".")[0]
    return 1 if major == "1" else 2


class MethodNotAllowed(RevkvError):
    """A method the addressed resource does not take."""

    def __init__(self, method: str, what: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"{method} is not allowed on {what}; use {', '.join(allowed)}")
        self.allowed = allowed


class NotSupported(RevkvError):
    """Part of OData 2 that revkv does not implement ($batch)."""


class NeedsVersion2(InvalidRequest):
    """The answer cannot be written in OData 1.0, the most the client said it reads
    (``MaxDataServiceVersion: 1.0``): it would need ``$inlinecount``, ``$select`` or
    server paging."""


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
    *,
    version: int = 2,
) -> Response:
    return Response(
        body, status, headers={**version_header(version), **(headers or {})}, media_type=media
    )


def error_response(error: BaseException, fmt: Format, version: int = 2) -> Response:
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
        return document(error_json(code, message), JSON, status, headers, version=version)
    return document(error_xml(code, message), XML, status, headers, version=version)


def _code(error: RevkvError) -> str:
    if isinstance(error, NotFound):
        return "ResourceNotFound"
    if isinstance(error, VersionConflict) and not isinstance(error, PreconditionFailed):
        return "Conflict"
    return type(error).__name__
