"""`revkv serve` over TLS, with real certificates (tests/tls.py) and a real server: the
Client, the AsyncClient and the CLI trust it through a CA file; the wrong CA, plain
http:// and an unreadable CA file each fail in one clear line; tokens beyond loopback are
allowed with TLS; `--tls-ca` asks clients for certificates."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import revkv
from revkv.errors import InvalidRequest, Unreachable
from tests.servers import ROOT, RevkvServer
from tests.tls import Pki, make_pki

pytestmark = pytest.mark.slow

TOKEN = "0123456789abcdef-ops"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(pki: Pki) -> Iterator[RevkvServer]:
    tls = ("--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key))
    with RevkvServer(None, *tls, ca=pki.ca) as running:
        yield running


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    environment.pop("REVKV_CA_FILE", None)
    environment.update(env or {})
    return subprocess.run(  # noqa: PLW1510 (the exit code is what is tested)
        [sys.executable, "-m", "revkv.cli", *args], env=environment, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip


def test_the_client_trusts_the_server_through_its_ca_file(server: RevkvServer, pki: Pki) -> None:
    assert server.url.startswith("https://")
    with revkv.Client(server.url, verify=str(pki.ca)) as client:
        client.put("tls", "k", b"secret", author="ann")
        assert client.get("tls", "k").payload == b"secret"


def test_the_async_client_too(server: RevkvServer, pki: Pki) -> None:
    async def roundtrip() -> bytes:
        async with revkv.AsyncClient(server.url, verify=pki.ca) as client:
            await client.put("tls", "a", b"async", author="ann")
            return (await client.get("tls", "a")).payload

    assert asyncio.run(roundtrip()) == b"async"


def test_the_wrong_ca_is_refused_with_what_to_do(server: RevkvServer, pki: Pki) -> None:
    client = revkv.Client(server.url, verify=str(pki.wrong_ca))
    with client, pytest.raises(Unreachable) as refused:
        client.get("tls", "k")
    assert "TLS certificate is not trusted" in str(refused.value)
    assert "--ca-file" in str(refused.value)


def test_a_ca_file_that_is_not_there_is_named() -> None:
    with pytest.raises(InvalidRequest, match=r"cannot use the CA file /nonexistent/ca\.pem"):
        revkv.Client("https://127.0.0.1:1", verify="/nonexistent/ca.pem")


def test_the_cli_with_ca_file_and_revkv_ca_file(server: RevkvServer, pki: Pki) -> None:
    written = cli("--url", server.url, "--ca-file", str(pki.ca), "set", "cli", "over tls")
    assert written.returncode == 0, written.stderr
    read = cli("--url", server.url, "get", "cli", env={"REVKV_CA_FILE": str(pki.ca)})
    assert (read.returncode, read.stdout) == (0, "over tls")


def test_the_cli_with_the_wrong_ca_says_so_in_one_line(server: RevkvServer, pki: Pki) -> None:
    done = cli("--url", server.url, "--ca-file", str(pki.wrong_ca), "get", "cli")
    assert done.returncode == 4
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "TLS certificate is not trusted" in lines[0] and "--ca-file" in lines[0]
    unknown = cli("--url", server.url, "get", "cli")  # the system's CAs do not know ours
    assert unknown.returncode == 4 and "not trusted" in unknown.stderr


def test_plain_http_to_a_tls_server_says_to_use_https(server: RevkvServer) -> None:
    done = cli("--url", server.url.replace("https:", "http:"), "get", "cli")
    assert done.returncode == 4
    assert "https://" in done.stderr and "Traceback" not in done.stderr


def test_an_unreadable_ca_file_is_a_usage_error(server: RevkvServer) -> None:
    done = cli("--url", server.url, "--ca-file", "/nonexistent/ca.pem", "get", "cli")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "revkv: cannot use the CA file /nonexistent/ca.pem: No such file or directory; give "
        "the PEM certificate of the CA that signed the server's certificate"
    )


def test_tokens_beyond_loopback_are_allowed_with_tls(tmp_path: Path, pki: Pki) -> None:
    config = tmp_path / "revkv.toml"
    config.write_text(
        f'tls_cert = "{pki.server_cert}"\ntls_key = "{pki.server_key}"\n'
        f'[[tokens]]\nname = "ops"\ntoken = "{TOKEN}"\nrights = "read-write"\n'
    )
    server = RevkvServer(None, "--host", "0.0.0.0", "--config", str(config), ca=pki.ca)
    with server, revkv.Client(server.url, TOKEN, verify=str(pki.ca)) as client:
        assert client.put("ns", "k", b"x").author == "ops"


def test_client_certificates_with_tls_ca(pki: Pki) -> None:
    tls = ("--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key))
    cert = (pki.client_cert, pki.client_key)
    with RevkvServer(None, *tls, "--tls-ca", str(pki.ca), ca=pki.ca, cert=cert) as server:
        context = ssl.create_default_context(cafile=pki.ca)
        anonymous = revkv.Client(server.url, verify=context)
        with anonymous, pytest.raises(Unreachable):  # no client certificate
            anonymous.namespaces()
        context.load_cert_chain(pki.client_cert, pki.client_key)
        with revkv.Client(server.url, verify=context) as client:
            assert client.namespaces() == []
        assert httpx.get(server.url + "/health", verify=context).status_code == 200
