"""The one JSON shape of a commit (`Meta.to_dict`, `Commit.from_dict`, `Event`), and its
times (`exact_time`, `parse_time`): exact both ways, and reading what older revkv wrote."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revkv._model import LATEST_TIME, Commit, Event, Meta, exact_time, iso_time, parse_time
from revkv.errors import InvalidRequest

COMMIT = Commit("ns", "a/b", 3, 17, 1764000000.0271235, "ann", "why", None, False, "", False,
                b"text")  # fmt: skip


@given(st.floats(min_value=0, max_value=LATEST_TIME))
def test_a_time_reads_back_as_the_same_float(seconds: float) -> None:
    text = exact_time(seconds)
    assert parse_time(text) == seconds
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,}Z", text)
    assert text[:19] == iso_time(seconds)[:19] or seconds % 1 > 0.999999  # the same second


def test_a_time_has_milliseconds_at_least_and_the_digits_it_has() -> None:
    assert exact_time(1764000000.5) == "2025-11-24T16:00:00.500Z"
    assert exact_time(1764000000.0271235) == "2025-11-24T16:00:00.0271235Z"
    assert exact_time(0.0) == "1970-01-01T00:00:00.000Z"
    assert exact_time(1e-05) == "1970-01-01T00:00:00.00001Z"


def test_times_are_read_in_iso_with_a_zone_or_as_epoch_seconds() -> None:
    assert parse_time("2025-11-24T17:00:00.5+01:00") == 1764000000.5
    assert parse_time("2025-11-24T16:00:00Z") == 1764000000.0
    assert parse_time(1764000000.25) == 1764000000.25  # an export written before ISO
    for bad in ("2025-11-24T16:00:00", "yesterday", "2025-13-01T00:00:00Z", True, None):
        with pytest.raises(InvalidRequest):
            parse_time(bad, "mtime")


def test_a_commit_goes_to_json_and_back() -> None:
    data = COMMIT.to_dict(payload=True)
    assert list(data) == ["namespace", "key", "version", "rev", "author", "comment", "mtime",
                          "expires", "deleted", "payload"]  # fmt: skip
    assert Commit.from_dict(json.loads(json.dumps(data))) == COMMIT
    assert Meta.from_dict(data) == COMMIT.meta
    assert COMMIT.to_dict() == COMMIT.meta.to_dict()  # without the payload, the meta


def test_a_binary_payload_travels_in_base64_and_marks_say_what_they_are() -> None:
    binary = Commit("ns", "k", 1, 1, 1.0, payload=b"\xff\x00", token="deploy", purged=False)
    data = binary.to_dict(payload=True)
    assert (data["payload_base64"], data["token"], "payload" in data) == ("/wA=", "deploy", False)
    assert Commit.from_dict(data) == binary
    purged = Commit("ns", "k", 1, 1, 1.0, purged=True)
    assert purged.to_dict()["purged"] is True and Commit.from_dict(purged.to_dict()) == purged


def test_older_spellings_are_read() -> None:
    """revkv's HTTP answers said `empty` (Rainer's word); its exports had epoch times and
    `"base64": true`; Rainer's listing says `payload_utf8`."""
    old = {"namespace": "ns", "key": "k", "version": 2, "rev": 5, "mtime": 12.5, "empty": True}
    assert Meta.from_dict(old).deleted is True
    export = {**old, "payload": "/w==", "base64": True, "deleted": False}
    assert (Commit.from_dict(export).payload, Commit.from_dict(export).deleted) == (b"\xff", False)
    assert Commit.from_dict({**old, "payload_utf8": "hi"}).payload == b"hi"


@pytest.mark.parametrize(
    "data",
    [
        {"key": "k", "version": 1, "mtime": 1.0},
        {"namespace": "ns", "key": "k", "version": "1", "mtime": 1.0},
        {"namespace": "ns", "key": "k", "version": 1, "mtime": 1.0, "deleted": "no"},
        {"namespace": "ns", "key": 5, "version": 1, "mtime": 1.0},
        {"namespace": "ns", "key": "k", "version": 1, "mtime": 1.0, "payload_base64": "!"},
        {"namespace": "ns", "key": "k", "version": 1, "mtime": 1.0, "payload": 5},
    ],
)
def test_a_malformed_commit_is_an_invalid_request_naming_the_fault(data: dict[str, object]) -> None:
    with pytest.raises(InvalidRequest):
        Commit.from_dict(data)


def test_an_event_goes_to_json_and_back() -> None:
    event = Event.of(COMMIT)
    data = event.to_dict(payloads=True)
    assert list(data) == ["type", "rev", "commit"]
    assert Event.from_dict(data) == event
    assert "payload" not in event.to_dict()["commit"]
    reset = Event("reset", 17, None, [COMMIT])
    assert Event.from_dict(reset.to_dict(payloads=True)) == reset
    with pytest.raises(InvalidRequest):
        Event.from_dict({"type": "rename", "rev": 1})
