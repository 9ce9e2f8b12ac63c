"""What `revkv serve` checks before it says "serving": each failure one line and a code.

A server that cannot start must say so in one line — what failed, where, what to do —
and exit with a code a supervisor can act on (systemd's `RestartPreventExitStatus=`
keeps it from restarting a server that will fail again the same way). Never "serving on
…" first and never a traceback: every check here runs before the first line is printed,
in this order, cheapest first:

    settings   the config file, the environment            8
    exposure   tokens and TLS beyond loopback              8
    TLS        the certificate, key and CA files           8
    listen     bind the address (busy port, no such host)  7
    store      lock the directory (held: pid and URL)      5
               replay the journal (damaged: `revkv repair`) 6
               reach the database, the disk                9

The table of codes (docs/cli.md has it too):

    5  the data directory is in use by another process (named, with its URL)
    6  the store needs a person: damaged journal or snapshot (`revkv repair`), a lost
       segment, an outdated database schema (`revkv db upgrade`)
    7  cannot listen on the address: the port is taken, not permitted, no such address
    8  bad configuration: the config file (with its line), the environment, the TLS
       files, or tokens without TLS beyond loopback
    9  the store is unavailable: the database is down, the disk is full or not writable

The listening socket is bound before the store is opened, so a busy port is reported
without replaying a journal, and the store is open before the first request arrives.
A server records its pid and URL in `SERVER`, beside the directory's `LOCK`, so the
next one to try names them.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket
import ssl
from pathlib import Path

from revkv import _paths as paths
from revkv._config import ConfigError, Settings
from revkv.cli._output import CommandError
from revkv.errors import (
    DatabaseUnavailable,
    DirectoryLocked,
    JournalFailed,
    RevkvError,
    StorageError,
)

IN_USE = 5
NEEDS_REPAIR = 6
CANNOT_LISTEN = 7
BAD_CONFIG = 8
UNAVAILABLE = 9

#: The start-up code of each error, by the nearest class of its MRO.
STARTUP_EXIT_CODES: dict[type[BaseException], int] = {
    DirectoryLocked: IN_USE,
    JournalFailed: UNAVAILABLE,  # a disk that cannot take the first write
    StorageError: NEEDS_REPAIR,
    ConfigError: BAD_CONFIG,
    DatabaseUnavailable: UNAVAILABLE,
    OSError: UNAVAILABLE,
}

SERVER_FILE = paths.SERVER_FILE
"""Beside LOCK: `{"pid": ..., "url": ...}` of the server that has the directory open."""


class StartupError(CommandError):
    """`revkv serve` could not start: one line and a start-up exit code."""


def startup_error(error: BaseException) -> StartupError:
    """The start-up failure `error` stands for, with its code from the table."""
    code = next((STARTUP_EXIT_CODES[c] for c in type(error).__mro__ if c in STARTUP_EXIT_CODES), 4)
    if isinstance(error, DirectoryLocked):
        return StartupError(_locked_message(error), code)
    if isinstance(error, OSError) and not isinstance(error, RevkvError):
        where = f": {error.filename}" if error.filename else ""
        return StartupError(f"cannot open the store: {error.strerror or error}{where}", code)
    return StartupError(str(error), code)


# -- exposure ----------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """Beyond loopback, a server needs tokens (else anyone may write) and TLS (else the
    tokens cross the network in clear) — unless told `--insecure`."""
    if is_loopback(settings.host) or settings.insecure:
        return
    if not settings.tokens:
        raise StartupError(
            f"refusing to listen on {settings.host} with no tokens configured: anyone who "
            "can reach it could read and write everything. Add [[tokens]] to a --config "
            "file, listen on 127.0.0.1, or pass --insecure if the network is trusted",
            BAD_CONFIG,
        )
    if settings.tls_cert is None:
        raise StartupError(
            f"refusing to listen on {settings.host} with tokens over plain HTTP: anyone on "
            "the network could read them. Give --tls-cert and --tls-key (or tls_cert and "
            "tls_key in the config file), listen on 127.0.0.1 behind a TLS proxy, or pass "
            "--insecure if the network is trusted",
            BAD_CONFIG,
        )


# -- TLS ---------------------------------------------------------------------------------


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server's TLS context, or None for plain HTTP; each bad file is one line."""
    cert, key, ca = settings.tls_cert, settings.tls_key, settings.tls_ca
    if cert is None and key is None:
        if ca is not None:
            raise StartupError("--tls-ca goes with --tls-cert and --tls-key", BAD_CONFIG)
        return None
    if cert is None or key is None:
        missing = "--tls-key" if cert is not None else "--tls-cert"
        raise StartupError(
            f"TLS needs a certificate and its key: give {missing} too (or "
            f"{missing[2:].replace('-', '_')} in the config file)",
            BAD_CONFIG,
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _pem(cert, "certificate", b"-----BEGIN CERTIFICATE-----")
    _pem(key, "private key", b"PRIVATE KEY-----")
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as error:
        reason = _ssl_reason(error)
        if error.reason == "KEY_VALUES_MISMATCH":
            reason = "the key is not the one the certificate was issued for"
        raise StartupError(
            f"cannot use the TLS certificate {cert} with the key {key}: {reason}; give a PEM "
            "certificate (chain) and the unencrypted PEM private key it was issued for",
            BAD_CONFIG,
        ) from None
    if ca is not None:
        _pem(ca, "CA certificate", b"-----BEGIN CERTIFICATE-----")
        try:
            context.load_verify_locations(cafile=ca)
        except ssl.SSLError as error:
            raise StartupError(
                f"cannot use the client CA file {ca}: {_ssl_reason(error)}; give the PEM "
                "certificate of the CA that signs the clients' certificates",
                BAD_CONFIG,
            ) from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def _pem(path: Path, what: str, marker: bytes) -> None:
    """A readable file holding PEM `marker`, or one line saying which file is not."""
    try:
        text = path.read_bytes()
    except OSError as error:
        raise StartupError(
            f"cannot read the TLS {what} {path}: {error.strerror or error}", BAD_CONFIG
        ) from None
    if marker not in text:
        raise StartupError(
            f"the TLS {what} {path} is not a PEM {what} (no {marker.decode().strip('-')} "
            "block); give the PEM file (openssl x509/pkey -outform PEM converts DER)",
            BAD_CONFIG,
        )


def _ssl_reason(error: ssl.SSLError) -> str:
    return str(error.reason or error.strerror or error).replace("_", " ").lower()


# -- listening ---------------------------------------------------------------------------


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound now so a busy port is one line before anything else."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise StartupError(
            f"cannot listen on {host}: no such address ({error.strerror}); give --host an "
            "address of this machine (127.0.0.1, 0.0.0.0, ::)",
            CANNOT_LISTEN,
        ) from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)  # localhost: 127.0.0.1 first
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise StartupError(_bind_message(host, port, error), CANNOT_LISTEN) from None
    return sock


