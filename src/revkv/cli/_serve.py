"""`revkv serve`: the HTTP server on uvicorn, with a graceful shutdown."""

from __future__ import annotations

import gc
import ipaddress
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import uvicorn
from click.core import ParameterSource

from revkv._config import BrokerSettings, Settings, load_settings
from revkv._service import Service
from revkv.cli._broker import broker_door_for, broker_options
from revkv.cli._target import Target, check_db, local_data
from revkv.errors import NamespaceNotFound
from revkv.http._app import Door

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server(uvicorn.Server):
    """Ends watch streams first, so shutdown does not wait on connections that never end."""

    async def shutdown(self, sockets: object = None) -> None:
        app = self.config.loaded_app
        while app is not None and not hasattr(app, "state"):
            app = getattr(app, "app", None)
        service = getattr(getattr(app, "state", None), "service", None)
        if service is not None:
            service.stop_watches()
        await super().shutdown(sockets)  # type: ignore[arg-type]


def run(settings: Settings, doors: Sequence[Door] = ()) -> None:
    from revkv.http._app import app_for, open_service
    from revkv.http._protocol import Limits, protocol_class, raise_fd_limit

    if not settings.tokens and not is_loopback(settings.host) and not settings.insecure:
        raise click.UsageError(
            f"refusing to listen on {settings.host} with no tokens configured: anyone who can "
            "reach it could read and write everything. Add [[tokens]] to a --config file, "
            "listen on 127.0.0.1, or pass --insecure if the network is trusted"
        )
    where: object = settings.data if settings.data is not None else "memory"
    if settings.db is not None:
        from revkv.store import prepare_database

        where = prepare_database(settings.db)  # refuses an outdated schema, before listening
    service = open_service(settings)  # before uvicorn: a failure is one line, not a traceback
    _open_doors(doors, service)  # so is a broker that cannot be reached
    click.echo(f"revkv: serving {where} on http://{settings.host}:{settings.port}", err=True)
    # A request allocates many short-lived objects; Python's default (a young collection
    # every 700 allocations, and a full one of a large store now and then) was the p99 of
    # every write. A server process collects less often.
    gc.set_threshold(50_000, 50, 100)
    limits = Limits(
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        keep_alive_timeout=settings.keep_alive_timeout,
        max_connections=raise_fd_limit(settings.max_connections),
    )
    config = uvicorn.Config(
        app_for(settings, service, doors),
        http=protocol_class(limits),  # uvicorn's httptools protocol, with limits
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
        lifespan="on",
        proxy_headers=settings.proxy_headers,  # off by default: it cost every request
    )
    try:
        _Server(config).run()
    finally:
        _close_doors(doors)  # no-ops when the lifespan closed them


def _open_doors(doors: Sequence[Door], service: Service) -> None:
    """Open the doors that can be opened before the server listens (the broker's)."""
    if not doors:
        return
    from revkv.broker import BrokerDoor
    from revkv.broker._amqp import _redacted, amqp_url
    from revkv.broker._server import DEFAULTS

    amqp_log = logging.getLogger("aiormq.connection")
    level = amqp_log.level
    amqp_log.setLevel(logging.CRITICAL)  # a refused connection is said once, below
    try:
        for door in doors:
            if isinstance(door, BrokerDoor):
                try:
                    door.open(service)
                    queue = door.cfg.get("rpc_queue", "dab_queue")
                    where = _redacted(amqp_url({**DEFAULTS, **door.cfg}))
                    click.echo(f"revkv: broker clients served on {where} ({queue})", err=True)
                except NamespaceNotFound as error:
                    raise click.UsageError(
                        f"--broker-namespace {error.namespace}: the store has no such "
                        f"namespace; create it (revkv ns create {error.namespace}) or leave "
                        "it out"
                    ) from None
    except BaseException:
        _close_doors(doors)
        service.close()
        raise
    finally:
        amqp_log.setLevel(level)


def _close_doors(doors: Sequence[Door]) -> None:
    if not doors:
        return
    from revkv.broker import BrokerDoor

    for door in doors:
        if isinstance(door, BrokerDoor):
            door.close()


