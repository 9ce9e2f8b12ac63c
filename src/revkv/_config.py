"""One typed settings object: defaults, then a TOML file, then the environment, then flags.

    # revkv.toml
    data = "/var/lib/revkv"          # relative paths are relative to this file
    db = "postgresql://revkv@db.example/revkv"   # instead of data: PostgreSQL, shared
    host = "127.0.0.1"
    port = 8080
    durability = "always"
    odata_schema = "MemCacheSchema.xml"
    odata_page_size = 100            # entities per OData feed page
    change_log_size = 1000000        # recent changes watchers can resume from
    change_log_bytes = 536870912     # ... and at most about this many bytes of them
    compact_on_snapshot = false      # true: every snapshot removes all older files
    watch_keepalive = 15.0           # seconds between keep-alive comments on a stream
    min_rev_wait = 2.0               # seconds a read waits for its X-Revkv-Min-Rev; then 503
    max_watchers = 100000
    proxy_headers = false            # behind a proxy on 127.0.0.1: trust X-Forwarded-*
    auto_create_namespaces = true
    max_header_bytes = 65536         # a request's line and headers; more: 431
    max_headers = 100                # headers per request; more: 431
    header_timeout = 10.0            # seconds from a request's first byte to its last header
    body_timeout = 60.0              # seconds from the headers to the body's last byte
    keep_alive_timeout = 5.0         # seconds a connection may wait between requests
    max_connections = 10000          # open connections; more are answered 503
    tls_cert = "/etc/revkv/tls/server.crt"   # serve https://: the certificate (chain), PEM
    tls_key = "/etc/revkv/tls/server.key"    # and its private key, PEM
    tls_ca = "/etc/revkv/tls/clients-ca.crt" # optional: ask clients for certificates it signed
    log_level = "info"               # debug, info, warning (the default) or error
    log_format = "text"              # or "json": one object per line
    access_log = false               # one line per request (off: costs nothing)

    [[tokens]]
    name = "deploy"                  # the author of this token's writes
    token = "s3cret-deploy-token"    # at least 16 characters, unique
    rights = "read-write"            # or "read"
    namespaces = ["config.*", "flags"]   # shell-style patterns; default ["*"]
    act_as_others = false            # true: may write with another author (a gateway)

    [broker]                         # serve namespaces to DaBroker clients (serve --broker)
    amqp = "amqp://guest:guest@127.0.0.1:5672/"   # or a host name; default localhost
    rpc_queue = "dab_queue"
    rpc_exchange = "dab_alert"
    secret_file = "broker.secret"    # the SECRET_KEY of the keys' access codes
    namespaces = ["people"]          # default: every namespace the store has
    state_file = "broker.rev"        # the rev announced so far, to resume from

Environment: REVKV_DATA, REVKV_DB, REVKV_HOST, REVKV_PORT, REVKV_DURABILITY,
REVKV_BROKER_SECRET (the broker's secret, when no --broker-secret-file is given).

Every value is checked when it is read, so a typo stops the server at start-up with the
file and the setting named, not at the first request.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from revkv.errors import InvalidRequest


class ConfigError(InvalidRequest):
    """A config file that cannot be used: its message names the file, the line where it
    can, the setting and what it must be. `revkv serve` exits with its start-up code."""


Rights = Literal["read", "read-write"]
RIGHTS = ("read", "read-write")
DURABILITIES = ("always", "interval", "never")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
MIN_TOKEN_LENGTH = 16
TOKEN_FIELDS = frozenset({"name", "token", "rights", "namespaces", "act_as_others"})


@dataclass(frozen=True)
class Token:
    name: str
    token: str
    rights: Rights = "read"
    namespaces: tuple[str, ...] = ("*",)
    act_as_others: bool = False  # may sign commits with another author's name

    def __repr__(self) -> str:  # never print the secret
        return (
            f"Token(name={self.name!r}, rights={self.rights!r}, "
            f"namespaces={self.namespaces!r}, act_as_others={self.act_as_others!r})"
        )


@dataclass(frozen=True)
class BrokerSettings:
    """`revkv serve --broker`: the store's namespaces served to DaBroker clients.

    The secret is never a setting of its own: it is read from `secret_file` (or
    $REVKV_BROKER_SECRET), so it stays out of command lines and of shared config files.
    """

    amqp: str | None = None  # a host[:port] or amqp:// URL; None: DaBroker's localhost
    rpc_queue: str = "dab_queue"
    rpc_exchange: str = "dab_alert"
    secret_file: Path | None = None
    namespaces: tuple[str, ...] | None = None  # None: every namespace at start-up
    state_file: Path | None = None  # None: a restart does not announce what it missed


@dataclass(frozen=True)
class Settings:
    data: Path | None = Path("revkv-data")  # None: in memory only
    db: str | None = None  # a postgresql:// URL: the store is there, not in `data`
    host: str = "127.0.0.1"
    port: int = 8080
    durability: str = "always"
    tokens: tuple[Token, ...] = ()
    insecure: bool = False
    odata_schema: Path | None = None
    auto_create_namespaces: bool = True
    watch_keepalive: float = 15.0
    min_rev_wait: float = 2.0  # seconds a read waits for the rev it names (X-Revkv-Min-Rev)
    max_watchers: int = 100_000
    change_log_size: int = 1_000_000  # changes kept for watchers to resume from
    change_log_bytes: int = 512 * 1024 * 1024  # and the bytes they may take (payloads)
    compact_on_snapshot: bool = False  # every snapshot compacts (the embedded store)
    odata_page_size: int = 100  # entities per OData feed page
    proxy_headers: bool = False  # trust X-Forwarded-* from 127.0.0.1 (behind a proxy)
    # What one client may take of the server (revkv.http._protocol):
    max_header_bytes: int = 65_536  # the URL of a $filter at MAX_LENGTH, percent-encoded, fits
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    keep_alive_timeout: float = 5.0
    max_connections: int = 10_000
    broker: BrokerSettings | None = None  # None: no broker door
    # TLS (`revkv serve` answers https:// with both; clients' certificates with tls_ca too):
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    # Logs: one line each, on stderr (revkv.cli._logging):
    log_level: str = "warning"
    log_format: str = "text"
    access_log: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def merged(self, **overrides: Any) -> Settings:
        """These settings with every override that is not None applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def load_settings(path: Path | None = None, **flags: Any) -> Settings:
    settings = Settings()
    if path is not None:
        settings = _from_file(settings, path)
    settings = _from_env(settings)
    return settings.merged(**flags)


