"""The object broker on RabbitMQ: revkv's broker against a bare RPC echo on the same node.

One RabbitMQ node is started for the run (tests/rabbitmq.py). Two server processes:
revkv's `BrokerServer` (AMQP, 1000 static objects) and a bare aio-pika echo service
(a queue consumed with the broker's prefetch 1, each body sent straight back) — the
ceiling of any RPC service on this broker and machine. The clients are N threads in
this process on one `BrokerClient` connection (its AMQP transport; the echo is driven
through the same transport, without the codec).

Printed, as medians of `--runs` interleaved runs:
- uncached attribute reads/s (`get` of an object by key, then one field) and method
  calls/s, at each `--threads`, and their ratio to the echo's round trips/s;
- cached attribute reads/s in process (`remote.status.health`, no request);
- commit → invalidation latency: a revkv commit in this process (embedded store,
  `durability=never` so the disk is not measured) until the broadcast reaches a client
  on RabbitMQ, p50/p99 in ms over `--samples` commits.
Goals: uncached reads >= 60% of the echo; invalidation p99 < 20 ms.

    python bench/broker.py [--seconds 2] [--runs 3] [--threads 1,16] [--samples 300]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: its http.py would shadow the standard library

from bench._common import measure_round_robin, run_threads  # noqa: E402
from tests.rabbitmq import INSTALL_HINT, RabbitMQ, available  # noqa: E402

OBJECTS = 1000

SERVER = """
import sys, threading
from revkv.broker import BaseObj, BrokerServer, Main

class Item(BaseObj):
    def __init__(self, i):
        self.number = i
        self.name = f"item {i}"
        self.tags = ["a", "b", "c"]
    def double(self, x):
        return 2 * x

class Serve(Main):
    def setup(self):
        self.broker = BrokerServer({"transport": "amqp", "amqp_host": sys.argv[1],
                                    "rpc_queue": "bench_broker", "rpc_exchange": "bench_alert"})
        self.broker.export_class(Item, "number name tags double")
        for i in range(int(sys.argv[2])):
            self.broker.add_static(Item(i), "item", i)
        self.broker.start(purge=True)
        print("ready", flush=True)
    def cleanup(self):
        self.broker.stop()

Serve().run()
"""

ECHO = """
import asyncio, sys, aio_pika

async def main(url):
    connection = await aio_pika.connect(url)
    channel = await connection.channel(publisher_confirms=False)
    await channel.set_qos(prefetch_count=1)
    queue = await channel.declare_queue("bench_echo", auto_delete=False)
    await queue.purge()

    async def on_message(message):
        await channel.default_exchange.publish(
            aio_pika.Message(message.body, content_type=message.content_type,
                             correlation_id=message.correlation_id),
            routing_key=message.reply_to)
        await message.ack()

    await queue.consume(on_message)
    print("ready", flush=True)
    await asyncio.Future()

