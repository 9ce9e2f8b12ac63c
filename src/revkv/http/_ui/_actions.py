"""What the forms do: each is one Service call with the session's principal, which the
Service checks and signs commits with; then back to the page that shows the result.

A save is a compare-and-set against the version the editor loaded. When another writer
committed first, the editor comes back with both texts and their diff, now set to save
against the version that won: the user merges and saves again, or leaves. Nothing is
ever written over another writer's commit without the user having seen it.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from revkv._model import DEFAULT, Default
from revkv.errors import InvalidRequest, NotFound, VersionConflict
from revkv.http._requests import service_of
from revkv.http._scans import run_off_loop
from revkv.http._ui._entities import entity_set_of, typed_payload
from revkv.http._ui._gate import render
from revkv.http._ui._pages import _commit
from revkv.http._ui._render import diff_rows, query, view
from revkv.http._ui._session import Session

#: The namespace settings the forms edit, and how each is read from its field.
SETTINGS = {
    "max_payload": int,
    "default_ttl": float,
    "keep_versions": int,
    "keep_seconds": float,
}


async def create_namespace(request: Request, session: Session) -> Response:
    service = service_of(request)
    form = await request.form()
    name = _text(form, "name").strip()
    service.authorize(session.principal, name, True)
    await service.acreate_namespace(name, False, **_settings(form))
    return _back(f"/ui/ns/{name}")


async def change_settings(request: Request, session: Session) -> Response:
    service = service_of(request)
    name = request.path_params["ns"]
    settings = _settings(await request.form())
    await service.aput_namespace(name, settings, session.principal)
    return _back(f"/ui/ns/{name}")


def _settings(form: FormData) -> dict[str, Any]:
    """The settings the form names; an empty field is "none" (no limit, keep all)."""
    settings: dict[str, Any] = {}
    for name, kind in SETTINGS.items():
        if name in form:
            raw = _text(form, name).strip()
            settings[name] = _parse(name, raw, kind) if raw else None
    if "max_payload" in settings and settings["max_payload"] is None:
        del settings["max_payload"]  # there is always a limit; empty keeps the current one
    if "settings" in form:  # the full settings form: an unticked box is sent as nothing
        settings["json_objects_only"] = "json_objects_only" in form
    return settings


def _parse(name: str, raw: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise InvalidRequest(f"{name.replace('_', ' ')} must be {what}, not {raw!r}") from None


async def put(request: Request, session: Session) -> Response:
    service = service_of(request)
    ns = request.path_params["ns"]
    form = await request.form()
    name, expect = _text(form, "key"), _expect(form)
    entity_set = entity_set_of(request, ns) if "typed" in form else None
    payload = typed_payload(entity_set, form) if entity_set else await _payload(form)
    author, comment = _text(form, "author").strip() or None, _text(form, "comment") or None
    try:
        await service.aput(
            ns, name, payload, expect=expect, author=author, comment=comment,
            ttl=_ttl(_text(form, "ttl")), principal=session.principal,
        )  # fmt: skip
    except VersionConflict as conflict:
        if service.reads_wait:  # it reads what won: off the event loop
            return await run_off_loop(_conflict, request, session, form, payload, conflict)
        return _conflict(request, session, form, payload, conflict)
    return _back(f"/ui/key/{ns}?{query(key=name)}")


def _conflict(
    request: Request,
    session: Session,
    form: FormData,
    mine: bytes,
    conflict: VersionConflict,
) -> Response:
    """The editor again, with what won and what the user wrote, set to save against
    the version that won."""
    service = service_of(request)
    ns, name = request.path_params["ns"], _text(form, "key")
    try:
        head = service.head(ns, name)
    except NotFound:
        head = None
    theirs = _commit(service, ns, name, head.version) if head else None
    their_view, my_view = view(theirs.payload if theirs else b""), view(mine)
    return render(
        request, session, "edit.html", 409, ns=ns, key=name, new=False,
        expect=conflict.current_version if head else "absent", value=their_view,
        text=mine.decode("utf-8", errors="replace"), conflict=conflict, theirs=head,
        their_view=their_view,
        diff=diff_rows(their_view.lines, my_view.lines), author=_text(form, "author"),
        comment=_text(form, "comment"), ttl=_text(form, "ttl"), live_prefix=name,
        live_key=name, editing=True, typed=[],
    )  # fmt: skip


async def delete(request: Request, session: Session) -> Response:
    service = service_of(request)
    ns = request.path_params["ns"]
    form = await request.form()
    name = _text(form, "key")
    await service.adelete(
        ns, name, expect=_expect(form), comment=_text(form, "comment") or None,
        principal=session.principal,
    )  # fmt: skip
    return _back(f"/ui/key/{ns}?{query(key=name)}")


async def revert(request: Request, session: Session) -> Response:
    service = service_of(request)
    ns = request.path_params["ns"]
    form = await request.form()
    name, to_version = _text(form, "key"), _text(form, "to_version")
    if not to_version.isdigit():
        raise InvalidRequest(f"revert to a version number, not {to_version!r}")
    await service.arevert(
        ns, name, int(to_version), expect=_expect(form),
        comment=_text(form, "comment") or None, principal=session.principal,
    )  # fmt: skip
    return _back(f"/ui/key/{ns}?{query(key=name)}")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _expect(form: FormData) -> int | Literal["absent"]:
    """The version the page was showing: what a write must still find."""
    raw = _text(form, "expect").strip()
    if raw == "absent":
        return "absent"
    if not raw.isdigit():
        raise InvalidRequest(f"the form names no version it was loaded at ({raw!r}): reload it")
    return int(raw)


async def _payload(form: FormData) -> bytes:
    """An uploaded file's bytes, else the text area's (browsers send its lines as CRLF)."""
    upload = form.get("upload")
    if isinstance(upload, UploadFile) and upload.filename:
        return await upload.read()
    return _text(form, "payload").replace("\r\n", "\n").encode()


def _ttl(raw: str) -> float | Default | None:
    text = raw.strip().lower()
    if not text:
        return DEFAULT
    if text == "never":
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise InvalidRequest(f"TTL is a number of seconds or 'never', not {raw!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidRequest(f"TTL must be a positive number of seconds, not {raw!r}")
    return seconds


def _back(url: str) -> Response:
    return RedirectResponse(url, 303)