# -- the file ----------------------------------------------------------------------------

#: What each setting in a file must be: (accepted types, a description for the message).
_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "data": ((str,), "a path"),
    "db": ((str,), "a postgresql:// URL"),
    "host": ((str,), "an address"),
    "port": ((int,), "a port number"),
    "durability": ((str,), f"one of {', '.join(DURABILITIES)}"),
    "insecure": ((bool,), "true or false"),
    "odata_schema": ((str,), "a path"),
    "auto_create_namespaces": ((bool,), "true or false"),
    "watch_keepalive": ((int, float), "a number of seconds"),
    "min_rev_wait": ((int, float), "a number of seconds from 0 to 3600"),
    "max_watchers": ((int,), "a whole number"),
    "change_log_size": ((int,), "a whole number of changes"),
    "change_log_bytes": ((int,), "a whole number of bytes"),
    "compact_on_snapshot": ((bool,), "true or false"),
    "odata_page_size": ((int,), "a whole number of entities"),
    "proxy_headers": ((bool,), "true or false"),
    "max_header_bytes": ((int,), "a whole number of bytes"),
    "max_headers": ((int,), "a whole number of headers"),
    "header_timeout": ((int, float), "a number of seconds"),
    "body_timeout": ((int, float), "a number of seconds"),
    "keep_alive_timeout": ((int, float), "a number of seconds"),
    "max_connections": ((int,), "a whole number of connections"),
    "tls_cert": ((str,), "the path of a PEM certificate file"),
    "tls_key": ((str,), "the path of a PEM private key file"),
    "tls_ca": ((str,), "the path of a PEM CA certificate file"),
    "log_level": ((str,), f"one of {', '.join(LOG_LEVELS)}"),
    "log_format": ((str,), f"one of {', '.join(LOG_FORMATS)}"),
    "access_log": ((bool,), "true or false"),
}

#: Settings that are paths, relative to the file that gives them.
_PATHS = ("data", "odata_schema", "tls_cert", "tls_key", "tls_ca")

#: Settings that must be above zero.
_POSITIVE = frozenset(
    {
        "watch_keepalive", "max_watchers", "change_log_size", "change_log_bytes",
        "odata_page_size",
        "max_header_bytes", "max_headers", "header_timeout", "body_timeout",
        "keep_alive_timeout", "max_connections",
    }
)  # fmt: skip


def _from_file(settings: Settings, path: Path) -> Settings:
    try:
        text = path.read_text()
        raw = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"the config file {path} is not valid TOML: {exc}") from exc
    unknown = set(raw) - set(_TYPES) - {"tokens", "broker"}
    if unknown:
        first = min(unknown, key=lambda name: _line_of(text, name) or 0)
        raise ConfigError(
            f"{_where(path, text, first)}: unknown setting(s) {', '.join(sorted(unknown))}; "
            "see `revkv serve --help` for the settings"
        )
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in ("tokens", "broker"):
            values[name] = _checked(name, value, path, text)
    for name in _PATHS:
        if name in values:
            values[name] = (path.parent / values[name]).resolve()
    values["tokens"] = _tokens(raw.get("tokens", []), path)
    if "broker" in raw:
        values["broker"] = _broker(raw["broker"], path)
    return replace(settings, **values)


def reload_tokens(path: Path) -> tuple[Token, ...]:
    """The tokens `path` gives now, checked as at start-up (SIGHUP's reload): a file
    that no longer parses raises `ConfigError` and the caller keeps the tokens it has."""
    return _from_file(Settings(), path).tokens


