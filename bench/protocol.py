"""What revkv's connection limits cost a request: its protocol against uvicorn's, in-process.

`revkv serve` runs uvicorn's httptools protocol with limits added (`revkv.http._protocol`):
head size and count, header/body/keep-alive timeouts, a connection limit. They sit on the
hottest path there is, so this measures them alone: one connection, a fake transport, a
trivial ASGI app, the same GET (or 100-byte PUT) fed again and again through each protocol
in turn, CPU time per request. The difference is what the limits cost; the end-to-end
figure (bench/http.py) is too noisy on a shared machine to see a microsecond.
"""

from __future__ import annotations

import os
import sys

# bench/ holds `http.py`, and this folder comes first on sys.path when a script here runs:
# move it behind the standard library so that uvicorn's `import http` finds the real one.
sys.path.sort(
    key=lambda entry: os.path.realpath(entry or ".") == os.path.dirname(os.path.realpath(__file__))
)

import asyncio
import time
from typing import Any

import uvloop
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

import _common as c
from revkv.http._protocol import Limits, protocol_class

REQUESTS = {
    "GET": b"GET /kv/bench/latest HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n",
    "PUT": (
        b"PUT /kv/bench/k1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 100\r\n\r\n"
        + b"v" * 100
    ),
}


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


class Transport(asyncio.Transport):
    """Takes what is written and drops it."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def write(self, data: Any) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 5555)}.get(name)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def cost(protocol: type[HttpToolsProtocol], request: bytes, count: int) -> float:
    """CPU microseconds per request through `protocol`, response included."""
    config = Config(app, lifespan="off", log_level="warning", access_log=False)
    config.load()
    connection = protocol(config=config, server_state=ServerState(), app_state={})
    connection.connection_made(Transport())
    began = time.process_time()
    for _ in range(count):
        connection.data_received(request)
        while not connection.cycle.response_complete:
            await asyncio.sleep(0)
    took = time.process_time() - began
    connection.connection_lost(None)
    return took / count * 1e6


def main() -> None:
    parser = c.base_parser(__doc__ or "", seconds=1.0, runs=7, threads=False)
    args = parser.parse_args()
    protocols = {"uvicorn": HttpToolsProtocol, "revkv": protocol_class(Limits())}
    count = max(1000, int(args.seconds * 100_000))
    figures: dict[str, Any] = {}
    rows = []
    for method, request in REQUESTS.items():
        cases = {
            name: (lambda p=protocol, r=request: uvloop.run(cost(p, r, count)))
            for name, protocol in protocols.items()
        }
        measured = c.measure_round_robin(args.runs, cases, lambda *_: None)
        plain, limited = measured["uvicorn"].median, measured["revkv"].median
        figures[method] = {"uvicorn_us": plain, "revkv_us": limited, "ratio": limited / plain}
        rows.append(
            [method, f"{plain:.2f}", f"{limited:.2f}", f"+{limited - plain:.2f}",
             f"{limited / plain:.3f}x"]
        )  # fmt: skip
    if args.json:
        c.emit_json(figures)
        return
    c.print_table(
        "CPU time per request through the HTTP protocol (median of runs)",
        ["request", "uvicorn µs", "revkv µs", "added µs", "revkv ÷ uvicorn"],
        rows,
        note="the protocol and a trivial app only: a real request costs 40-70 µs more",
    )


if __name__ == "__main__":
    main()
