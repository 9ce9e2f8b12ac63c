"""Which broker, as whom: dragonfly's `-b` rules and credentials file, or a URL.

`-b HOST` (bare `-b`: localhost; none: the YAML's `broker`, else localhost) with the
user and password of ``~/.project8_authentications.json`` (``{"amqp": {"username",
"password"}}``) as dripline reads them, else guest/guest; or a whole
``amqp://user:pass@host:port/vhost`` URL, used as it is.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote, urlsplit

from revkv.errors import InvalidRequest

AUTH_FILE = Path("~/.project8_authentications.json")
DEFAULT_HOST = "localhost"


def broker_url(broker: str | None, configured: str | None = None) -> str:
    """The AMQP URL for `-b BROKER` (or the config's `broker`)."""
    given = broker or configured or DEFAULT_HOST
    if "://" in given:
        parts = urlsplit(given)
        if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
            raise InvalidRequest(
                f"broker {given!r} is a host name or an amqp://user:pass@host:port/vhost URL"
            )
        return given
    host, _, port = given.partition(":")
    user, password = credentials()
    where = f"{host}:{port}" if port else host
    return f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{where}/"


def credentials() -> tuple[str, str]:
    """dripline's credentials file, else guest/guest."""
    path = Path(os.environ.get("REVKV_DRIPLINE_AUTH", AUTH_FILE)).expanduser()
    try:
        amqp = json.loads(path.read_text())["amqp"]
        return str(amqp["username"]), str(amqp["password"])
    except (OSError, ValueError, KeyError, TypeError):
        return "guest", "guest"


def redacted(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
