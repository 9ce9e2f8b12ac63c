"""A dripline service's YAML file, in either layout the kv_store tutorial shows.

dragonfly 1.0::

    name: my_store            # the service: its queue, and a target for cmd lock|unlock|ping
    module: Spimescape        # optional
    broker: localhost
    endpoints:
      - name: my_price_list   # a kv_store provider: a revkv namespace
        module: kv_store
        endpoints:
          - name: peaches     # a kv_store_key endpoint: a key of that namespace
            module: kv_store_key
            calibration: '2*{}'
            initial_value: 0.75

the older layout says ``nodename:`` and ``providers:`` instead of ``name:`` and
``endpoints:``. Only `kv_store` and `kv_store_key` are served; `module_path` (loading
code named by a config file) is refused, and so is a setting no endpoint has, so a
typo is an error at start-up rather than a silently ignored line. revkv's own
addition: ``publish_commits: [namespace, ...]``, whose every commit, from any door,
is announced on the alerts exchange as ``revkv.commit.<namespace>.<key>``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from revkv._model import check_namespace_name
from revkv.dripline._calibration import Calibration

log = logging.getLogger(__name__)

SERVICE_MODULES = {None, "Spimescape", "Service", "Portal"}
ENDPOINT_SETTINGS = {
    "initial_value", "calibration", "set_value_map", "set_value_lowercase", "get_on_set",
    "log_on_set", "log_interval", "max_interval", "max_fractional_change",
    "alert_routing_key", "logging_status",
}  # fmt: skip
ON = ("on", "true", "yes", "1")
OFF = ("off", "false", "no", "0")
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")


class ConfigError(ValueError):
    """A dripline YAML file revkv cannot serve; the message names the place and the fix."""


@dataclass
class EndpointSettings:
    """What one `kv_store_key` may change at run time (`set peaches.log_interval 10`)."""

    calibration: Calibration | None = None
    set_value_map: dict[Any, Any] | None = None
    set_value_lowercase: bool = False
    get_on_set: bool = False
    log_on_set: bool = False
    log_interval: Decimal = Decimal(0)
    max_interval: Decimal = Decimal(0)
    max_fractional_change: Decimal = Decimal(0)
    alert_routing_key: str = "sensor_value"
    logging_status: bool = False


@dataclass
class EndpointConfig:
    name: str  # the key, and its routing key
    namespace: str  # its provider's name
    initial_value: Any = None
    settings: EndpointSettings = field(default_factory=EndpointSettings)


@dataclass
class ServiceConfig:
    name: str
    broker: str | None = None
    providers: list[str] = field(default_factory=list)
    endpoints: list[EndpointConfig] = field(default_factory=list)
    publish_commits: list[str] = field(default_factory=list)

    def endpoint(self, name: str) -> EndpointConfig | None:
        return next((e for e in self.endpoints if e.name == name), None)


def load_config(path: str | Path) -> ServiceConfig:
    """Read and check a dripline YAML file (`ConfigError` says what is wrong and where)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    return parse_config(document, str(path))


def parse_config(document: Any, where: str = "the configuration") -> ServiceConfig:
    if not isinstance(document, dict):
        raise ConfigError(f"{where}: expected a mapping with `name` and `endpoints`")
    _no_code(document, where)
    name = document.get("name", document.get("nodename"))
    module = document.get("module")
    if module not in SERVICE_MODULES:
        raise ConfigError(f"{where}: the service's module {module!r} is not served by revkv")
    config = ServiceConfig(name=_name(name, f"{where}: the service"), broker=document.get("broker"))
    if config.broker is not None and not isinstance(config.broker, str):
        raise ConfigError(f"{where}: broker is a host name or an amqp:// URL")
    children = document.get("endpoints", document.get("providers")) or []
    if not isinstance(children, list):
        raise ConfigError(f"{where}: endpoints (or providers) is a list")
    for child in children:
        _provider(config, child, where)
    config.publish_commits = _namespaces(document.get("publish_commits", []), where)
    _setup_calls(config, document.get("setup_calls"), where)
    seen: set[str] = {config.name}
    for target in [*config.providers, *(e.name for e in config.endpoints)]:
        if target in seen:
            raise ConfigError(f"{where}: the name {target!r} is used twice; names route requests")
        seen.add(target)
    return config


def _no_code(block: dict[str, Any], where: str) -> None:
    if "module_path" in block:
        raise ConfigError(
            f"{where}: module_path is refused: revkv loads no code named by a configuration "
            "file; it serves kv_store providers and kv_store_key endpoints"
        )


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise ConfigError(
            f"{what} needs a name: a letter, then letters, digits, '_' or '-' (up to 64), "
            f"not {value!r} (a '.' would be read as an attribute)"
        )
    return value