def _line_of(text: str, name: str) -> int | None:
    """The line (from 1) where the top-level setting `name` is given, if it can be found."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("["):  # tables come after the top-level settings
            return None
        if line.split("=", 1)[0].strip().strip('"') == name and "=" in line:
            return number
    return None


def _where(path: Path, text: str, name: str) -> str:
    line = _line_of(text, name)
    return f"{path}, line {line}" if line else str(path)


def _checked(name: str, value: Any, path: Path, text: str = "") -> Any:
    types, what = _TYPES[name]
    wrong_type = not isinstance(value, types) or (bool not in types and isinstance(value, bool))
    if wrong_type or not _in_range(name, value):
        raise ConfigError(f"{_where(path, text, name)}: {name} must be {what}, not {value!r}")
    return value


def _in_range(name: str, value: Any) -> bool:
    if name == "port":
        return bool(0 <= value <= 65535)
    if name == "durability":
        return value in DURABILITIES
    if name == "log_level":
        return value in LOG_LEVELS
    if name == "log_format":
        return value in LOG_FORMATS
    if name == "db":
        return bool(value.startswith(("postgresql:", "postgresql+", "postgres:")))
    if name == "min_rev_wait":
        return bool(0 <= value <= 3600)
    if name in _POSITIVE:
        return bool(value > 0)
    return True


def _tokens(raw: Any, path: Path) -> tuple[Token, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: tokens is a list of [[tokens]] tables")
    tokens = tuple(_token(entry, path) for entry in raw)
    secrets = [t.token for t in tokens]
    if len(set(secrets)) != len(secrets):
        raise ConfigError(f"{path}: two [[tokens]] entries have the same token; each needs its own")
    return tokens


def _token(raw: Any, path: Path) -> Token:
    if not isinstance(raw, dict) or not {"name", "token"} <= raw.keys():
        raise ConfigError(f"{path}: each [[tokens]] entry needs a name and a token")
    name = raw["name"]
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{path}: a token's name is a non-empty string, not {name!r}")
    where = f"{path}: token {name!r}"
    unknown = raw.keys() - TOKEN_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    secret = raw["token"]
    if not isinstance(secret, str) or len(secret) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"{where}: token is a string of at least {MIN_TOKEN_LENGTH} characters")
    if secret != secret.strip() or not (secret.isascii() and secret.isprintable()):
        raise ConfigError(f"{where}: token is printable ASCII with no spaces at its ends")
    rights = raw.get("rights", "read")
    if rights not in RIGHTS:
        raise ConfigError(f"{where}: rights is 'read' or 'read-write', not {rights!r}")
    patterns = raw.get("namespaces", ["*"])
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise ConfigError(
            f'{where}: namespaces is a list of patterns such as ["config.*"], not {patterns!r}'
        )
    act_as_others = raw.get("act_as_others", False)
    if not isinstance(act_as_others, bool):
        raise ConfigError(f"{where}: act_as_others is true or false, not {act_as_others!r}")
    return Token(name, secret, rights, tuple(patterns), act_as_others)


_BROKER_STRINGS = ("amqp", "rpc_queue", "rpc_exchange", "secret_file", "state_file")


def _broker(raw: Any, path: Path) -> BrokerSettings:
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{path}: broker is a [broker] table")
    unknown = raw.keys() - {*_BROKER_STRINGS, "namespaces"}
    if unknown:
        raise InvalidRequest(f"{path}: [broker]: unknown setting(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name in _BROKER_STRINGS:
        if name in raw:
            value = raw[name]
            if not isinstance(value, str) or not value.strip():
                raise InvalidRequest(f"{path}: [broker] {name} must be a string, not {value!r}")
            values[name] = value
    for name in ("secret_file", "state_file"):
        if name in values:
            values[name] = (path.parent / values[name]).resolve()
    if "namespaces" in raw:
        names = raw["namespaces"]
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise InvalidRequest(
                f'{path}: [broker] namespaces is a list of names such as ["people"], not {names!r}'
            )
        values["namespaces"] = tuple(names)
    return BrokerSettings(**values)


# -- the environment -----------------------------------------------------------------------


def _from_env(settings: Settings) -> Settings:
    env = os.environ
    overrides: dict[str, Any] = {}
    if "REVKV_DATA" in env:
        overrides["data"] = Path(env["REVKV_DATA"])
    if "REVKV_DB" in env:
        overrides["db"] = env["REVKV_DB"] or None
    if "REVKV_HOST" in env:
        overrides["host"] = env["REVKV_HOST"]
    if "REVKV_PORT" in env:
        raw = env["REVKV_PORT"]
        if (
            not (raw.strip().isascii() and raw.strip().isdigit())
            or len(raw) > 6
            or int(raw) > 65535
        ):
            raise ConfigError(f"REVKV_PORT must be a port number, not {raw!r}")
        overrides["port"] = int(raw)
    if "REVKV_DURABILITY" in env:
        durability = env["REVKV_DURABILITY"]
        if durability not in DURABILITIES:
            raise ConfigError(
                f"REVKV_DURABILITY must be one of {', '.join(DURABILITIES)}, not {durability!r}"
            )
        overrides["durability"] = durability
    return replace(settings, **overrides)
