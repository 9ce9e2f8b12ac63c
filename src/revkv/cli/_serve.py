"""`revkv serve`: the HTTP server on uvicorn, with a graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import ssl
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import click
import uvicorn
from starlette.types import ASGIApp

from revkv._auth import Auth
from revkv._config import (
    LOG_FORMATS,
    LOG_LEVELS,
    BrokerSettings,
    ConfigError,
    Settings,
    load_settings,
    reload_tokens,
)
from revkv._service import Service
from revkv.cli._broker import broker_door_for, broker_options
from revkv.cli._globals import recorded
from revkv.cli._logging import announce, close_logging, configure_logging
from revkv.cli._startup import (
    StartupError,
    bind,
    check_exposure,
    forget_server,
    record_server,
    startup_error,
    tls_context,
    url_of,
)
from revkv.cli._target import check_db, local_data, target_or_none
from revkv.errors import NamespaceNotFound, RevkvError
from revkv.http._app import Door

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn's server, with watch streams ended first at shutdown (so it does not wait
    on connections that never end), and SIGHUP reloading the tokens from the config file.

    A reload swaps the Service's `Auth` in one assignment: requests in flight finish with
    the tokens they were checked against, keep-alive connections stay open, and the next
    request is checked against the new tokens. Web page sessions sign in again. A config
    file that no longer parses is logged and the old tokens stay.
    """

    def __init__(
        self, config: uvicorn.Config, service: Service, settings: Settings, path: Path | None
    ) -> None:
        super().__init__(config)
        self.service = service
        self.settings = settings
        self.config_path = path
        self.stopped_by: list[int] = []  # the signals that stopped it

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            with super().capture_signals():
                yield
            return
        previous = signal.signal(signal.SIGHUP, self._on_sighup)
        try:
            with super().capture_signals():
                try:
                    yield
                finally:
                    # uvicorn would raise the signal again once stopped, killing the
                    # process before `run` tidies up: a stop asked for is a clean exit
                    self.stopped_by = list(self._captured_signals)
                    self._captured_signals.clear()
        finally:
            signal.signal(signal.SIGHUP, previous)

    def _on_sighup(self, sig: int, frame: FrameType | None) -> None:
        """Reload on the event loop, not inside whatever the signal interrupted."""
        try:
            asyncio.get_running_loop().call_soon_threadsafe(self.reload_tokens)
        except RuntimeError:  # before the loop runs, or after it stopped
            self.reload_tokens()

    def reload_tokens(self) -> None:
        if self.config_path is None:
            log.warning("SIGHUP: no --config file to reload the tokens from; nothing changed")
            return
        try:
            tokens = reload_tokens(self.config_path)
            check_exposure(replace(self.settings, tokens=tokens))  # none left, beyond loopback
        except (ConfigError, StartupError) as error:
            log.error("SIGHUP: the tokens were not reloaded, the old ones stay: %s", error)
            return
        self.service.auth = Auth(tokens)
        app = self.config.loaded_app
        while app is not None and not hasattr(app, "state"):
            app = getattr(app, "app", None)
        if app is not None:
            app.state.ui_sessions = None  # sessions of removed tokens must not outlive them
        log.info("SIGHUP: reloaded %d token(s) from %s", len(tokens), self.config_path)

    async def shutdown(self, sockets: object = None) -> None:
        self.service.stop_watches()
        await super().shutdown(sockets)  # type: ignore[arg-type]


class _StopAsked(BaseException):
    """SIGINT or SIGTERM while starting (or stopping): raised wherever start-up was, so it
    unwinds like an error (closing the socket and the store) and ends as a clean stop."""


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Until uvicorn takes SIGINT and SIGTERM over (and after it gives them back), they
    stop start-up cleanly: exit 0 as when serving, not click's "Aborted!" and exit 1
    (which `make serve` reports as an error) nor a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(sig: int, frame: FrameType | None) -> None:
        raise _StopAsked(sig)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(settings: Settings, doors: Sequence[Door] = (), config_path: Path | None = None) -> None:
    """Check everything that can fail, then serve until SIGTERM or SIGINT (exit 0, also
    when one comes while starting).

    Every failure before the first "serving" line is one line and a start-up exit code
    (`revkv.cli._startup`). Log lines are written off the event loop meanwhile (see
    `revkv.cli._logging`), and the last of them before this returns or raises.
    """
    configure_logging(settings.log_level, settings.log_format, settings.access_log)
    try:
        with _stop_on_signals():
            _serve(settings, doors, config_path)
    except _StopAsked as stop:
        announce(f"stopped ({signal.Signals(stop.args[0]).name})", settings.log_format)
    finally:
        close_logging()