@click.command()
@click.option(
    "--data",
    "data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory (default: the global --data, ./revkv-data).",
)
@click.option("--memory", is_flag=True, help="Keep everything in memory (nothing on disk).")
@click.option(
    "--db",
    "db",
    callback=check_db,
    metavar="URL",
    help="Serve the store in a PostgreSQL database (postgresql://user@host/db); several "
    "servers may share one. Default: the global --db, or `db` in the config file.",
)
@click.option("--host", default=None, help="Address to listen on. [default: 127.0.0.1]")
@click.option("--port", default=None, type=int, help="Port to listen on. [default: 8080]")
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A TOML settings file (tokens, data, host, port, odata_schema...).",
)
@click.option(
    "--insecure", is_flag=True, default=None, help="Allow listening beyond loopback without tokens."
)
@click.option(
    "--odata-schema",
    "odata_schema",
    type=click.Path(dir_okay=False, exists=True, resolve_path=True, path_type=Path),
    default=None,
    help="An EDMX file (such as MemCacheSchema.xml): its entity sets are served under /odata.",
)
@click.option(
    "--durability",
    type=click.Choice(["always", "interval", "never"]),
    default=None,
    help="When a write returns: after fsync (always), or sooner.",
)
@click.option(
    "--change-log-size",
    type=click.IntRange(min=1),
    default=None,
    help="How many recent changes watchers can resume from. [default: 1,000,000]",
)
@click.option(
    "--max-header-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Largest request line and headers, in bytes; more is answered 431. [default: 65536]",
)
@click.option(
    "--max-headers",
    type=click.IntRange(min=1),
    default=None,
    help="Most headers in a request; more is answered 431. [default: 100]",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds a client has to send a request's headers, else 408. [default: 10]",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds a client has to send a request's body, else 408. [default: 60]",
)
@click.option(
    "--keep-alive-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds an idle connection is kept open. [default: 5]",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=None,
    help="Open connections; more are answered 503. [default: 10000, less if the "
    "process may not open as many files]",
)
@click.option(
    "--dripline",
    "dripline_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Also serve this dripline YAML file's kv_store on AMQP, on the same store.",
)
@click.option(
    "--amqp",
    default=None,
    metavar="BROKER",
    help="The RabbitMQ of --dripline and --broker: a host or amqp://user:pass@host:port/vhost "
    "(default: the YAML's broker for --dripline; `amqp` under [broker] in the config file, "
    "else localhost, for --broker).",
)
@broker_options
@click.pass_context
def serve(
    ctx: click.Context,
    dripline_file: Path | None,
    amqp: str | None,
    broker: bool,
    broker_queue: str | None,
    broker_exchange: str | None,
    broker_secret_file: Path | None,
    broker_namespaces: tuple[str, ...],
    broker_state: Path | None,
    data: Path | None,
    memory: bool,
    db: str | None,
    host: str | None,
    port: int | None,
    config: Path | None,
    insecure: bool | None,
    durability: str | None,
    odata_schema: Path | None,
    change_log_size: int | None,
    max_header_bytes: int | None,
    max_headers: int | None,
    header_timeout: float | None,
    body_timeout: float | None,
    keep_alive_timeout: float | None,
    max_connections: int | None,
) -> None:
    """Serve the store over HTTP: Rainer's REST API under /kv, OData under /odata,
    live watches, /health, /metrics, /openapi.json.

    The other commands reach it with `revkv --url http://HOST:PORT ...` (or
    $REVKV_URL, which `serve` itself ignores; it refuses --url).

    \b
    Examples:
      revkv serve                          # ./revkv-data on http://127.0.0.1:8080
      revkv serve --memory --port 9000     # nothing on disk
      revkv serve --db postgresql://revkv@localhost/revkv   # shared by several servers
      revkv serve --config revkv.toml      # tokens, schema, data dir from a file
      revkv serve --odata-schema MemCacheSchema.xml
      revkv serve --broker --amqp amqp://guest:guest@rabbit/ --broker-secret-file s.key
      curl -X PUT --data-binary 'hello' http://127.0.0.1:8080/kv/default/greeting
    """
    target = ctx.find_object(Target)
    if target is not None and target.url_from == "--url":  # $REVKV_URL is for the others
        local_data(target, "it serves a directory, or memory")
    settings = load_settings(
        config,
        host=host,
        port=port,
        insecure=insecure,
        durability=durability,
        odata_schema=odata_schema,
        change_log_size=change_log_size,
        max_header_bytes=max_header_bytes,
        max_headers=max_headers,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        keep_alive_timeout=keep_alive_timeout,
        max_connections=max_connections,
    )
    parent = ctx.parent
    given = (
        parent is not None and parent.get_parameter_source("data") == ParameterSource.COMMANDLINE
    )
    if data is None and given and target is not None:
        data = target.data
    if memory:
        settings = replace(settings, data=None, db=None)
    elif data is not None:
        settings = replace(settings, data=data, db=None)
    elif db is not None or (target is not None and target.db is not None):
        settings = replace(settings, db=db or (target.db if target else None))
    doors: list[Door] = [] if dripline_file is None else [dripline_door(dripline_file, amqp)]
    given_broker = {
        "--broker-queue": broker_queue,
        "--broker-exchange": broker_exchange,
        "--broker-secret-file": broker_secret_file,
        "--broker-namespace": broker_namespaces or None,
        "--broker-state": broker_state,
    }
    if broker or settings.broker is not None:
        flags: dict[str, Any] = {
            "amqp": amqp,
            "rpc_queue": broker_queue,
            "rpc_exchange": broker_exchange,
            "namespaces": broker_namespaces or None,
            "state_file": broker_state,
        }
        broker_settings = replace(
            settings.broker or BrokerSettings(),
            **{name: value for name, value in flags.items() if value is not None},
        )
        doors.append(broker_door_for(broker_settings, broker_secret_file))
    else:
        stray = next((flag for flag, value in given_broker.items() if value is not None), None)
        if stray is not None:
            raise click.UsageError(f"{stray} goes with --broker (or [broker] in --config)")
        if amqp is not None and dripline_file is None:
            raise click.UsageError("--amqp goes with --dripline FILE or --broker")
    run(settings, doors)


def dripline_door(path: Path, amqp: str | None) -> Door:
    """The dripline service of `path`, on the HTTP server's own Service."""
    from revkv.dripline._broker import broker_url
    from revkv.dripline._config import ConfigError, load_config

    try:
        config = load_config(path)
    except (ConfigError, ValueError) as error:
        raise click.UsageError(str(error)) from None
    url = broker_url(amqp, config.broker)

    @asynccontextmanager
    async def door(service: Service) -> AsyncIterator[None]:
        from revkv.dripline._keys import LocalKeys
        from revkv.dripline._service import DriplineService

        dripline = DriplineService(config, LocalKeys(service), url)
        await dripline.start()
        try:
            yield
        finally:
            await dripline.stop()

    return door
