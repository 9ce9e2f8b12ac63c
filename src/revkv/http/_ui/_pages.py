"""The pages a person reads: namespaces, a namespace's keys, a key with its history.

Each is one or two Service reads rendered by a template; what may be shown or offered
is the principal's to say (`Principal.may`), what a version is the Service's. Each reads
on a worker thread when the store's reads wait on a database (`_gate.reading`); a
`$filter` reads the whole namespace, so it always does, among the scans (`run_scan`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from revkv._model import Commit, Meta
from revkv._service import Service
from revkv.errors import InvalidRequest, NotFound, QuerySyntaxError
from revkv.http._listing import META_COLUMNS
from revkv.http._requests import service_of
from revkv.http._scans import run_scan
from revkv.http._ui._entities import entity_set_of, input_type, input_value, record_of, shown
from revkv.http._ui._gate import reading, render
from revkv.http._ui._render import Value, diff_rows, view
from revkv.http._ui._session import Session
from revkv.query import parse_filter
from revkv.store.base import Select, Window

PAGE = 100
HISTORY_PAGE = 50
_LAST = "\U0010ffff"  # sorts after every character a key may hold


@dataclass(frozen=True)
class Entry:
    """A row of the key listing: a key, or a folder of keys sharing `name` + "/"."""

    name: str
    path: str
    commit: Commit | None = None

    @property
    def folder(self) -> bool:
        return self.commit is None


@reading
def namespaces(request: Request, session: Session) -> Response:
    service = service_of(request)
    shown = [ns for ns in service.namespaces() if session.principal.may(ns.name, False)]
    counts = {ns.name: service.count(ns.name) for ns in shown}
    return render(
        request, session, "namespaces.html", namespaces=shown, counts=counts,
        may_create=session.principal.rights == "read-write",
    )  # fmt: skip


async def namespace(request: Request, session: Session) -> Response:
    if request.query_params.get("filter", "").strip():
        return await run_scan(request.receive, _namespace, request, session)
    return await _namespace_page(request, session)


def _namespace(request: Request, session: Session) -> Response:
    service = service_of(request)
    name = request.path_params["ns"]
    service.authorize(session.principal, name, False)
    ns = service.get_namespace(name)
    params = request.query_params
    prefix = params.get("prefix", "")
    text = params.get("filter", "").strip()
    context: dict[str, Any] = {
        "error": None, "entries": [], "next": None, "skip": 0, "more": False, "matched": None,
    }  # fmt: skip
    if text:
        context.update(_filtered(service, name, prefix, text, _number(params.get("skip"))))
    else:
        entries, following = browse(service, name, prefix, params.get("after") or None, PAGE)
        context.update(entries=entries, next=following)
    entity_set = entity_set_of(request, name)
    columns = entity_set.entity_type.payload_properties if entity_set else ()
    cells = {}
    if entity_set:
        for entry in context["entries"]:
            if entry.commit is not None:
                record = record_of(request, entity_set, entry.commit) or {}
                cells[entry.path] = [shown(record.get(p.name)) for p in columns]
    return render(
        request, session, "namespace.html", ns=ns, prefix=prefix, filter=text,
        columns=columns, cells=cells,
        count=service.count(name, prefix=prefix or None), crumbs=crumbs(prefix),
        may_write=session.may_write(name), live_prefix=prefix, **context,
    )  # fmt: skip


_namespace_page = reading(_namespace)


def browse(
    service: Service, namespace: str, prefix: str, after: str | None, limit: int
) -> tuple[list[Entry], str | None]:
    """Up to `limit` entries under `prefix` after `after`, keys holding another "/"
    folded into one folder entry each (skipped past with one seek), and where the next
    page starts (None: this is the last)."""
    entries: list[Entry] = []
    cursor = after
    while len(entries) <= limit:
        page = service.list(namespace, prefix=prefix or None, start_after=cursor, limit=limit)
        for commit in page.items:
            rest = commit.key[len(prefix) :]
            cursor = commit.key
            if not rest:  # the key named like the folder: listed beside it, one level up
                continue
            if "/" in rest[:-1]:  # "a/" alone is a key; "a/b" is in folder "a/"
                folder = prefix + rest[: rest.index("/") + 1]
                entries.append(Entry(folder[len(prefix) :], folder))
                cursor = folder + _LAST
                break
            entries.append(Entry(rest, commit.key, commit))
            if len(entries) > limit:
                break
        else:
            if page.next is None:
                return entries, None
    last = entries[limit - 1]
    return entries[:limit], last.path + _LAST if last.folder else last.path


def _filtered(
    service: Service, namespace: str, prefix: str, text: str, skip: int
) -> dict[str, Any]:
    try:
        tree = parse_filter(text)
        query = Select(filter=tree, columns=META_COLUMNS, prefix=prefix or None, filter_text=text)
        selection = service.select(namespace, query, Window(skip=skip, top=PAGE))
    except QuerySyntaxError as error:  # malformed, an unknown property, or ill-typed
        return {"error": error}
    entries = [Entry(c.key[len(prefix) :], c.key, c) for c in selection.commits]
    more = selection.matched is not None and skip + PAGE < selection.matched
    return {"entries": entries, "matched": selection.matched, "skip": skip, "more": more}


def crumbs(prefix: str) -> list[tuple[str, str]]:
    """(label, prefix) for each folder above and at `prefix`."""
    parts = prefix.split("/")[:-1]
    return [(part + "/", "/".join(parts[: i + 1]) + "/") for i, part in enumerate(parts)]


@reading
def key(request: Request, session: Session) -> Response:
    service = service_of(request)
    ns, name = request.path_params["ns"], _key(request)
    service.authorize(session.principal, ns, False)
    head = service.head(ns, name)
    params = request.query_params
    version = _number(params.get("v")) or head.version
    shown = _commit(service, ns, name, version)
    history = service.history(
        ns, name, limit=HISTORY_PAGE, before=_number(params.get("before")) or None
    )
    a, b = _number(params.get("a")), _number(params.get("b"))
    diff = None
    if a and b:
        old, new = _commit(service, ns, name, a), _commit(service, ns, name, b)
        diff = diff_rows(_lines(old), _lines(new))
    return render(
        request, session, "key.html", ns=ns, key=name, head=head, version=version,
        shown=shown, value=view(shown.payload) if shown else None, history=history,
        a=a or max(version - 1, 1), b=b or version, diff=diff,
        may_write=session.may_write(ns), live_prefix=name, live_key=name,
        folders=crumbs(name),
    )  # fmt: skip


@reading
def edit(request: Request, session: Session) -> Response:
    """The editor: a new key (no `key=`), or the value of the version it saves against."""
    service = service_of(request)
    ns = request.path_params["ns"]
    service.authorize(session.principal, ns, True)
    name = request.query_params.get("key")
    head: Meta | None = None
    if name:
        try:
            head = service.head(ns, name)
        except NotFound:
            head = None
    current = _commit(service, ns, name, head.version) if name and head else None
    value = view(current.payload) if current else None
    entity_set = entity_set_of(request, ns)
    record = record_of(request, entity_set, current) if entity_set and current else {}
    typed = []
    if entity_set and record is not None:
        typed = [
            (p, input_type(p), input_value(p, record.get(p.name)))
            for p in entity_set.entity_type.payload_properties
        ]
    return render(
        request, session, "edit.html", ns=ns, key=name or "", new=head is None or head.deleted,
        expect=head.version if head else "absent", value=value, conflict=None,
        text=_exact(current.payload) if current and value and value.kind != "binary" else "",
        author=session.principal.name, comment="", ttl="", live_prefix=name,
        live_key=name, editing=True, typed=typed,
    )  # fmt: skip


def _key(request: Request) -> str:
    name = request.query_params.get("key")
    if not name:
        raise InvalidRequest("name the key: ?key=...")
    return name


def _number(raw: str | None) -> int:
    if raw is None or raw.strip() == "":
        return 0
    if not raw.strip().isdigit():
        raise InvalidRequest(f"{raw!r} is not a version number")
    return int(raw)


def _commit(service: Service, ns: str, name: str, version: int) -> Commit | None:
    """That version, or None for a tombstone or a version retention dropped."""
    try:
        commit = service.get(ns, name, version)
    except NotFound:
        return None
    return None if commit.deleted else commit


def _exact(payload: bytes) -> str:
    """The text as stored, for the editor: a save of it unchanged writes the same bytes."""
    return payload.decode("utf-8", errors="replace")


def _lines(commit: Commit | None) -> list[str]:
    value: Value = view(commit.payload if commit else b"")
    return value.lines
