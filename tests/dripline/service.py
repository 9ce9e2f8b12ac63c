"""A real `revkv dripline serve` (or `revkv serve --dripline`) child process for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.dripline.client import WireClient
from tests.servers import ROOT

TUTORIAL = Path(__file__).with_name("kv_store_tutorial.yaml")


class DriplineProcess:
    def __init__(self, *args: str, broker_url: str, name: str = "my_store") -> None:
        self.args = args
        self.name = name
        self.broker_url = broker_url
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> DriplineProcess:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "revkv.cli", *self.args], env=env, stderr=subprocess.PIPE
        )
        client = WireClient(self.broker_url)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    err = self.process.stderr.read().decode() if self.process.stderr else ""
                    raise RuntimeError(f"the service exited: {err}")
                if client.one("cmd", self.name, "ping", timeout=0.5)["retcode"] == 0:
                    return self
                time.sleep(0.1)
        finally:
            client.close()
        self.stop()
        raise RuntimeError("the dripline service did not answer a ping in time")

    def stop(self) -> int:
        process, self.process = self.process, None
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()
        return process.returncode

    def __enter__(self) -> DriplineProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
