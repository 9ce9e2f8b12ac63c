"""`revkv.broker.Main`: setup, main, stop and cleanup run in order, a signal ends main."""

from __future__ import annotations

import os
import signal
import threading

from revkv.broker import BrokerClient, BrokerServer, Main
from tests.broker.guide import MyRoot, Status, local_cfg


class GuideMain(Main):
    def __init__(self, cfg: dict[str, object]) -> None:
        super().__init__()
        self.cfg = cfg
        self.broker: BrokerServer | None = None
        self.calls: list[str] = []
        self.answer: str | None = None

    def setup(self) -> None:
        self.calls.append("setup")
        self.broker = BrokerServer(cfg=self.cfg)
        self.broker.export_class(Status, "servers load health")
        root = MyRoot()
        self.broker.export_object(root, "version_string login", refs="status")
        self.broker.root = root
        self.broker.start()

    def main(self) -> None:
        self.calls.append("main")
        with BrokerClient(self.cfg) as client:
            self.answer = client.root.status.health
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill` would
        self.shutting_down.wait()

    def stop(self) -> None:
        self.calls.append("stop")

    def cleanup(self) -> None:
        self.calls.append("cleanup")
        if self.broker is not None:
            self.broker.stop()


def test_a_signal_ends_main_and_cleanup_runs() -> None:
    before = signal.getsignal(signal.SIGTERM)
    main = GuideMain(local_cfg())
    main.run()
    assert main.calls == ["setup", "main", "stop", "cleanup"]
    assert main.answer == "OK"
    assert main.signal == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_shutdown_from_another_thread() -> None:
    main = Main()
    threading.Timer(0.01, main.shutdown).start()
    main.run()
    assert main.shutting_down.is_set()
    assert main.signal is None
