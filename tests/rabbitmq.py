"""A real RabbitMQ node for the tests: its own directory, node name and ports, on 127.0.0.1.

with RabbitMQ(tmp_dir) as broker:
    pika.BlockingConnection(pika.URLParameters(broker.url))

Debian's `rabbitmq-server` (installed by `make test`) runs as the `rabbitmq` user; started
as root, we drop to that user ourselves (the Debian wrapper would, and would reset HOME),
so the node's directory is made under /tmp and given to that user. Everything the node
reads or writes is named by the environment: node name, AMQP, distribution and epmd
ports (so several test runs on one machine never meet), mnesia, logs, plugins, feature
flags, config. It is stopped by the PID we started, never by name, and its epmd by its
own port.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.servers import free_port

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
EPMD_CANDIDATES = ("/usr/bin/epmd", "/usr/lib/erlang/bin/epmd")
INSTALL_HINT = "RabbitMQ is not installed: apt-get install -y rabbitmq-server (or run `make test`)"


def available() -> bool:
    return Path(SERVER).exists()


class RabbitMQ:
    """One RabbitMQ node; `restart()` keeps its ports and data (a broker restart)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="revkv-rabbitmq-", dir="/tmp"))
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.nodename = f"revkv-test-{self.port}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        self._user = _rabbitmq_user()
        (self.root / "enabled_plugins").write_text("[].\n")
        (self.root / "rabbitmq.conf").write_text("log.console = false\nlog.file.level = info\n")
        for sub in ("mnesia", "log"):
            (self.root / sub).mkdir()
        if self._user is not None:
            for path in (self.root, *self.root.rglob("*")):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def log_file(self) -> Path:
        return self.root / "log" / f"{self.nodename}.log"

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(self.root / "feature_flags"),
            "RABBITMQ_PID_FILE": str(self.root / "rabbitmq.pid"),
        }

    def start(self, timeout: float = 60.0) -> RabbitMQ:
        """Start the node and wait for its log to say it booted ("completed with")."""
        out = self.root / "stdout.log"
        seen = out.read_text() if out.exists() else ""
        extra: dict[str, Any] = {}
        if self._user is not None:
            extra = {"user": self._user.pw_uid, "group": self._user.pw_gid}
        with (self.root / "stdout.log").open("ab") as stdout:
            self.process = subprocess.Popen(
                [SERVER],
                env=self.env(),
                cwd=self.root,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **extra,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited: {self._tail()}")
            if "completed with" in out.read_text()[len(seen) :]:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"rabbitmq-server did not start in {timeout} s: {self._tail()}")

    def _tail(self) -> str:
        parts = []
        for path in (self.root / "stdout.log", self.log_file):
            if path.exists():
                parts.append(path.read_text()[-2000:])
        return "\n".join(parts)

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM to the PID we started (the script stops the node cleanly), then the
        process group we made for it if that was not enough."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # erl may outlive the script on a hard stop: its session is ours alone
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the node, then its epmd (found by its own port), then remove the directory."""
        self.stop()
        epmd = next((p for p in EPMD_CANDIDATES if Path(p).exists()), shutil.which("epmd"))
        if epmd is not None:
            subprocess.run(
                [epmd, "-port", str(self.epmd_port), "-kill"],
                env={**os.environ, "ERL_EPMD_PORT": str(self.epmd_port)},
                capture_output=True,
                check=False,
                timeout=10,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RabbitMQ:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rabbitmq_user() -> pwd.struct_passwd | None:
    """The `rabbitmq` user when we are root (the node refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("rabbitmq")
    except KeyError:
        return None