asyncio.run(main(sys.argv[1]))
"""


def spawn(code: str, *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise SystemExit("a bench server did not start")
    return process


def client_cfg(host: str, queue: str, exchange: str) -> dict[str, Any]:
    return {"transport": "amqp", "amqp_host": host, "rpc_queue": queue, "rpc_exchange": exchange}


def throughput(args: argparse.Namespace, host: str) -> dict[tuple[str, int], Any]:
    from revkv.broker import BrokerClient, Key

    broker = BrokerClient(client_cfg(host, "bench_broker", "bench_alert"))
    echo = BrokerClient(client_cfg(host, "bench_echo", "bench_echo_alert"))
    secret = broker.cfg["SECRET_KEY"]
    from revkv.broker import access_code

    keys = [Key(("_s", "item", i), access_code(secret, ("_s", "item", i))) for i in range(OBJECTS)]
    item = broker.get(keys[0])
    body = b'{"_m":"echo","_a":{"_o":"LIST","_d":["x"]}}'

    def read(thread: int, call: int) -> None:
        assert broker.send("get", keys[(thread * 7919 + call) % OBJECTS]).name

    def method(thread: int, call: int) -> None:
        assert item.double(call) == 2 * call

    def bare(thread: int, call: int) -> None:
        echo.transport.request(body, 10.0)

    cases: dict[tuple[str, int], Any] = {}
    for threads in args.threads:
        cases[("echo", threads)] = lambda t=threads: run_threads(t, args.seconds, bare)
        cases[("uncached read", threads)] = lambda t=threads: run_threads(t, args.seconds, read)
        cases[("method call", threads)] = lambda t=threads: run_threads(t, args.seconds, method)
    results = measure_round_robin(
        args.runs, cases, lambda key, value: print(f"  {key}: {value:,.0f}/s", file=sys.stderr)
    )
    broker.stop()
    echo.stop()
    return results


def cached_reads(seconds: float) -> float:
    from tests.broker.guide import local_cfg, serve_guide

    from revkv.broker import BrokerClient

    server, _ = serve_guide(local_cfg())
    with BrokerClient(server.cfg) as client:
        remote = client.root
        assert remote.status.health == "OK"
        done = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            for _ in range(1000):
                remote.status.health  # noqa: B018
            done += 1000
        rate = done / (time.perf_counter() - started)
    server.stop()
    return rate


def invalidation_latency(host: str, samples: int) -> list[float]:
    import revkv
    from revkv.broker import BaseObj, BrokerClient, BrokerServer, RevkvLoader

    class Root(BaseObj):
        data: dict[str, Any] = {}

    cfg = client_cfg(host, "bench_kv", "bench_kv_alert")
    with tempfile.TemporaryDirectory() as tmp, revkv.open(tmp, durability="never") as service:
        service.create_namespace("bench")
        server = BrokerServer(cfg)
        server.export_class(Root, "data")
        loader = RevkvLoader(service, server)
        loader.add_namespace("bench", Root.data)
        server.root = Root()
        server.start(purge=True)
        loader.start()
        arrived: dict[int, float] = {}
        seen = threading.Condition()
        client = BrokerClient(cfg)
        original = client.on_broadcast

        def on_broadcast(body: bytes, app: str) -> None:
            now = time.perf_counter()
            original(body, app)
            with seen:
                arrived[len(arrived) + 1] = now
                seen.notify_all()

        client.on_broadcast = on_broadcast  # type: ignore[method-assign]
        latencies = []
        for n in itertools.islice(itertools.count(1), samples):
            service.put("bench", "k", f'{{"n": {n}}}')
            committed = time.perf_counter()
            with seen:
                assert seen.wait_for(lambda n=n: n in arrived, 10), "no invalidation came"
            latencies.append((arrived[n] - committed) * 1000)
        client.stop()
        loader.stop()
        server.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", default="1,16")
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    if not available():
        raise SystemExit(INSTALL_HINT)
    with RabbitMQ() as rabbit:
        host = f"127.0.0.1:{rabbit.port}"
        servers = [spawn(SERVER, host, str(OBJECTS)), spawn(ECHO, rabbit.url)]
        try:
            results = throughput(args, host)
        finally:
            for process in servers:
                process.terminate()
                process.wait(30)
        latencies = invalidation_latency(host, args.samples)
    cached = cached_reads(args.seconds)
    print(f"{'case':<16}{'threads':>8}{'ops/s':>12}{'vs echo':>10}")
    for (case, threads), measured in results.items():
        echo = results[("echo", threads)].median
        print(f"{case:<16}{threads:>8}{measured.median:>12,.0f}{measured.median / echo:>10.0%}")
    print(f"{'cached read':<16}{1:>8}{cached:>12,.0f}{'(local)':>10}")
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"commit -> invalidation: p50 {statistics.median(latencies):.2f} ms, "
        f"p99 {quantiles[98]:.2f} ms over {len(latencies)} commits"
    )
    worst = min(results[("uncached read", t)].median / results[("echo", t)].median
                for t in args.threads)  # fmt: skip
    print(f"goals: uncached reads >= 60% of echo: {'met' if worst >= 0.6 else 'NOT met'} "
          f"({worst:.0%}); invalidation p99 < 20 ms: "
          f"{'met' if quantiles[98] < 20 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
