"""Group commit for the SQL store: the writes that wait together share one transaction.

Every write's transaction must take the counter row (so that revs commit in order), so
writes commit one after the other, and each COMMIT waits for its WAL flush. One thread
per store (a `Committer`) therefore takes every write that queued while the previous
transaction committed and runs them all in the next one: one flush for many writes,
each still with a rev of its own, checked against what the ones before it wrote. A
write refused by its checks (a `RevkvError`) is undone alone and the others commit; a
transaction made only of refused writes is rolled back. Each transaction first locks
the head rows of every key its writes name, in key order, so two servers' groups never
wait on each other in a cycle.

Two committer threads overlap consecutive groups: the next group may begin, read its
settings and lock its heads while the previous one waits for its COMMIT's flush, but it
takes its turn (`_turn`) only after the previous group's revs were taken. Groups
therefore take revs, and commit, in the order they were formed — the writes one
thread queued keep their order — and the next group's locks wait for the previous
group's COMMIT wherever they share a key, as two servers' groups do.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Generator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from revkv._model import Commit
from revkv.errors import RevkvError
from revkv.store._sql_writes import Batch

log = logging.getLogger(__name__)

MAX_GROUP = 256
COMMITTERS = 2

#: A write's plan stages its rows in the batch and says how to make its result of its
#: commits.
Plan = Callable[[Batch], Callable[[list[Commit]], Any]]


@dataclass(slots=True)
class Job:
    plan: Plan
    keys: list[tuple[str, str]]
    create: bool
    future: Future[Any] = field(default_factory=Future)
    #: the future a coroutine awaits, on its loop (`JobPending`), once one does
    waiter: asyncio.Future[Any] | None = None


class JobPending:
    """A queued write: wait for it in a thread (`result`), or await it on a loop.

    An await is settled with the others of its group and loop in one wake-up
    (`Committer._wake`), not one `call_soon_threadsafe` per write as
    `asyncio.wrap_future` would make. The loop's future is made only when awaited, so a
    write waited for with `result()` leaves no unretrieved exception behind.
    """

    __slots__ = ("_job",)

    def __init__(self, job: Job) -> None:
        self._job = job

    def done(self) -> bool:
        return self._job.future.done()

    def result(self) -> Any:
        return self._job.future.result()

    def __await__(self) -> Generator[Any, None, Any]:
        job = self._job
        if not job.future.done():
            waiter = asyncio.get_running_loop().create_future()
            job.waiter = waiter
            if job.future.done():  # settled meanwhile, perhaps before it saw the waiter
                _settle([job])
            yield from waiter
        return job.future.result()


class Refused(Exception):
    """Every write of a group was refused: roll the transaction back."""

    def __init__(self, outcomes: list[tuple[bool, Any]]) -> None:
        super().__init__("every write was refused")
        self.outcomes = outcomes


class Transacting(Protocol):
    def transact_batch(self, work: Callable[[sa.Connection], Any]) -> Any: ...
    def advance(self, rev: int) -> None: ...
    def now(self) -> float: ...


class Committer:
    def __init__(self, store: Transacting) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.groups = 0  # transactions committed, and the writes in them: for stats()
        self.writes = 0
        self._turn = threading.Lock()  # held from taking jobs until their revs are taken
        self._threads = [
            threading.Thread(target=self._run, name=f"revkv-commit-{n}", daemon=True)
            for n in range(COMMITTERS)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> Future[Any]:
        self._queue.put(job)
        return job.future

    def _run(self) -> None:
        while True:
            self._turn.acquire()
            job = self._queue.get()
            if job is None:
                self._queue.put(None)  # for the other committers
                self._turn.release()
                return
            jobs = [job]
            while len(jobs) < MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this group
                    break
                jobs.append(more)
            self._commit(jobs)

    def _commit(self, jobs: list[Job]) -> None:
        """Commit `jobs` as one group; the turn, held on entry, passes on as soon as
        their revs are taken (or the group failed)."""
        released = False

        def pass_turn() -> None:
            nonlocal released
            if not released:
                released = True
                self._turn.release()

        try:
            outcomes: list[tuple[bool, Any]] = self._store.transact_batch(
                lambda connection: self._group(connection, jobs, pass_turn)
            )
        except Refused as refused:
            outcomes = refused.outcomes
        except BaseException as error:  # the database failed us: every writer learns it
            pass_turn()
            for job in jobs:
                job.future.set_exception(error)
            self._wake(jobs)
            return
        pass_turn()
        revs = [c.rev for ok, value in outcomes if ok for c in _commits(value)]
        if revs:
            self._store.advance(max(revs))
        for job, (ok, value) in zip(jobs, outcomes, strict=True):
            if ok:
                job.future.set_result(value[1])
            else:
                job.future.set_exception(value)
        self._wake(jobs)

    def _wake(self, jobs: list[Job]) -> None:
        """Wake the coroutines awaiting `jobs` (settled already): once per loop."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Job]] = {}
        for job in jobs:
            if job.waiter is not None:
                by_loop.setdefault(job.waiter.get_loop(), []).append(job)
        for loop, waiting in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, waiting)
            except RuntimeError:  # that loop is closed: nobody awaits there any more
                log.debug("a write's event loop closed before its commit")

    def _group(
        self, connection: sa.Connection, jobs: list[Job], pass_turn: Callable[[], None]
    ) -> list[tuple[bool, Any]]:
        batch = Batch(connection, self._store.now(), False)
        batch.begin(sorted({key for job in jobs for key in job.keys}))
        try:
            staged: list[tuple[bool, Any]] = []
            for job in jobs:
                batch.create = job.create
                mark = batch.mark()
                try:
                    staged.append((True, job.plan(batch)))
                except RevkvError as error:
                    batch.restore(mark)
                    staged.append((False, error))
                batch.end_group()
            if not any(ok for ok, _ in staged):
                raise Refused(staged)
            groups = batch.finish()
        except BaseException:
            batch.rollback()
            raise
        self.groups += 1  # under the turn: one committer counts at a time
        self.writes += len(jobs)
        pass_turn()  # the revs are ours: the next group may form while this one commits
        batch.commit()
        return [
            (True, (commits, make(commits))) if ok else (False, make)
            for (ok, make), commits in zip(staged, groups, strict=True)
        ]

    def stop(self) -> None:
        self._queue.put(None)
        for thread in self._threads:
            thread.join()


def _settle(jobs: list[Job]) -> None:
    """On the waiters' loop: end their awaits (the result is read from `job.future`)."""
    for job in jobs:
        if job.waiter is not None and not job.waiter.done():  # not cancelled, not twice
            job.waiter.set_result(None)


def _commits(value: tuple[list[Commit], Any]) -> list[Commit]:
    return value[0]
