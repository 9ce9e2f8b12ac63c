"""Alerts: what the service announces on the `alerts` exchange, and when.

- `log_on_set`: every commit to an endpoint's key, from any door (a dripline `set`, an
  HTTP PUT, the CLI), is announced as ``<alert_routing_key>.<endpoint>`` (by default
  ``sensor_value.peaches``) with ``{"value_raw", "value_cal"}``: the alert follows the
  store's change feed, not the dripline requests, so no write goes unannounced.
- the periodic logger: every ``log_interval`` seconds while ``logging_status`` is on,
  the value is read and announced if dripline's rule says so: always when neither
  ``max_interval`` nor ``max_fractional_change`` is set, else when ``max_interval``
  seconds have passed since the last announcement, or the value moved by more than
  ``max_fractional_change`` of the last one announced.
- ``publish_commits``: each commit of those namespaces as ``revkv.commit.<ns>.<key>``
  with its meta and ``rev``, so a consumer that was away can catch up from
  ``GET /changes?since=REV`` over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from revkv._model import Commit, Event
from revkv.dripline._config import EndpointConfig, ServiceConfig
from revkv.dripline._handler import calibrated
from revkv.dripline._keys import Keys
from revkv.errors import RevkvError

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], Awaitable[None]]
RETRY_FOLLOW = 1.0


class Alerts:
    """The alert tasks of one service: the change follower and one logger per endpoint."""

    def __init__(self, config: ServiceConfig, keys: Keys, publish: Publish) -> None:
        self.config = config
        self.keys = keys
        self.publish = publish
        self._by_key = {(e.namespace, e.name): e for e in config.endpoints}
        self._wakeups = {e.name: asyncio.Event() for e in config.endpoints}
        self._last: dict[str, tuple[float, Decimal | str]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._follow(), name="dripline-follow"))
        for endpoint in self.config.endpoints:
            task = asyncio.create_task(self._logger(endpoint), name=f"dripline-log-{endpoint.name}")
            self._tasks.append(task)

    def settings_changed(self, endpoint: EndpointConfig | None) -> None:
        """Wake the logger of `endpoint` (all when None) to read its new interval."""
        for name, event in self._wakeups.items():
            if endpoint is None or endpoint.name == name:
                event.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    # -- the change feed ---------------------------------------------------------------

    async def _follow(self) -> None:
        wanted = set(self.config.publish_commits)
        if not wanted and not self.config.endpoints:
            return  # (an endpoint may turn log_on_set on at any time: follow when there are any)
        while True:
            try:
                async for event in self.keys.follow():
                    await self._announce(event, wanted)
            except RevkvError as error:  # fell behind, or the server went away: follow anew
                log.warning("dripline alerts: the change feed stopped (%s); following again", error)
            await asyncio.sleep(RETRY_FOLLOW)

    async def _announce(self, event: Event, wanted: set[str]) -> None:
        commit = event.commit
        if commit is None:
            return
        if commit.namespace in wanted:
            await self.publish(f"revkv.commit.{commit.namespace}.{commit.key}", _commit(event))
        endpoint = self._by_key.get((commit.namespace, commit.key))
        if endpoint is not None and endpoint.settings.log_on_set and not commit.deleted:
            await self._sensor_value(endpoint, commit)

    async def _sensor_value(self, endpoint: EndpointConfig, commit: Commit) -> None:
        try:
            payload = calibrated(endpoint, commit)
        except RevkvError as error:
            payload = {"value_raw": commit.payload.decode("utf-8", "replace"), "memo": str(error)}
        self._last[endpoint.name] = (time.monotonic(), _number(payload["value_raw"]))
        await self.publish(f"{endpoint.settings.alert_routing_key}.{endpoint.name}", payload)

    # -- the periodic logger ---------------------------------------------------------

    async def _logger(self, endpoint: EndpointConfig) -> None:
        wakeup = self._wakeups[endpoint.name]
        while True:
            settings = endpoint.settings
            interval = float(settings.log_interval) if settings.logging_status else 0.0
            wakeup.clear()
            if interval <= 0:
                await wakeup.wait()
                continue
            try:
                await asyncio.wait_for(wakeup.wait(), interval)
                continue  # settings changed: start the new interval now
            except TimeoutError:
                pass
            try:
                await self._log_once(endpoint)
            except RevkvError as error:
                log.warning("dripline: logging %s failed: %s", endpoint.name, error)

    async def _log_once(self, endpoint: EndpointConfig) -> None:
        commit = await self.keys.read(endpoint.namespace, endpoint.name)
        if commit is None:
            return
        value = _number(commit.payload.decode("utf-8", "replace"))
        if self._due(endpoint, value):
            await self._sensor_value(endpoint, commit)

    def _due(self, endpoint: EndpointConfig, value: Decimal | str) -> bool:
        settings = endpoint.settings
        last = self._last.get(endpoint.name)
        if last is None or not (settings.max_interval or settings.max_fractional_change):
            return True
        when, before = last
        if settings.max_interval and time.monotonic() - when >= settings.max_interval:
            return True
        if not settings.max_fractional_change:
            return False
        if isinstance(value, str) or isinstance(before, str):
            return value != before
        if before == 0:
            return value != 0
        return abs(value - before) / abs(before) > settings.max_fractional_change


def _number(text: str) -> Decimal | str:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return number if number.is_finite() else text


def _commit(event: Event) -> dict[str, Any]:
    commit = event.commit
    assert commit is not None
    try:
        value: str | None = commit.payload.decode("utf-8")
    except UnicodeDecodeError:
        value = None  # binary: read it over HTTP
    return {
        "event": event.type,
        "namespace": commit.namespace,
        "key": commit.key,
        "version": commit.version,
        "rev": commit.rev,
        "author": commit.author,
        "comment": commit.comment,
        "mtime": commit.mtime,
        "deleted": commit.deleted,
        "value": value,
    }
