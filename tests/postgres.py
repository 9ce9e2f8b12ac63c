"""A real PostgreSQL for the tests: `initdb` in a temporary directory, started with
`pg_ctl` on a free port of 127.0.0.1 as the `postgres` user, stopped by its PID.

    with PostgresServer.start() as pg:
        url = pg.create_database()   # a fresh, empty database per test

Debian's `postgresql` package puts its binaries in /usr/lib/postgresql/N/bin; `make
test` installs it when missing. Without it the tests that need it skip, saying how to
install it, unless `REVKV_REQUIRE_POSTGRES=1` (set by `make test`, so CI cannot skip
them silently): then a missing PostgreSQL fails them.

The test cluster runs with `fsync=off`: it is thrown away after the run and no test
crashes it, so durability is not under test here, and the machine is shared.
"""

from __future__ import annotations

import itertools
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

INSTALL_HINT = "install it with `apt-get install postgresql` (as root), or run `make test`"
USER = "postgres"


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian's layout, then $PATH)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable_reason() -> str | None:
    """Why PostgreSQL cannot be run here (None: it can)."""
    if find_bindir() is None:
        return f"PostgreSQL is not installed; {INSTALL_HINT}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(USER)
        except KeyError:
            return f"there is no {USER!r} user to run PostgreSQL as; {INSTALL_HINT}"
    return None


def required() -> bool:
    return os.environ.get("REVKV_REQUIRE_POSTGRES", "") not in ("", "0")


class PostgresServer:
    """One throw-away cluster; `create_database` hands out fresh databases."""

    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = port
        self.pid: int | None = None
        self.settings: dict[str, Any] = {}
        self._names = itertools.count(1)

    @classmethod
    def start(cls, **settings: Any) -> PostgresServer:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(f"PostgreSQL is not installed; {INSTALL_HINT}")
        root = Path(tempfile.mkdtemp(prefix="revkv-pg-"))
        server = cls(bindir, root, free_port())
        server._initdb()
        server.settings = settings
        server._start(settings)
        return server

    def restart(self) -> None:
        """Start again on the same directory and port, after `stop(remove=False)`."""
        self._start(self.settings)

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool as `postgres` (initdb refuses root)."""
        argv = list(command)
        if os.geteuid() == 0:
            argv = ["runuser", "-u", USER, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, check=False, cwd=self.root)

    def _initdb(self) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        done = self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER,
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")

    def _start(self, settings: dict[str, Any]) -> None:
        options = {
            "port": self.port,
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.root),
            "fsync": "off",
            "max_connections": 300,
            "shared_buffers": "64MB",
            **settings,
        }
        flags = " ".join(f"-c {name}={value}" for name, value in options.items())
        done = self._run(
            str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data),
            "-l", str(self.root / "postgres.log"), "-o", flags,
        )  # fmt: skip
        if done.returncode != 0:
            log = (self.root / "postgres.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{log}")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = self._run(
            str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", str(self.root), "-p", str(self.port), "-U", USER, "-d", database, "-c", sql,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout.strip()

    def create_database(self, prefix: str = "t") -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = f"{prefix}{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self, timeout: float = 30.0, remove: bool = True) -> None:
        """Fast shutdown (SIGINT to the postmaster), then remove the directory (unless
        `remove` is false: a database going down for a while)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGINT)
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline and _alive(self.pid):
                    time.sleep(0.05)
                if _alive(self.pid):
                    os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = None
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for_a_read_on_a_lock(url: str, timeout: float = 60.0) -> None:
    """Return once a query on `revkv_commits` waits on a lock (a test holds the table's
    lock so that a read it started is certainly in progress); fail after `timeout`."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as probe:
        while time.monotonic() < deadline:
            row = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%revkv_commits%' AND datname = current_database()"
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.02)
    raise AssertionError(f"no read waited on the lock within {timeout} s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
