"""`revkv serve --broker`: from settings and flags to the broker door, checked up front.

Everything that can be wrong with the options (a secret file that cannot be read, a
malformed AMQP URL, an empty queue name) is a `click.UsageError` here, before the store
is opened; a namespace the store lacks or a broker that cannot be reached is found when
the door opens, still before the server listens (see `revkv.cli._serve.run`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

from revkv._config import BrokerSettings

if TYPE_CHECKING:
    from revkv.broker import BrokerDoor

log = logging.getLogger(__name__)

SECRET_ENV = "REVKV_BROKER_SECRET"
MAX_NAME = 255  # AMQP queue and exchange names are short strings
F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--broker",
        is_flag=True,
        default=False,
        help="Also serve the store's namespaces to DaBroker clients (revkv.broker.BrokerClient) "
        "on RabbitMQ (--amqp); a commit through any door invalidates their cached copies. "
        "Or a [broker] table in --config.",
    ),
    click.option(
        "--broker-queue",
        metavar="NAME",
        default=None,
        help="The RPC queue the broker consumes (DaBroker's rpc_queue). [default: dab_queue]",
    ),
    click.option(
        "--broker-exchange",
        metavar="NAME",
        default=None,
        help="The exchange of its invalidations (rpc_exchange). [default: dab_alert]",
    ),
    click.option(
        "--broker-secret-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=f"A file holding the broker's secret (SECRET_KEY: clients cannot forge keys "
        f"without it), else ${SECRET_ENV}. Never put the secret itself on the command line: "
        "every user of the machine can read it there.",
    ),
    click.option(
        "--broker-namespace",
        "broker_namespaces",
        metavar="NS",
        multiple=True,
        help="Export this namespace (repeatable). [default: every namespace the store has "
        "at start-up]",
    ),
    click.option(
        "--broker-state",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="A file where the broker records the rev it has announced, so that a restarted "
        "server first invalidates what changed while it was down.",
    ),
)


def broker_options(command: F) -> F:
    """The --broker-* options of `revkv serve`."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def broker_cfg(settings: BrokerSettings, secret_file: Path | None) -> dict[str, Any]:
    """DaBroker's cfg for these settings; `secret_file` (the flag) beats the environment,
    which beats the config file's `secret_file`."""
    cfg: dict[str, Any] = {"transport": "amqp"}
    cfg.update(_where(settings.amqp))
    for name, value in (("rpc_queue", settings.rpc_queue), ("rpc_exchange", settings.rpc_exchange)):
        if not value.strip() or len(value) > MAX_NAME:
            raise click.UsageError(
                f"the broker's {name} is a name of 1 to {MAX_NAME} characters, not {value!r}"
            )
        cfg[name] = value
    secret = _secret(secret_file or None, settings.secret_file)
    if secret is None:
        log.warning(
            "the broker has no secret (--broker-secret-file or $%s): its keys' access "
            "codes use DaBroker's default one, which every client knows",
            SECRET_ENV,
        )
    else:
        cfg["SECRET_KEY"] = secret
    return cfg


def broker_door_for(settings: BrokerSettings, secret_file: Path | None) -> BrokerDoor:
    """The door `revkv serve --broker` enters, for these settings."""
    from revkv.broker import BrokerDoor

    cfg = broker_cfg(settings, secret_file)
    return BrokerDoor(cfg, settings.namespaces, settings.state_file)


def _where(amqp: str | None) -> dict[str, Any]:
    """cfg keys for `--amqp`: a whole URL as `amqp_url`, a host[:port] as DaBroker's."""
    if amqp is None:
        return {}
    if "://" in amqp:
        parts = urlsplit(amqp)
        if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
            raise click.UsageError(
                f"--amqp {_shown(amqp)!r} is a host name or an amqp://user:pass@host:port/vhost URL"
            )
        return {"amqp_url": amqp}
    host, _, port = amqp.partition(":")
    if not host or (port and not port.isdigit()):
        raise click.UsageError(f"--amqp {amqp!r} is a host name, host:port or an amqp:// URL")
    return {"amqp_host": amqp}


def _shown(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _secret(flag: Path | None, configured: Path | None) -> str | None:
    if flag is None and os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = flag or configured
    if path is None:
        return None
    try:
        secret = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise click.UsageError(f"cannot read the broker's secret file {path}: {reason}") from None
    if not secret:
        raise click.UsageError(f"the broker's secret file {path} is empty")
    return secret
