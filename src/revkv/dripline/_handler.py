"""What a dripline request does: routing key and message in, retcode and payload out.

No AMQP here (that is `_service.py`): this is the door's logic, translating each request
into calls on the store (`_keys.Keys`) and each error into a retcode through
`_wire.RETCODE`. Targets are the service's name, its providers (namespaces), their
endpoints (keys) and ``broadcast``; a routing key ``peaches.log_interval`` is endpoint
``peaches`` with the specifier ``log_interval`` (an attribute, or a command for `cmd`).

Values: a number is stored as its exact decimal text, truncated to hundredths as
kv_store does (``1.79`` stays ``1.79``: dripline's float modulo gave 1.78); anything
else is stored as the string. The lockout is the whole service's, as dripline's.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from revkv._model import Commit
from revkv.dripline._config import (
    EndpointConfig,
    ServiceConfig,
    as_bool,
    get_attribute,
    set_attribute,
)
from revkv.dripline._keys import Keys
from revkv.dripline._wire import MsgOp, MsgType, retcode_for
from revkv.errors import (
    InvalidRequest,
    InvalidValue,
    Locked,
    MalformedMessage,
    RevkvError,
    UnsupportedOperation,
    VersionConflict,
)

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
Result = tuple[int, str, Any]


class Handler:
    """The requests of one configured service, over one store."""

    def __init__(self, config: ServiceConfig, keys: Keys) -> None:
        self.config = config
        self.keys = keys
        self.lockout_key: str | None = None
        self._endpoints = {e.name: e for e in config.endpoints}
        #: called with the endpoint whose settings a request changed (the logger reschedules)
        self.on_settings: Callable[[EndpointConfig | None], None] = lambda endpoint: None

    @property
    def targets(self) -> list[str]:
        """The first words of the routing keys this service answers."""
        return [self.config.name, *self.config.providers, *self._endpoints, "broadcast"]

    async def start(self) -> None:
        """Create the namespaces and commit each `initial_value` whose key has none yet."""
        for namespace in self.config.providers:
            await self.keys.ensure_namespace(namespace)
        for endpoint in self.config.endpoints:
            if endpoint.initial_value is None:
                continue
            with contextlib.suppress(VersionConflict):  # it has a value: a restart keeps it
                await self.keys.write(
                    endpoint.namespace, endpoint.name, stored_text(endpoint.initial_value),
                    expect="absent", author="dripline", comment="initial_value",
                )  # fmt: skip

    async def handle(self, routing_key: str, message: dict[str, Any]) -> Result:
        """The reply to one decoded request: (retcode, return_msg, payload)."""
        try:
            return await self._handle(routing_key, message)
        except RevkvError as error:
            return retcode_for(error), error.message, None
        except Exception as error:
            log.exception("dripline request %s failed", routing_key)
            return retcode_for(error), f"unhandled {type(error).__name__}: {error}", None

    async def _handle(self, routing_key: str, message: dict[str, Any]) -> Result:
        if message.get("msgtype", MsgType.REQUEST) != MsgType.REQUEST:
            raise MalformedMessage(f"msgtype {message.get('msgtype')!r} is not a request (3)")
        try:
            op = MsgOp(message["msgop"])
        except (KeyError, ValueError, TypeError):
            raise UnsupportedOperation(
                f"msgop {message.get('msgop')!r} is not one of "
                + ", ".join(f"{o.value} ({o.name.lower()})" for o in MsgOp),
                str(message.get("msgop")),
            ) from None
        payload = message.get("payload", {})
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise InvalidRequest("the payload is an object: {'values': [...], ...}")
        values = payload.get("values", [])
        if not isinstance(values, list):
            values = [values]
        target, _, specifier = routing_key.partition(".")
        if target == "broadcast":
            return self._command(specifier, values, payload, message, broadcast=True)
        if op is MsgOp.CMD:
            return self._command(specifier or _first(values), values[0 if specifier else 1 :],
                                 payload, message)  # fmt: skip
        if op is not MsgOp.GET:
            self._check_lockout(message, target)
        endpoint = self._endpoints.get(target)
        if target in self.config.providers or target == self.config.name:
            return self._container(target, op, specifier, values)
        if endpoint is None:
            raise UnsupportedOperation(f"this service does not serve {target!r}", target)
        if op is MsgOp.CONFIG:  # deprecated: config attribute [value]
            specifier, values = _first(values), values[1:]
            op = MsgOp.SET if values else MsgOp.GET
        if op is MsgOp.GET:
            if specifier or values:
                attribute = get_attribute_or_refuse(endpoint, specifier or _first(values))
                return 0, "", {"values": [_plain(attribute)]}
            return 0, "", await self.get(endpoint)
        if op is MsgOp.SET:
            if specifier or len(values) == 2:
                attribute = specifier or _first(values)
                value = values[0] if specifier else values[1]
                return self._set_attribute(endpoint, attribute, value)
            if not values:
                raise InvalidRequest(f"set {target} needs a value: payload {{'values': [v]}}")
            author = _username(message)
            return 0, "", await self.set(endpoint, values[0], author)
        raise UnsupportedOperation(f"{target} does not support {op.name.lower()}", op.name.lower())

    # -- the operations --------------------------------------------------------------

    async def get(self, endpoint: EndpointConfig) -> dict[str, Any]:
        commit = await self.keys.read(endpoint.namespace, endpoint.name)
        if commit is None:
            raise InvalidValue(
                f"{endpoint.name} has no value (key {endpoint.name!r} of namespace "
                f"{endpoint.namespace!r} was deleted or never set): set it first"
            )
        return calibrated(endpoint, commit)

    async def set(self, endpoint: EndpointConfig, value: Any, author: str) -> Any:
        text = stored_text(mapped(endpoint, value))
        # last writer wins, as in dripline; the store orders concurrent writers from
        # every door, and each write is one atomic commit (no read-modify-write here)
        await self.keys.write(
            endpoint.namespace, endpoint.name, text,
            expect=None, author=author, comment="dripline set",
        )  # fmt: skip
        if endpoint.settings.get_on_set:
            return await self.get(endpoint)
        return text

    def _set_attribute(self, endpoint: EndpointConfig, attribute: str, value: Any) -> Result:
        if attribute == "name":
            raise InvalidValue("an endpoint's name is its routing key: it cannot change")
        try:
            set_attribute(endpoint, attribute, _plain(value))
        except ValueError as error:
            raise InvalidValue(f"{endpoint.name}: {error}") from None
        self.on_settings(endpoint)
        return 0, "", {"values": [_plain(get_attribute(endpoint, attribute))]}

    def _container(self, target: str, op: MsgOp, specifier: str, values: list[Any]) -> Result:
        """The service and its providers: `get` lists endpoints; `logging_status` on/off."""
        members = [e for e in self.config.endpoints if target in (e.namespace, self.config.name)]
        if op is MsgOp.SEND and target in self.config.providers:
            log.info("%s asked to send: %r", target, values)  # what kv_store.send does
            return 0, "", None
        attribute = specifier or (_first(values) if values else "")
        if op is MsgOp.GET and not attribute:
            return 0, "", {"values": [e.name for e in members]}
        if attribute != "logging_status":
            raise UnsupportedOperation(
                f"{target} offers get (its endpoints) and logging_status, not "
                f"{op.name.lower()} {attribute}".rstrip(),
                op.name.lower(),
            )
        if op is MsgOp.GET:
            on = any(e.settings.logging_status for e in members)
            return 0, "", {"values": ["on" if on else "off"]}
        if op is MsgOp.SET and values:
            try:
                status = as_bool("logging_status", _plain(values[-1]))
            except ValueError as error:
                raise InvalidValue(str(error)) from None
            for endpoint in members:
                endpoint.settings.logging_status = status
                self.on_settings(endpoint)
            return 0, "", {"values": ["on" if status else "off"]}
        raise UnsupportedOperation(f"{target} does not support {op.name.lower()}", op.name.lower())

    def _command(
        self,
        command: Any,
        args: list[Any],
        payload: dict[str, Any],
        message: dict[str, Any],
        *,
        broadcast: bool = False,
    ) -> Result:
        if command == "ping":
            return 0, f"{self.config.name} is alive", None
        if command == "lock":
            return self._lock(message)
        if command == "unlock":
            return self._unlock(message, payload)
        if command == "set_condition" and broadcast:
            condition = args[0] if args else payload.get("values", [None])[0]
            if isinstance(condition, bool) or not isinstance(condition, int):
                raise InvalidValue(f"set_condition takes an integer, not {condition!r}")
            return 0, "", None
        self._check_lockout(message, str(command))
        raise UnsupportedOperation(
            f"no command {command!r}: this service offers lock, unlock and ping", str(command)
        )

    # -- lockout ---------------------------------------------------------------------

    def _check_lockout(self, message: dict[str, Any], target: str) -> None:
        if self.lockout_key is None:
            return
        if _key(message.get("lockout_key")) != self.lockout_key:
            raise Locked(
                f"{self.config.name} is locked: {target} needs the lockout key "
                f"(--lockout-key), or `cmd {self.config.name} unlock` with force",
                target,
            )

    def _lock(self, message: dict[str, Any]) -> Result:
        given = _key(message.get("lockout_key"))
        if self.lockout_key is not None and given != self.lockout_key:
            raise Locked(f"{self.config.name} is already locked by someone else", self.config.name)
        self.lockout_key = given or uuid.uuid4().hex
        return 0, "", {"key": self.lockout_key}

    def _unlock(self, message: dict[str, Any], payload: dict[str, Any]) -> Result:
        if self.lockout_key is None:
            return 0, "not locked: no action taken", None
        force = payload.get("force") is True
        if not force and _key(message.get("lockout_key")) != self.lockout_key:
            raise Locked(
                f"{self.config.name} is locked; unlock needs its key, or force=true",
                self.config.name,
            )
        self.lockout_key = None
        return 0, "", None


def get_attribute_or_refuse(endpoint: EndpointConfig, attribute: Any) -> Any:
    try:
        return get_attribute(endpoint, str(attribute))
    except ValueError as error:
        raise UnsupportedOperation(f"{endpoint.name}: {error}", str(attribute)) from None


def calibrated(endpoint: EndpointConfig, commit: Commit) -> dict[str, Any]:
    """`{"value_raw": "0.75", "value_cal": 1.50}` (no value_cal without a calibration)."""
    raw = commit.payload.decode("utf-8", "replace")
    result: dict[str, Any] = {"value_raw": raw}
    calibration = endpoint.settings.calibration
    if calibration is not None:
        result["value_cal"] = calibration(raw)
    return result


def mapped(endpoint: EndpointConfig, value: Any) -> Any:
    """`set_value_lowercase`, then `set_value_map` (a value not in it: 304)."""
    settings = endpoint.settings
    if isinstance(value, str) and settings.set_value_lowercase:
        value = value.lower()
    if settings.set_value_map is None:
        return value
    for key, stored in settings.set_value_map.items():
        if key == value or str(key) == str(value):
            return stored
    raise InvalidValue(
        f"{endpoint.name} cannot be set to {value!r}; it takes "
        + ", ".join(repr(k) for k in settings.set_value_map)
    )


def stored_text(value: Any) -> str:
    """A number as exact decimal text, cut to hundredths (kv_store's rule, done exactly);
    anything else as its string."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return value
        if not number.is_finite():
            return value
    else:
        raise InvalidValue(f"a value is a number or a string, not {type(value).__name__}")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        number = number.quantize(CENT, rounding=ROUND_FLOOR)
    return str(number)


def _plain(value: Any) -> Any:
    """Decimals back to what a setting holds: an int when whole, else the Decimal."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _first(values: list[Any]) -> Any:
    return values[0] if values else ""


def _key(value: Any) -> str | None:
    return value.replace("-", "") if isinstance(value, str) and value else None


def _username(message: dict[str, Any]) -> str:
    sender = message.get("sender_info")
    name = sender.get("username") if isinstance(sender, dict) else None
    return name if isinstance(name, str) and name else "dripline"
