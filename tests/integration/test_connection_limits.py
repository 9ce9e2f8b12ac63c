"""No client can hold a real `revkv serve`: head size and count limits, header, body and
keep-alive timeouts, a connection limit (revkv.http._protocol; issue 14).

Each test speaks HTTP over raw sockets, as the attacker would, to a server process. The
timeouts are set to one second so the tests are short; nothing asserts how long anything
took, only what the server did (answered 408/431/503, closed, kept serving the others).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from revkv._config import Settings
from tests.servers import RevkvServer

MAX_HEADER_BYTES = Settings().max_header_bytes
MAX_HEADERS = Settings().max_headers
SHORT = ("--header-timeout", "1", "--body-timeout", "1", "--keep-alive-timeout", "1")
HEALTH = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[RevkvServer]:
    with RevkvServer(None, *SHORT) as server:
        yield server


def connect(server: RevkvServer, timeout: float = 15) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def read_response(sock: socket.socket) -> bytes:
    """One response (head and a Content-Length body), or what came before the close."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(
            b"content-length:")),
        0,
    )  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def closed(sock: socket.socket) -> bool:
    """The server closed its side: recv answers b"" (or a reset) rather than waiting."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def health_ok(server: RevkvServer) -> bool:
    with connect(server) as sock:
        sock.sendall(HEALTH)
        return status_of(read_response(sock)) == 200


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


# -- sizes ---------------------------------------------------------------------------------


def test_a_100_mb_header_is_cut_early_and_others_are_served(server: RevkvServer) -> None:
    assert server.process is not None
    before = rss_kib(server.process.pid)
    sent = 0
    answer = b""
    latencies: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with connect(server) as sock:
            while not stop.is_set():
                began = time.perf_counter()
                sock.sendall(HEALTH)
                assert status_of(read_response(sock)) == 200
                latencies.append(time.perf_counter() - began)
                time.sleep(0.005)

    prober = threading.Thread(target=probe)
    prober.start()
    began = time.perf_counter()
    try:
        with connect(server) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Huge: ")
            piece = b"a" * 65536
            try:
                while sent < 100 * 1024 * 1024:
                    sock.sendall(piece)
                    sent += len(piece)
            except (BrokenPipeError, ConnectionResetError):
                pass
            # the 431 may be lost to the reset of a socket closed with data unread
            with contextlib.suppress(ConnectionResetError):
                answer = read_response(sock)
        cut = time.perf_counter() - began
    finally:
        stop.set()
        prober.join()
    grown = rss_kib(server.process.pid) - before
    print(
        f"\n100 MB header: cut after {sent / 1e6:.1f} MB sent, in {cut * 1000:.0f} ms; RSS "
        f"+{grown / 1024:.1f} MB; /health meanwhile: {len(latencies)} answers, max "
        f"{max(latencies, default=0) * 1000:.1f} ms"
    )
    assert sent < 16 * 1024 * 1024  # the server stopped reading long before 100 MB
    assert answer == b"" or status_of(answer) == 431
    assert grown < 32 * 1024  # KiB: the head was never held whole
    assert latencies, "the prober was never answered"
    assert health_ok(server)


def test_a_431_names_the_limit(server: RevkvServer) -> None:
    with connect(server) as sock:
        big = b"x" * (MAX_HEADER_BYTES + 1)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + big + b"\r\n\r\n")
        answer = read_response(sock)
    assert status_of(answer) == 431
    assert f"over {MAX_HEADER_BYTES:,} bytes".encode() in answer


def test_a_head_just_under_the_limit_split_into_small_packets_is_served(
    server: RevkvServer,
) -> None:
    """Counting across chunks must not add up to a false 431."""
    line = b"X-Pad: " + b"p" * 990 + b"\r\n"
    count = (MAX_HEADER_BYTES - 2048) // len(line)
    request = b"GET /health HTTP/1.1\r\nHost: t\r\n" + line * count + b"\r\n"
    assert len(request) < MAX_HEADER_BYTES
    with connect(server) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for offset in range(0, len(request), 700):
            sock.sendall(request[offset : offset + 700])
            time.sleep(0.0005)
        assert status_of(read_response(sock)) == 200
        sock.sendall(HEALTH)  # and the connection goes on
        assert status_of(read_response(sock)) == 200


def test_a_body_and_the_next_head_in_one_packet_are_not_counted_together(
    server: RevkvServer,
) -> None:
    """Pipelined: a PUT's 40 KB body and the start of a GET's 40 KB head in one send."""
    body = b"b" * 40_000
    put = b"PUT /kv/limits/k HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)
    get = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"p" * 40_000 + b"\r\n\r\n"
    with connect(server) as sock:
        sock.sendall(put + body + get[:20_000])
        time.sleep(0.2)
        sock.sendall(get[20_000:])
        assert status_of(read_response(sock)) == 201
        assert status_of(read_response(sock)) == 200


def test_a_head_begun_before_the_answer_is_not_an_idle_connection() -> None:
    """The next request's head began arriving before the answer to the previous one left.

    uvicorn arms its keep-alive timer when an answer is complete, as if nothing were
    pending, and closed such a connection without a word once that timer ran out first (a
    CI run: a stall of the loop put it ahead of the rest of the head). A head in progress
    is the header timeout's; the keep-alive timer leaves it alone.
    """
    args = ("--keep-alive-timeout", "1", "--header-timeout", "8")
    with RevkvServer(None, *args) as server, connect(server) as sock:
        sock.sendall(b"PUT /kv/limits/k HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx"
                     + HEALTH[:20])  # fmt: skip
        assert status_of(read_response(sock)) == 201
        time.sleep(2.5)  # past the keep-alive timeout, well within the header timeout
        sock.sendall(HEALTH[20:])
        assert status_of(read_response(sock)) == 200


def test_header_count_is_limited(server: RevkvServer) -> None:
    def request(headers: int) -> bytes:
        lines = b"".join(b"X-H%d: 1\r\n" % n for n in range(headers - 1))
        return b"GET /health HTTP/1.1\r\nHost: t\r\n" + lines + b"\r\n"

    with connect(server) as sock:
        sock.sendall(request(MAX_HEADERS))
        assert status_of(read_response(sock)) == 200
    with connect(server) as sock:
        sock.sendall(request(MAX_HEADERS + 1))
        answer = read_response(sock)
        assert status_of(answer) == 431
        assert f"more than {MAX_HEADERS} headers".encode() in answer
        assert closed(sock)


# -- time ----------------------------------------------------------------------------------


def test_slowloris_gets_408_although_bytes_keep_coming(server: RevkvServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")
        answer = b""
        for n in range(100):  # a header byte every 0.1 s: each alone would reset a timer
            try:
                sock.sendall(b"X-Slow-%d: 1\r\n" % n)
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(0.1)
            try:
                answer = sock.recv(65536)
                break
            except TimeoutError:
                continue
        assert status_of(answer) == 408, answer
        assert b"request head was not received within 1 s" in answer
    assert health_ok(server)


def test_a_slow_body_gets_408(server: RevkvServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"PUT /kv/limits/slow HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n")
        answer = b""
        for _ in range(100):
            try:
                sock.sendall(b"x")
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(0.1)
            try:
                answer = sock.recv(65536)
                break
            except TimeoutError:
                continue
        assert status_of(answer) == 408, answer
        assert b"request body was not received within 1 s" in answer
    with connect(server) as sock:  # nothing was written
        sock.sendall(b"GET /kv/limits/slow HTTP/1.1\r\nHost: t\r\n\r\n")
        assert status_of(read_response(sock)) == 404


@pytest.mark.parametrize("requests", [0, 1])
def test_idle_connections_are_closed(server: RevkvServer, requests: int) -> None:
    """A new connection that sends nothing, and one idle after a response."""
    with connect(server) as sock:
        for _ in range(requests):
            sock.sendall(HEALTH)
            assert status_of(read_response(sock)) == 200
        assert closed(sock)  # within the socket's 15 s timeout, else TimeoutError


# -- connections ---------------------------------------------------------------------------


def test_connections_beyond_the_limit_are_refused_while_the_others_work() -> None:
    limit = 8
    args = ("--max-connections", str(limit), "--keep-alive-timeout", "300")
    with RevkvServer(None, *args) as server:
        held = [connect(server) for _ in range(limit)]
        try:
            for sock in held:  # each is open and served, in any order
                sock.sendall(HEALTH)
                assert status_of(read_response(sock)) == 200
            with connect(server) as extra:
                try:
                    extra.sendall(HEALTH)
                    answer = read_response(extra)
                except ConnectionResetError:
                    answer = b""
                assert answer == b"" or status_of(answer) == 503, answer
                assert closed(extra)
            for sock in held:  # the refusal cost the others nothing
                sock.sendall(HEALTH)
                assert status_of(read_response(sock)) == 200
            held.pop().close()
            for _ in range(100):  # the server sees the close soon, not at once
                if health_ok(server):
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("a freed slot was never given to a new connection")
        finally:
            for sock in held:
                sock.close()


def test_no_traceback_in_the_log_of_a_server_that_timed_clients_out(tmp_path: Path) -> None:
    server = RevkvServer(None, *SHORT).start()
    try:
        with connect(server) as sock:
            sock.sendall(b"PUT /kv/limits/k HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\nx")
            assert status_of(read_response(sock)) == 408
    finally:
        assert server.process is not None and server.process.stderr is not None
        process = server.process
        process.terminate()
        _, err = process.communicate(timeout=30)
        server.process = None
    assert b"Traceback" not in err, err.decode()
