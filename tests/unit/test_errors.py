"""The error tree: every class documented, mapped once to HTTP by its MRO, and carried
over the wire (fields and message) back into the same class."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from revkv import errors
from revkv.client._wire import error_of
from revkv.http._errors import error_response, status_for

CLASSES = [getattr(errors, name) for name in errors.__all__]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_class_says_why_it_exists(cls: type) -> None:
    assert cls.__doc__ and cls.__doc__.strip()
    assert "__doc__" in vars(cls)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.KeyNotFound("ns", "k"), 404),
        (errors.VersionConflict("ns", "k", 1, 2), 409),
        (errors.PreconditionFailed.of(errors.VersionConflict("ns", "k", 1, 2)), 412),
        (errors.TxnConflict([]), 409),
        (errors.PayloadTooLarge("big", 10), 413),
        (errors.QuerySyntaxError("bad", "x eq", 4), 400),
        (errors.Compacted(1, 5), 410),
        (errors.RevAhead(9, 5), 410),
        (errors.ManifestCorrupted(Path("SYSTEM"), "not JSON"), 503),
        (errors.JournalMissing(Path("j.log"), "gone", "restore it"), 503),
        (errors.ReadOnly("a replica"), 503),
        (errors.ReadOnlySystem("a replica", "10.0.0.1:5466"), 503),
        (errors.Busy("full"), 503),
        (errors.RevNotReached(9, 5, 2.0), 503),
        (errors.JournalFailed("disk gone"), 503),
        (errors.ClockMisuse("m", "time.time()"), 500),
    ],
)
def test_statuses_come_from_one_table_by_class_hierarchy(
    error: errors.RevkvError, status: int
) -> None:
    assert status_for(error) == status


def test_a_write_to_a_replica_is_503_naming_the_primary() -> None:
    response = error_response(errors.ReadOnlySystem("put() on a replica", "10.0.0.1:5466"))
    body = json.loads(bytes(response.body))["error"]
    assert (response.status_code, body["code"], body["primary"]) == (
        503, "ReadOnlySystem", "10.0.0.1:5466",
    )  # fmt: skip
    assert "the primary is 10.0.0.1:5466" in body["message"]


@pytest.mark.parametrize(
    "error",
    [
        errors.VersionConflict("ns", "k", "absent", 3, exists=True),
        errors.KeyNotFound("ns", "k"),
        errors.Compacted(4, 9),
        errors.RevAhead(9, 4),
        errors.TxnConflict([("ns", "k", 1, None)]),
        errors.ReadOnly("replica", "h:1"),
        errors.Busy("full", 5.0),
        errors.RevNotReached(9, 5, 2.0),
    ],
    ids=lambda error: type(error).__name__,
)
def test_an_error_crosses_the_wire_as_itself(error: errors.RevkvError) -> None:
    response = error_response(error)
    again = error_of(response.status_code, bytes(response.body))
    assert type(again) is type(error)
    assert str(again) == str(error)
    assert again.wire_fields() == error.wire_fields()
