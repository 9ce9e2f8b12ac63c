"""The dripline YAML file: both layouts, refusals that name the place, safe calibrations,
exact stored values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from revkv.dripline._calibration import Calibration
from revkv.dripline._config import ConfigError, load_config, parse_config
from revkv.dripline._handler import stored_text
from revkv.dripline._wire import JSON, MSGPACK, decode, encode, retcode_for
from revkv.errors import InvalidValue, KeyNotFound, Locked, MalformedMessage, VersionConflict

TUTORIAL = Path(__file__).parents[1] / "dripline" / "kv_store_tutorial.yaml"

OLD_LAYOUT = """
nodename: my_store
broker: localhost
providers:
  - name: my_price_list
    module: kv_store
    endpoints:
      - name: peaches
        module: kv_store_key
        initial_value: 0.75
      - name: waffles
        module: kv_store_key
        initial_value: 4.00
"""


def test_the_tutorial_file_loads() -> None:
    config = load_config(TUTORIAL)
    assert (config.name, config.broker, config.providers) == (
        "my_store",
        "localhost",
        ["my_price_list"],
    )
    assert [e.name for e in config.endpoints] == ["peaches", "chips", "waffles", "peaches_status"]
    peaches = config.endpoint("peaches")
    assert peaches is not None
    assert peaches.settings.log_interval == 30 and peaches.settings.get_on_set


def test_the_older_layout_loads(tmp_path: Path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(OLD_LAYOUT)
    config = load_config(path)
    assert config.name == "my_store"
    assert [(e.namespace, e.name, e.initial_value) for e in config.endpoints] == [
        ("my_price_list", "peaches", 0.75), ("my_price_list", "waffles", 4.0),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"module_path": "evil.py"}, "module_path is refused"),
        ({"module": "Nope"}, "not served"),
    ],
)
def test_code_loading_and_unknown_modules_are_refused(change: dict[str, str], words: str) -> None:
    document = {"name": "s", "endpoints": [{"name": "p", "module": "kv_store", "endpoints": [
        {"name": "k", "module": "kv_store_key", **change}]}]}  # fmt: skip
    with pytest.raises(ConfigError, match=words):
        parse_config(document)


def test_an_unknown_setting_is_an_error_naming_the_endpoint() -> None:
    document = {"name": "s", "endpoints": [{"name": "p", "module": "kv_store", "endpoints": [
        {"name": "k", "module": "kv_store_key", "log_intervall": 3}]}]}  # fmt: skip
    with pytest.raises(ConfigError, match=r"endpoint 'k'.*log_intervall"):
        parse_config(document)


@pytest.mark.parametrize(
    "calibration",
    ["__import__('os').system('true')", "{}.real", "[{}]", "open('/etc/passwd')", "lambda: {}",
     "().__class__", "{}if 1 else 2", "'x'*{}"],
)  # fmt: skip
def test_a_calibration_that_is_not_arithmetic_is_refused_at_load(calibration: str) -> None:
    document = {"name": "s", "endpoints": [{"name": "p", "module": "kv_store", "endpoints": [
        {"name": "peaches", "module": "kv_store_key", "calibration": calibration}]}]}  # fmt: skip
    with pytest.raises(ConfigError, match=r"peaches.*not an arithmetic expression"):
        parse_config(document)


@pytest.mark.parametrize(
    ("spec", "raw", "cal"),
    [("2*{}", "0.75", Decimal("1.50")), ("{}*3", "1.79", Decimal("5.37")),
     ("1.*{}", "4.0", Decimal("4.00")), ("math.sqrt({})", "16", Decimal("4.0")),
     ("times2({})", "1.1", Decimal("2.2")), ("({}-32)*5/9", "212", Decimal(100))],
)  # fmt: skip
def test_calibrations_are_exact(spec: str, raw: str, cal: Decimal) -> None:
    assert Calibration(spec, "x")(raw) == cal


def test_calibration_failures_are_value_errors() -> None:
    with pytest.raises(InvalidValue):
        Calibration("2*{}", "x")("CLOSE")
    with pytest.raises(InvalidValue):
        Calibration("1/{}", "x")("0")
    with pytest.raises(InvalidValue):
        Calibration({"CLOSE": "on"}, "x")("HALF")
    with pytest.raises(InvalidValue):
        Calibration("{}**100000", "x")("2")


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("1.79"), "1.79"), (1.79, "1.79"), (0.75, "0.75"), (4.0, "4.0"), (3, "3"),
     (Decimal("1.234"), "1.23"), ("2.509", "2.50"), ("CLOSE", "CLOSE"), (True, "True")],
)  # fmt: skip
def test_values_are_stored_exactly_cut_to_hundredths(value: object, text: str) -> None:
    assert stored_text(value) == text


def test_bodies_round_trip_exactly_in_json_and_msgpack() -> None:
    message = {"msgop": 0, "payload": {"values": [Decimal("1.79")]}}
    assert decode(encode(message, JSON), JSON) == message
    assert decode(encode(message, MSGPACK), MSGPACK) == message
    with pytest.raises(MalformedMessage):
        decode(b"\xff\x00", JSON)
    with pytest.raises(MalformedMessage):
        decode(b"{}", "text/plain")


def test_errors_map_to_retcodes_by_class_hierarchy() -> None:
    assert retcode_for(Locked("locked")) == 307
    assert retcode_for(InvalidValue("bad")) == 304
    assert retcode_for(KeyNotFound("ns", "k")) == 304
    assert retcode_for(VersionConflict("ns", "k", 1, 2)) == 400
    assert retcode_for(RuntimeError("boom")) == 999