def _bind_message(host: str, port: int, error: OSError) -> str:
    where = f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: the port is in use by another process (`ss -ltnp "
            f"'sport = :{port}'` names it); stop it or give --port another port"
        )
    if error.errno == errno.EACCES:
        return (
            f"cannot listen on {where}: permission denied (ports below 1024 need root or "
            "CAP_NET_BIND_SERVICE); give --port 1024 or above"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: not an address of this machine; check --host"
    return f"cannot listen on {where}: {error.strerror or error}"


def url_of(sock: socket.socket, host: str, tls: bool) -> str:
    """The URL clients use for the bound socket (its real port, if 0 was asked for)."""
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


# -- who holds the directory ---------------------------------------------------------------


def record_server(data: Path, url: str) -> Path:
    """Write `SERVER` beside the lock: this process's pid and URL, for the next opener."""
    path = data / SERVER_FILE
    tmp = path.with_name(SERVER_FILE + paths.TMP_SUFFIX)
    try:
        tmp.write_text(json.dumps({"pid": os.getpid(), "url": url}) + "\n")
        tmp.replace(path)
    except OSError:  # a full disk: the server runs all the same
        tmp.unlink(missing_ok=True)
    return path


def forget_server(path: Path) -> None:
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def _locked_message(error: DirectoryLocked) -> str:
    """The lock's message, with the URL of the server holding it if `SERVER` names it."""
    try:
        held = json.loads((Path(error.path) / SERVER_FILE).read_text())
    except (OSError, ValueError):
        held = None
    if not isinstance(held, dict) or not isinstance(held.get("url"), str):
        return str(error)
    if error.pid is not None and held.get("pid") != error.pid:
        return str(error)  # left by an earlier server
    url = held["url"]
    return (
        f"{error.path} is in use by the revkv server with pid {held.get('pid')}, serving "
        f"{url}; stop it first (kill {held.get('pid')}), serve another --data directory, or "
        f"work with the running one: revkv --url {url} ..."
    )
