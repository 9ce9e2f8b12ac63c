"""`revkv ns`: list, create, change and show namespaces and their settings."""

from __future__ import annotations

from typing import Any

import click

from revkv._model import Namespace
from revkv.cli._options import json_option, pass_store
from revkv.cli._output import emit_json, print_fields, print_rows, say
from revkv.cli._target import CommandStore

#: The settings in a listing, and their headings on a terminal.
COLUMNS = {"name": "name", "max_payload": "max bytes", "default_ttl": "ttl",
           "keep_versions": "keep versions", "keep_seconds": "keep seconds",
           "content_type": "content type", "json_objects_only": "json only"}  # fmt: skip


def settings_of(namespace: Namespace) -> dict[str, Any]:
    """A namespace's settings as JSON (its schema included, when it has one)."""
    return namespace.to_dict()


@click.group()
def ns() -> None:
    """List, create, change and show namespaces: named sets of keys with their settings.

    A namespace is also created by the first write into it, with default settings.

    \b
    Examples:
      revkv ns list
      revkv ns create sessions --default-ttl 3600 --keep-versions 1
      revkv ns set sessions --keep-versions 5
      revkv ns show sessions --json
    """


@ns.command("list")
@json_option
@pass_store()
def list_namespaces(store: CommandStore, as_json: bool) -> None:
    """List the namespaces with their settings.

    In a pipe, one tab-separated line each: name, max_payload, default_ttl,
    keep_versions, keep_seconds, content_type, json_objects_only.

    \b
    Examples:
      revkv ns list
      revkv ns list --json
    """
    found = store.namespaces()
    if as_json:
        emit_json([settings_of(n) for n in found])
    else:
        print_rows(
            list(COLUMNS.values()), ([settings_of(n)[column] for column in COLUMNS] for n in found)
        )


@ns.command()
@click.argument("name")
@click.option("--max-payload", type=click.IntRange(min=1), help="Largest payload in bytes.")
@click.option("--default-ttl", type=click.FloatRange(min=0, min_open=True),
              help="Seconds until a key expires, unless its write says otherwise.")  # fmt: skip
@click.option("--keep-versions", type=click.IntRange(min=1), help="Keep only the newest N.")
@click.option("--keep-seconds", type=click.FloatRange(min=0, min_open=True),
              help="Keep only versions younger than SECONDS (the latest stays).")  # fmt: skip
@click.option("--content-type", help="The media type of the payloads, e.g. application/json.")
@click.option(
    "--json-objects-only", is_flag=True, help="Refuse payloads that are not JSON objects."
)
@click.option("--exist-ok", is_flag=True, help="Succeed if it exists already (unchanged).")
@json_option
@pass_store(create=True)
def create(
    store: CommandStore,
    name: str,
    max_payload: int | None,
    default_ttl: float | None,
    keep_versions: int | None,
    keep_seconds: float | None,
    content_type: str | None,
    json_objects_only: bool,
    exist_ok: bool,
    as_json: bool,
) -> None:
    """Create the namespace NAME with the settings given (defaults for the rest).

    Exits 3 if it exists already, unless --exist-ok.

    \b
    Examples:
      revkv ns create diary
      revkv ns create config --content-type application/json --json-objects-only
      revkv ns create sessions --default-ttl 3600 --keep-versions 1
    """
    settings = {
        "max_payload": max_payload,
        "default_ttl": default_ttl,
        "keep_versions": keep_versions,
        "keep_seconds": keep_seconds,
        "content_type": content_type,
        "json_objects_only": json_objects_only or None,
    }
    given = {setting: value for setting, value in settings.items() if value is not None}
    created = store.create_namespace(name, exist_ok=exist_ok, **given)
    if as_json:
        emit_json(settings_of(created))
    else:
        say(f"namespace {created.name} is ready", "green")


@ns.command("set")
@click.argument("name")
@click.option("--max-payload", type=click.IntRange(min=1), help="Largest payload in bytes.")
@click.option("--default-ttl", type=click.FloatRange(min=0, min_open=True),
              help="Seconds until a key expires, unless its write says otherwise.")  # fmt: skip
@click.option("--keep-versions", type=click.IntRange(min=1),
              help="Keep only the newest N of each key, from now on and at once.")  # fmt: skip
@click.option("--keep-seconds", type=click.FloatRange(min=0, min_open=True),
              help="Keep only versions younger than SECONDS (the latest stays).")  # fmt: skip
@click.option("--keep-all", is_flag=True, help="Keep every version again (no retention).")
@click.option("--content-type", help="The media type of the payloads, e.g. application/json.")
@click.option("--json-objects-only/--any-payload", default=None,
              help="Refuse payloads that are not JSON objects (or take any again).")  # fmt: skip
@json_option
@pass_store()
def set_(
    store: CommandStore,
    name: str,
    max_payload: int | None,
    default_ttl: float | None,
    keep_versions: int | None,
    keep_seconds: float | None,
    keep_all: bool,
    content_type: str | None,
    json_objects_only: bool | None,
    as_json: bool,
) -> None:
    """Change the settings given of the namespace NAME; the others stay.

    Retention applies at once: lowering --keep-versions or --keep-seconds drops the
    versions it no longer keeps from every key now, not at their next write (their
    bytes leave the disk at the next `revkv compact`).

    \b
    Examples:
      revkv ns set diary --keep-versions 5
      revkv ns set sessions --keep-seconds 86400 --default-ttl 3600
      revkv ns set diary --keep-all
    """
    if keep_all and (keep_versions is not None or keep_seconds is not None):
        raise click.UsageError("--keep-all keeps every version: leave out --keep-versions "
                               "and --keep-seconds")  # fmt: skip
    settings = {
        "max_payload": max_payload,
        "default_ttl": default_ttl,
        "keep_versions": keep_versions,
        "keep_seconds": keep_seconds,
        "content_type": content_type,
        "json_objects_only": json_objects_only,
    }
    given: dict[str, Any] = {k: v for k, v in settings.items() if v is not None}
    if keep_all:
        given.update(keep_versions=None, keep_seconds=None)
    if not given:
        raise click.UsageError("say what to change, e.g. --keep-versions 5 (see --help)")
    store.get_namespace(name)  # a namespace that does not exist is not created here
    changed = store.update_namespace(name, **given)
    if as_json:
        emit_json(settings_of(changed))
    else:
        say(f"namespace {changed.name} is updated", "green")


@ns.command()
@click.argument("name")
@json_option
@pass_store()
def show(store: CommandStore, name: str, as_json: bool) -> None:
    """Show the settings of the namespace NAME and how many live keys it holds.

    \b
    Examples:
      revkv ns show default
      revkv ns show default --json
    """
    fields = {**settings_of(store.get_namespace(name)), "keys": store.count(name)}
    if as_json:
        emit_json(fields)
    else:
        print_fields(fields)
