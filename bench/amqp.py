"""dripline round trips on RabbitMQ: revkv's service against a bare aio-pika echo service.

Both run as their own processes on one RabbitMQ node started for the run (tests/rabbitmq.py);
the requesters are N tasks in this process on one connection, each sending a request
and waiting for its reply (correlation ids, one reply queue), for a fixed time. The echo
service does nothing but answer each request with its body: the ceiling of any service
on this broker and this machine. Printed: round trips/s, p50/p99 in ms, and revkv's rate
as a ratio of the echo's at the same concurrency. Goal: get >= 70% of echo at 16.

    python bench/amqp.py [--seconds 3] [--concurrency 1,16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aio_pika

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: its http.py would shadow the standard library

from tests.rabbitmq import INSTALL_HINT, RabbitMQ, available  # noqa: E402

TUTORIAL = ROOT / "tests" / "dripline" / "kv_store_tutorial.yaml"

ECHO = """
import asyncio, sys, aio_pika

async def main(url):
    connection = await aio_pika.connect(url)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=64)
    requests = await channel.declare_exchange("requests", aio_pika.ExchangeType.TOPIC)
    queue = await channel.declare_queue("echo", exclusive=True, auto_delete=True)
    await queue.bind(requests, "echo.#")

    async def on_message(message):
        await requests.publish(
            aio_pika.Message(message.body, content_encoding=message.content_encoding,
                             correlation_id=message.correlation_id),
            routing_key=message.reply_to,
        )
        await message.ack()

    await queue.consume(on_message)
    print("ready", flush=True)
    await asyncio.Future()

asyncio.run(main(sys.argv[1]))
"""


def request_body(op: int, values: list[object]) -> bytes:
    return json.dumps({
        "msgtype": 3, "msgop": op, "timestamp": "2026-01-01T00:00:00Z",
        "sender_info": {"package": "bench", "exe": "bench", "version": "wp1.4.0",
                        "commit": "0", "hostname": "bench", "username": "bench"},
        "payload": {"values": values},
    }).encode()  # fmt: skip


async def measure(
    url: str, target: str, body: bytes, concurrency: int, seconds: float
) -> tuple[float, float, float]:
    connection = await aio_pika.connect(url)
    channel = await connection.channel()
    requests = await channel.declare_exchange("requests", aio_pika.ExchangeType.TOPIC)
    name = f"request_reply{uuid.uuid4()}"
    queue = await channel.declare_queue(name, exclusive=True, auto_delete=True)
    await queue.bind(requests, name)
    waiting: dict[str, asyncio.Future[bytes]] = {}

    async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        future = waiting.pop(message.correlation_id or "", None)
        if future is not None and not future.done():
            future.set_result(message.body)

    await queue.consume(on_reply, no_ack=True)
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def requester() -> None:
        while loop.time() < end:
            correlation = str(uuid.uuid4())
            future = loop.create_future()
            waiting[correlation] = future
            start = time.perf_counter()
            await requests.publish(
                aio_pika.Message(body, content_encoding="application/json",
                                 correlation_id=correlation, reply_to=name),
                routing_key=target,
            )  # fmt: skip
            reply = await asyncio.wait_for(future, 10)
            latencies.append(time.perf_counter() - start)
            assert b'"retcode":0' in reply or b'"msgop"' in reply, reply

    started = loop.time()
    await asyncio.gather(*(requester() for _ in range(concurrency)))
    elapsed = loop.time() - started
    await connection.close()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return len(latencies) / elapsed, p50, p99


def wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    if "ready" not in line:
        raise RuntimeError(f"echo service did not start: {line!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", default="1,16")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    if not available():
        sys.exit(INSTALL_HINT)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with RabbitMQ() as broker, tempfile.TemporaryDirectory(prefix="revkv-bench-amqp-") as tmp:
        echo = subprocess.Popen(
            [sys.executable, "-c", ECHO, broker.url], stdout=subprocess.PIPE, text=True
        )
        service = subprocess.Popen(
            [sys.executable, "-m", "revkv.cli", "dripline", "serve", "-c", str(TUTORIAL),
             "-b", broker.url, "--data", str(Path(tmp) / "store")],
            env=env, stderr=(Path(tmp) / "service.log").open("w"), text=True,
        )  # fmt: skip
        try:
            wait_ready(echo)
            log = Path(tmp) / "service.log"
            while "serving" not in log.read_text():
                time.sleep(0.1)
            time.sleep(1.0)  # the queue is declared right after
            cases = [
                ("echo", "echo", request_body(1, [])),
                ("get", "peaches", request_body(1, [])),
                ("set (durable)", "waffles", request_body(0, [4.25])),
            ]
            rows = []
            for level in levels:
                rates = {}
                for label, target, body in cases:
                    print(f"{label} x{level}...", file=sys.stderr, flush=True)
                    rate, p50, p99 = asyncio.run(
                        measure(broker.url, target, body, level, args.seconds)
                    )
                    rates[label] = rate
                    rows.append((level, label, rate, p50, p99, rate / rates["echo"]))
            header = ("requesters", "case", "req/s", "p50 ms", "p99 ms", "vs echo")
            print("{:>10}  {:<14} {:>9} {:>8} {:>8} {:>8}".format(*header))
            for level, label, rate, p50, p99, ratio in rows:
                print(
                    f"{level:>10}  {label:<14} {rate:>9.0f} {p50:>8.2f} {p99:>8.2f} {ratio:>8.2f}"
                )
            get16 = next((r for r in rows if r[0] == 16 and r[1] == "get"), None)
            if get16 is not None:
                verdict = "met" if get16[5] >= 0.7 else "NOT met"
                print(f"goal: get >= 0.70 of echo at 16 requesters: {get16[5]:.2f} ({verdict})")
        except BaseException:
            print((Path(tmp) / "service.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            for process in (echo, service):
                process.terminate()
                process.wait(20)
            if echo.stdout is not None:
                echo.stdout.close()


if __name__ == "__main__":
    main()
