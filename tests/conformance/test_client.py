"""The Store conformance suite through `Client` and `AsyncClient`.

Against real `revkv serve` processes: the suite assumes an empty store, so every test
gets a fresh server with its own data directory. Starting one takes about half a
second, so a pool starts the next ones in the background while a test runs. The data
directory makes the restart test possible (`durable = True`: stop, start again on the
same directory and port, connect again).

`AsyncClient` runs the same synchronous suite through `SyncOverAsync`, which runs its
coroutines on an event loop in a thread. It runs a third time in-process, through
`httpx.ASGITransport(app)` and no socket; that transport hands over a response only
once it is complete, which a live SSE stream never is, so the two watch tests opt out
there (they run against the real servers above). No check is relaxed.
"""

from __future__ import annotations

import asyncio
import inspect
import tempfile
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

import revkv
from revkv._model import Event
from revkv.http import create_app
from revkv.testing import open_service
from revkv.testing.conformance import StoreTests
from tests.servers import RevkvServer

T = TypeVar("T")


class ServerPool:
    """Fresh servers on demand, each started `ahead` of its turn in the background.

    A server whose store is still empty after a test (many tests fail before any
    request, on a bad key or version) is handed out again instead of being replaced.
    """

    def __init__(self, root: Path, ahead: int = 2) -> None:
        self._root = root
        self._executor = ThreadPoolExecutor(max_workers=ahead + 1)
        self._starting: deque[Future[RevkvServer]] = deque(
            self._executor.submit(self._start) for _ in range(ahead)
        )
        self._unused: list[RevkvServer] = []

    def _start(self) -> RevkvServer:
        return RevkvServer(Path(tempfile.mkdtemp(dir=self._root))).start()

    def take(self) -> RevkvServer:
        if self._unused:
            return self._unused.pop()
        self._starting.append(self._executor.submit(self._start))
        return self._starting.popleft().result()

    def release(self, server: RevkvServer) -> None:
        if server.process is not None and _empty(server.url):
            self._unused.append(server)
        else:
            self._executor.submit(server.stop)

    def close(self) -> None:
        for server in [*self._unused, *(future.result() for future in self._starting)]:
            server.stop()
        self._executor.shutdown(wait=True)


def _empty(url: str) -> bool:
    try:
        health = httpx.get(url + "/health", timeout=5).json()
        return health["rev"] == 0 and httpx.get(url + "/ns", timeout=5).json() == []
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    servers = ServerPool(tmp_path_factory.mktemp("servers"))
    yield servers
    servers.close()


@pytest.fixture
def server(pool: ServerPool) -> Iterator[RevkvServer]:
    running = pool.take()
    yield running
    pool.release(running)


class SyncOverAsync:
    """An `AsyncClient` behind the synchronous Store interface, for the same suite."""

    def __init__(self, make: Callable[[], revkv.AsyncClient]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.client = self.run(self._made(make))

    @staticmethod
    async def _made(make: Callable[[], revkv.AsyncClient]) -> revkv.AsyncClient:
        return make()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if inspect.isasyncgenfunction(method):  # iter_*: the whole iteration, as a list
            return lambda *args, **kwargs: iter(self.run(_collect(method(*args, **kwargs))))
        return lambda *args, **kwargs: self.run(method(*args, **kwargs))

    def namespace(self, name: str) -> revkv.NamespaceView:
        """The handle is synchronous: over this adapter, as over `Client`."""
        return revkv.NamespaceView(self, name)

    @property
    def rev(self) -> int:
        return self.run(self.client.rev)

    def watch(self, *args: Any, **kwargs: Any) -> SyncWatch:
        return SyncWatch(self, self.run(self.client.watch(*args, **kwargs)))

    def close(self) -> None:
        self.run(self.client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


async def _collect(items: AsyncIterator[T]) -> list[T]:
    return [item async for item in items]


class SyncWatch:
    def __init__(self, adapter: SyncOverAsync, watch: revkv.client.AsyncWatch) -> None:
        self._adapter = adapter
        self._watch = watch

    def next(self, timeout: float | None = None) -> Event | None:
        return self._adapter.run(self._watch.anext(timeout))

    def close(self) -> None:
        self._adapter.run(self._watch.close())

    def __enter__(self) -> SyncWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OverHttp(StoreTests):
    """The suite as it is: over HTTP every check holds as in process."""

    sizes = False  # a client has no stats(): `revkv stats --url` reads GET /stats


class TestClient(OverHttp):
    durable = True

    @pytest.fixture
    def opened(self, server: RevkvServer) -> Iterator[list[revkv.Client]]:
        clients = [revkv.Client(server.url)]
        yield clients
        clients[-1].close()

    @pytest.fixture
    def store(self, opened: list[revkv.Client]) -> revkv.Client:
        return opened[0]

    @pytest.fixture
    def reopen(self, opened: list[revkv.Client], server: RevkvServer) -> Callable[[], revkv.Client]:
        def again() -> revkv.Client:
            opened[-1].close()
            server.stop()
            server.start()  # the same data directory and port
            opened.append(revkv.Client(server.url))
            return opened[-1]

        return again


class TestAsyncClient(OverHttp):
    durable = True

    @pytest.fixture
    def opened(self, server: RevkvServer) -> Iterator[list[SyncOverAsync]]:
        adapters = [SyncOverAsync(lambda: revkv.AsyncClient(server.url))]
        yield adapters
        adapters[-1].close()

    @pytest.fixture
    def store(self, opened: list[SyncOverAsync]) -> SyncOverAsync:
        return opened[0]

    @pytest.fixture
    def reopen(
        self, opened: list[SyncOverAsync], server: RevkvServer
    ) -> Callable[[], SyncOverAsync]:
        def again() -> SyncOverAsync:
            opened[-1].close()
            server.stop()
            server.start()
            opened.append(SyncOverAsync(lambda: revkv.AsyncClient(server.url)))
            return opened[-1]

        return again


NO_STREAMS = (
    "httpx.ASGITransport returns a response only once it is complete; an SSE stream never is"
)


class TestAsyncClientInProcess(OverHttp):
    """Through the real app without a socket (STYLE: put the transport behind a seam)."""

    @pytest.fixture
    def store(self) -> Iterator[SyncOverAsync]:
        service = open_service(sweep_interval=0.05)
        transport = httpx.ASGITransport(create_app(service))
        adapter = SyncOverAsync(lambda: revkv.AsyncClient("http://revkv", transport=transport))
        yield adapter
        adapter.close()
        service.close()

    @pytest.mark.skip(reason=NO_STREAMS)
    def test_watch_catches_up_then_follows_live(self, store: Any) -> None: ...

    @pytest.mark.skip(reason=NO_STREAMS)
    def test_watch_times_out_quietly(self, store: Any) -> None: ...