def _serve(settings: Settings, doors: Sequence[Door], config_path: Path | None) -> None:
    from revkv.http._app import app_for

    check_exposure(settings)
    context = tls_context(settings)
    sock = bind(settings.host, settings.port)
    url = url_of(sock, settings.host, context is not None)
    try:
        service, where = _open(settings)
        _open_doors(doors, service)  # a broker that cannot be reached: one line, too
    except BaseException:
        sock.close()
        raise
    server_file = None
    if settings.db is None and settings.data is not None:
        server_file = record_server(settings.data, url)
    try:
        app = app_for(settings, service, doors)
        config = _uvicorn_config(settings, app, context is not None)
        server = _Server(config, service, settings, config_path)
        configure_logging(settings.log_level, settings.log_format, settings.access_log)
        announce(f"serving {where} on {url}", settings.log_format)
        server.run(sockets=[sock])
    finally:
        _close_doors(doors)  # no-ops when the lifespan closed them
        sock.close()
        if server_file is not None:
            forget_server(server_file)
    if server.stopped_by:
        announce(f"stopped ({signal.Signals(server.stopped_by[0]).name})", settings.log_format)


def _open(settings: Settings) -> tuple[Service, object]:
    """The Service, opened before uvicorn starts: a failure is one line, not a traceback."""
    from revkv.http._app import open_service

    where: object = settings.data if settings.data is not None else "memory"
    try:
        if settings.db is not None:
            from revkv.store import prepare_database

            where = prepare_database(settings.db)  # refuses an outdated schema
        return open_service(settings), where
    except (RevkvError, OSError) as error:
        raise startup_error(error) from None


def _uvicorn_config(settings: Settings, app: ASGIApp, tls: bool) -> uvicorn.Config:
    from revkv.http._protocol import Limits, protocol_class, raise_fd_limit

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
    return uvicorn.Config(
        app,
        http=protocol_class(limits),  # uvicorn's httptools protocol, with limits
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]
        log_config=None,  # revkv.cli._logging formats uvicorn's lines too
        log_level=None,
        access_log=settings.access_log,
        timeout_graceful_shutdown=10,
        lifespan="on",
        proxy_headers=settings.proxy_headers,  # off by default: it cost every request
        # uvicorn's own TLS options, for files tls_context() has already checked:
        ssl_certfile=settings.tls_cert if tls else None,
        ssl_keyfile=settings.tls_key if tls else None,
        ssl_ca_certs=settings.tls_ca if tls else None,
        ssl_cert_reqs=ssl.CERT_REQUIRED if tls and settings.tls_ca else ssl.CERT_NONE,
    )


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
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML settings file (tokens, data, host, port, tls_cert, log_level...); "
    "SIGHUP reloads its tokens.",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Serve https:// with this PEM certificate (chain); needs --tls-key.",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="The PEM private key of --tls-cert.",
)
@click.option(
    "--tls-ca",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Require client certificates signed by this PEM CA (mutual TLS).",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default=None,
    help="The least important lines logged (-v: info, -vv: debug). [default: warning]",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default=None,
    help="Log lines as text or as JSON objects, one per line. [default: text]",
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="Log one line per request. [default: off]",
)
@click.option(
    "--insecure",
    is_flag=True,
    default=None,
    help="Allow listening beyond loopback without tokens, or with tokens but without TLS.",
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
    "--min-rev-wait",
    type=click.FloatRange(min=0, max=3600),
    default=None,
    help="Seconds a read that names a min rev (X-Revkv-Min-Rev) waits for this server to "
    "reach it, else 503. [default: 2]",
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
    min_rev_wait: float | None,
    max_connections: int | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_ca: Path | None,
    log_level: str | None,
    log_format: str | None,
    access_log: bool | None,
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
      revkv serve --host 0.0.0.0 --config revkv.toml --tls-cert srv.crt --tls-key srv.key
      curl -X PUT --data-binary 'hello' http://127.0.0.1:8080/kv/default/greeting
    """
    target = target_or_none()
    if target is not None and target.url_from == "--url":  # $REVKV_URL is for the others
        local_data(target, "it serves a directory, or memory")
    try:
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
            min_rev_wait=min_rev_wait,
            max_connections=max_connections,
            tls_cert=tls_cert and tls_cert.resolve(),
            tls_key=tls_key and tls_key.resolve(),
            tls_ca=tls_ca and tls_ca.resolve(),
            log_level=log_level or _verbosity(ctx),
            log_format=log_format,
            access_log=access_log,
        )
    except ConfigError as error:
        raise startup_error(error) from None
    found = recorded()
    given = found is not None and found.on_command_line("data")
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
    run(settings, doors, config)


def _verbosity(ctx: click.Context) -> str | None:
    """The group's `-v` (info) or `-vv` (debug), if given, as a log level."""
    found = recorded(ctx)
    verbose = found.value("verbose", 0) if found is not None else 0
    return {0: None, 1: "info"}.get(verbose, "debug")


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