def _provider(config: ServiceConfig, block: Any, where: str) -> None:
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: each provider is a mapping with name, module, endpoints")
    _no_code(block, where)
    name = _name(block.get("name"), f"{where}: a provider")
    here = f"{where}: provider {name!r}"
    if block.get("module") != "kv_store":
        raise ConfigError(
            f"{here}: module {block.get('module')!r} is not served; revkv serves kv_store"
        )
    unknown = set(block) - {"name", "module", "endpoints"}
    if unknown:
        raise ConfigError(f"{here}: unknown settings {sorted(unknown)}")
    check_namespace_name(name)
    config.providers.append(name)
    for child in block.get("endpoints") or []:
        config.endpoints.append(_endpoint(child, name, here))


def _endpoint(block: Any, namespace: str, where: str) -> EndpointConfig:
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: each endpoint is a mapping with name and module")
    _no_code(block, where)
    name = _name(block.get("name"), f"{where}: an endpoint")
    here = f"{where}, endpoint {name!r}"
    if block.get("module") != "kv_store_key":
        raise ConfigError(
            f"{here}: module {block.get('module')!r} is not served; revkv serves kv_store_key"
        )
    unknown = set(block) - {"name", "module"} - ENDPOINT_SETTINGS
    if unknown:
        raise ConfigError(
            f"{here}: unknown settings {sorted(unknown)}; known: {sorted(ENDPOINT_SETTINGS)}"
        )
    endpoint = EndpointConfig(name, namespace, block.get("initial_value"))
    for attribute in ENDPOINT_SETTINGS - {"initial_value"}:
        if attribute in block:
            try:
                set_attribute(endpoint, attribute, block[attribute])
            except ValueError as error:
                raise ConfigError(f"{here}: {error}") from None
    return endpoint


def set_attribute(endpoint: EndpointConfig, attribute: str, value: Any) -> None:
    """Change one endpoint setting, checked (`ValueError` saying what it must be)."""
    settings = endpoint.settings
    if attribute == "calibration":
        settings.calibration = None if value is None else Calibration(value, endpoint.name)
    elif attribute == "set_value_map":
        if value is not None and not isinstance(value, dict):
            raise ValueError("set_value_map is a mapping of set values to stored values")
        settings.set_value_map = value
    elif attribute in ("log_interval", "max_interval", "max_fractional_change"):
        setattr(settings, attribute, _seconds(attribute, value))
    elif attribute in ("set_value_lowercase", "get_on_set", "log_on_set", "logging_status"):
        setattr(settings, attribute, as_bool(attribute, value))
    elif attribute == "alert_routing_key":
        if not isinstance(value, str) or not value:
            raise ValueError("alert_routing_key is a routing key such as sensor_value")
        settings.alert_routing_key = value
    else:
        raise ValueError(f"no setting {attribute!r}; known: {sorted(ENDPOINT_SETTINGS)}")


def get_attribute(endpoint: EndpointConfig, attribute: str) -> Any:
    if attribute == "name":
        return endpoint.name
    if attribute == "initial_value":
        return endpoint.initial_value
    if attribute not in ENDPOINT_SETTINGS:
        raise ValueError(
            f"no attribute {attribute!r}; known: {sorted({'name', *ENDPOINT_SETTINGS})}"
        )
    value = getattr(endpoint.settings, attribute)
    if attribute == "calibration":
        return None if value is None else value.spec
    return value


def _seconds(attribute: str, value: Any) -> Decimal:
    try:
        number = Decimal(value if isinstance(value, str) else repr(value))
    except ArithmeticError:
        number = Decimal(-1)
    if isinstance(value, bool) or not number.is_finite() or number < 0:
        raise ValueError(f"{attribute} is a number >= 0, not {value!r}")
    return number


def as_bool(attribute: str, value: Any) -> bool:
    """YAML's and dripline's ways of saying on and off."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in (*ON, *OFF):
        return value.lower() in ON
    raise ValueError(f"{attribute} is on or off (true/false, 1/0), not {value!r}")


def _namespaces(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: publish_commits is a list of namespace names")
    for name in value:
        check_namespace_name(name)
    return list(value)


def _setup_calls(config: ServiceConfig, calls: Any, where: str) -> None:
    """dragonfly's `setup_calls`: `logging_status` is applied; an `on_set` at every start
    would overwrite what was set since, so it is skipped (the store keeps values)."""
    for call in calls or []:
        if not isinstance(call, dict):
            raise ConfigError(f"{where}: each setup call is a mapping with target and method")
        target = call.get("target")
        specifier = (call.get("kwargs") or {}).get("routing_key_specifier")
        if call.get("method") == "on_set" and specifier == "logging_status":
            status = as_bool("logging_status", call.get("args"))
            for endpoint in config.endpoints:
                if target in (endpoint.name, endpoint.namespace, config.name):
                    endpoint.settings.logging_status = status
        else:
            log.warning(
                "%s: setup call %s %s skipped: values live in the store, set them with "
                "`revkv dripline set`",
                where, target, call.get("method"),
            )  # fmt: skip
