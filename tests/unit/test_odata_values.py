"""revkv.http._odata.values and .literals: native, stored, Atom text, JSON and URL forms."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revkv.errors import SchemaViolation
from revkv.http._odata import literals, values
from revkv.http._odata.schema import Property
from revkv.http._odata.xmlns import XML_INVALID
from revkv.query import EdmType
from revkv.query._lex import Kind, tokenize

UTC = dt.UTC


def prop(edm: EdmType, **facets: Any) -> Property:
    return Property("P", edm, **facets)


# Native values of each type, within range and representable in every form.
_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=40
).filter(lambda s: XML_INVALID.search(s) is None)
_MOMENTS = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(UTC)
)
NATIVE: dict[EdmType, st.SearchStrategy[Any]] = {
    EdmType.STRING: _TEXT,
    EdmType.BOOLEAN: st.booleans(),
    EdmType.BYTE: st.integers(0, 255),
    EdmType.SBYTE: st.integers(-128, 127),
    EdmType.INT16: st.integers(-(2**15), 2**15 - 1),
    EdmType.INT32: st.integers(-(2**31), 2**31 - 1),
    EdmType.INT64: st.integers(-(2**63), 2**63 - 1),
    EdmType.DOUBLE: st.floats(allow_nan=False),
    EdmType.DECIMAL: st.decimals(allow_nan=False, allow_infinity=False, places=4),
    EdmType.GUID: st.uuids(),
    EdmType.BINARY: st.binary(max_size=40),
    EdmType.DATETIME: _MOMENTS.map(lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000)),
    EdmType.DATETIMEOFFSET: _MOMENTS.map(
        lambda m: m.replace(microsecond=0).astimezone(dt.timezone(dt.timedelta(hours=-5)))
    ),
    EdmType.TIME: st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(hours=23)),
}
TYPED = st.sampled_from(sorted(NATIVE, key=str)).flatmap(lambda t: st.tuples(st.just(t), NATIVE[t]))


@given(TYPED)
def test_stored_form_round_trips_through_json(case: tuple[EdmType, Any]) -> None:
    edm, value = case
    p = prop(edm)
    stored = values.to_stored(p, value)
    assert stored is None or isinstance(stored, (str, int, float, bool))
    assert values.from_stored(p, stored) == value


@given(TYPED)
def test_atom_text_round_trips(case: tuple[EdmType, Any]) -> None:
    edm, value = case
    p = prop(edm, precision=3 if edm in (EdmType.DATETIME, EdmType.DATETIMEOFFSET) else None)
    text = literals.to_text(p, value)
    assert text is not None
    assert literals.from_text(p, text) == value
    if edm is EdmType.BINARY:
        assert (
            literals.from_text(p, literals.to_text(p, value, hex_binary=True), hex_binary=True)
            == value
        )


@given(TYPED)
def test_verbose_json_round_trips(case: tuple[EdmType, Any]) -> None:
    edm, value = case
    p = prop(edm, precision=3 if edm is EdmType.DATETIMEOFFSET else None)
    assert literals.from_json(p, literals.to_json(p, value)) == value


@given(TYPED.filter(lambda c: c[0] is not EdmType.DOUBLE or math.isfinite(c[1])))
def test_uri_literals_read_back_through_the_filter_tokenizer(case: tuple[EdmType, Any]) -> None:
    edm, value = case
    p = prop(edm, precision=3 if edm in (EdmType.DATETIME, EdmType.DATETIMEOFFSET) else None)
    token = tokenize(literals.uri_literal(p, value))[0]
    assert token.kind is Kind.LITERAL
    assert literals.coerce_literal(p, token.value, token.edm_type) == value


@given(TYPED.filter(lambda c: c[0] not in (EdmType.DOUBLE,)))
def test_key_text_round_trips(case: tuple[EdmType, Any]) -> None:
    edm, value = case
    p = prop(edm, nullable=False)
    assert values.key_from_text(p, values.key_text(p, value)) == value


class TestCheckValue:
    @pytest.mark.parametrize(
        ("edm", "value", "message"),
        [
            (EdmType.STRING, 5, "expected a Edm.String value, got int"),
            (EdmType.INT32, True, "got bool"),
            (EdmType.INT32, 2**31, "out of range"),
            (EdmType.INT16, -(2**15) - 1, "out of range"),
            (EdmType.BYTE, -1, "out of range"),
            (EdmType.SBYTE, 128, "out of range"),
            (EdmType.INT64, 2**63, "out of range"),
            (EdmType.BOOLEAN, 1, "got int"),
            (EdmType.DOUBLE, "1", "got str"),
            (EdmType.SINGLE, 1e39, "out of range"),
            (EdmType.DECIMAL, 1.5, "got float"),
            (EdmType.DECIMAL, Decimal("NaN"), "not a finite"),
            (EdmType.DATETIME, "2026-01-01", "got str"),
            (EdmType.GUID, "x", "got str"),
            (EdmType.BINARY, "x", "got str"),
            (EdmType.TIME, 5, "got int"),
            (EdmType.STRING, "a\x01b", r"U\+0001 at position 1 cannot be carried"),
        ],
    )
    def test_refuses_naming_the_property(self, edm: EdmType, value: object, message: str) -> None:
        with pytest.raises(SchemaViolation, match=message) as caught:
            values.check_value(Property("Price", edm), value)
        assert "'Price'" in str(caught.value)

    def test_nullable(self) -> None:
        assert values.check_value(prop(EdmType.STRING), None) is None
        with pytest.raises(SchemaViolation, match=r"'P' .* is not nullable"):
            values.check_value(prop(EdmType.STRING, nullable=False), None)

    def test_max_length_counts_characters_or_bytes(self) -> None:
        assert values.check_value(prop(EdmType.STRING, max_length=2), "ü€") == "ü€"
        with pytest.raises(SchemaViolation, match="3 characters is longer than its MaxLength of 2"):
            values.check_value(prop(EdmType.STRING, max_length=2), "abc")
        with pytest.raises(SchemaViolation, match="3 bytes"):
            values.check_value(prop(EdmType.BINARY, max_length=2), b"abc")
        assert values.check_value(prop(EdmType.BINARY), bytearray(b"ab")) == b"ab"

    def test_decimal_precision_and_scale(self) -> None:
        p = prop(EdmType.DECIMAL, precision=5, scale=2)
        assert values.check_value(p, Decimal("123.40")) == Decimal("123.40")
        assert values.check_value(p, 12) == Decimal(12)
        with pytest.raises(SchemaViolation, match="3 decimal places; its Scale is 2"):
            values.check_value(p, Decimal("1.234"))
        with pytest.raises(SchemaViolation, match=r"4 digits before the point; .* allow 3"):
            values.check_value(p, Decimal("1234.5"))
        with pytest.raises(SchemaViolation, match="more than its Precision of 3"):
            values.check_value(prop(EdmType.DECIMAL, precision=3), Decimal("12.34"))

    def test_canonical_forms(self) -> None:
        assert values.check_value(prop(EdmType.DOUBLE), 2) == 2.0
        assert isinstance(values.check_value(prop(EdmType.DOUBLE), 2), float)
        naive = dt.datetime(2026, 1, 1, 12)
        assert values.check_value(prop(EdmType.DATETIME), naive) == naive.replace(tzinfo=UTC)
        paris = dt.datetime(2026, 1, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        assert values.check_value(prop(EdmType.DATETIME), paris).tzinfo is UTC
        assert values.check_value(prop(EdmType.DATETIMEOFFSET), paris).utcoffset() == dt.timedelta(
            hours=1
        )


class TestStoredForm:
    def test_shapes(self) -> None:
        moment = dt.datetime(2026, 11, 23, 8, 11, 42, 642000, tzinfo=UTC)
        assert values.to_stored(prop(EdmType.DATETIME), moment) == "2026-11-23T08:11:42.642Z"
        micro = moment.replace(microsecond=642001)
        assert values.to_stored(prop(EdmType.DATETIME), micro) == "2026-11-23T08:11:42.642001Z"
        assert values.to_stored(prop(EdmType.DECIMAL), Decimal("1E+3")) == "1000"
        assert values.to_stored(prop(EdmType.BINARY), b"\x00\xff") == "AP8="
        assert values.to_stored(prop(EdmType.DOUBLE), math.inf) == "INF"
        assert values.to_stored(prop(EdmType.DOUBLE), -math.inf) == "-INF"
        assert values.to_stored(prop(EdmType.DOUBLE), math.nan) == "NaN"
        assert math.isnan(values.from_stored(prop(EdmType.DOUBLE), "NaN"))
        assert (
            values.to_stored(prop(EdmType.TIME), dt.timedelta(hours=13, minutes=20)) == "13:20:00"
        )
        assert (
            values.to_stored(prop(EdmType.TIME), dt.timedelta(days=-1, hours=1)) == "-P0DT23H0M0S"
        )

    def test_reading_is_lenient_about_representation_but_not_type(self) -> None:
        assert values.from_stored(prop(EdmType.INT64), "9007199254740993") == 9007199254740993
        assert values.from_stored(prop(EdmType.DECIMAL), 1.5) == Decimal("1.5")
        assert values.from_stored(prop(EdmType.DATETIME), "2026-01-01T00:00:00") == dt.datetime(
            2026, 1, 1, tzinfo=UTC
        )
        too_long = values.from_stored(prop(EdmType.STRING, max_length=1), "abc")
        assert too_long == "abc"
        for edm, raw in [
            (EdmType.INT32, "x"),
            (EdmType.INT32, True),
            (EdmType.BOOLEAN, "true"),
            (EdmType.STRING, 5),
            (EdmType.DATETIME, "yesterday"),
            (EdmType.BINARY, "not base64!"),
            (EdmType.DECIMAL, "Infinity"),
            (EdmType.DOUBLE, [1]),
        ]:
            with pytest.raises(SchemaViolation, match="is not a"):
                values.from_stored(prop(edm), raw)


class TestAtomText:
    def test_datetime_is_naive_utc_with_precision_digits(self) -> None:
        moment = dt.datetime(2026, 11, 23, 8, 11, 42, 642500, tzinfo=UTC)
        assert (
            literals.to_text(prop(EdmType.DATETIME, precision=3), moment)
            == "2026-11-23T08:11:42.642"
        )
        assert literals.to_text(prop(EdmType.DATETIME), moment) == "2026-11-23T08:11:42.642"
        assert (
            literals.to_text(prop(EdmType.DATETIME, precision=0), moment) == "2026-11-23T08:11:42"
        )
        assert literals.to_text(prop(EdmType.DATETIME, precision=7), moment).endswith(".6425000")
        east = moment.astimezone(dt.timezone(dt.timedelta(hours=5)))
        assert literals.to_text(prop(EdmType.DATETIME), east) == "2026-11-23T08:11:42.642"

    def test_datetime_input_as_pyslet_and_others_send_it(self) -> None:
        p = prop(EdmType.DATETIME)
        expected = dt.datetime(2026, 11, 23, 8, 11, 42, 642000, tzinfo=UTC)
        assert literals.from_text(p, "2026-11-23T08:11:42.642") == expected
        assert literals.from_text(p, " 2026-11-23T08:11:42.642Z ") == expected
        assert literals.from_text(p, "2026-11-23T09:11:42.642+01:00") == expected
        assert literals.from_text(p, "2026-11-23T08:11") == expected.replace(
            second=0, microsecond=0
        )
        for bad in ("2026-11-23", "/Date(0)/", "2026-11-23 08:11:42", "", "2026-13-01T00:00"):
            with pytest.raises(SchemaViolation, match=r"is not a Edm.DateTime"):
                literals.from_text(p, bad)

    def test_datetimeoffset_keeps_its_offset_and_writes_utc_as_plus_zero(self) -> None:
        p = prop(EdmType.DATETIMEOFFSET, precision=0)
        moment = literals.from_text(p, "2026-01-01T10:00:00+02:00")
        assert moment.utcoffset() == dt.timedelta(hours=2)
        assert literals.to_text(p, moment) == "2026-01-01T10:00:00+02:00"
        assert literals.to_text(p, moment.astimezone(UTC)) == "2026-01-01T08:00:00+00:00"

    @pytest.mark.parametrize(
        ("edm", "value", "text"),
        [
            (EdmType.DOUBLE, 1.5e20, "1.5E20"),
            (EdmType.DOUBLE, 1e-05, "1E-5"),
            (EdmType.DOUBLE, 2.0, "2.0"),
            (EdmType.DOUBLE, math.inf, "INF"),
            (EdmType.DOUBLE, -math.inf, "-INF"),
            (EdmType.SINGLE, 0.1, "0.1"),
            (EdmType.SINGLE, 123456789.0, "1.2345679E8"),
            (EdmType.SINGLE, 3.4028234663852886e38, "3.4028235E38"),
            (EdmType.DECIMAL, Decimal("1E+2"), "100"),
            (EdmType.BOOLEAN, False, "false"),
            (EdmType.GUID, uuid.UUID(int=255), "00000000-0000-0000-0000-0000000000ff"),
            (EdmType.TIME, dt.timedelta(hours=1, seconds=0.5), "01:00:00.500"),
            (EdmType.BINARY, b"\x00\x01\xff", "AAH/"),
            (EdmType.STRING, " a\n\tb ", " a\n\tb "),
        ],
    )
    def test_text_forms(self, edm: EdmType, value: Any, text: str) -> None:
        assert literals.to_text(prop(edm), value) == text

    def test_pyslet_writes_binary_in_hex(self) -> None:
        p = prop(EdmType.BINARY)
        assert literals.to_text(p, b"\x00\x01\xff", hex_binary=True) == "0001FF"
        assert literals.from_text(p, "0001ff", hex_binary=True) == b"\x00\x01\xff"
        with pytest.raises(SchemaViolation):
            literals.from_text(p, "0001FF64617461")  # not base64

    def test_null_and_text_to_be_refused(self) -> None:
        assert literals.to_text(prop(EdmType.INT32), None) is None
        assert literals.from_text(prop(EdmType.INT32), None) is None
        with pytest.raises(SchemaViolation, match="not nullable"):
            literals.from_text(prop(EdmType.INT32, nullable=False), None)
        for edm, bad in [
            (EdmType.INT32, "1.5"),
            (EdmType.INT32, "2147483648"),
            (EdmType.BOOLEAN, "yes"),
            (EdmType.DOUBLE, "1,5"),
            (EdmType.DECIMAL, "1E5"),
            (EdmType.GUID, "nope"),
            (EdmType.TIME, "25:00:00"),
        ]:
            with pytest.raises(SchemaViolation, match="'P'"):
                literals.from_text(prop(edm), bad)
        assert literals.from_text(prop(EdmType.BOOLEAN), "1") is True
        assert literals.from_text(prop(EdmType.INT32), " 42\n") == 42
        assert literals.from_text(prop(EdmType.TIME), "PT13H20M") == dt.timedelta(
            hours=13, minutes=20
        )


class TestVerboseJson:
    def test_forms(self) -> None:
        moment = dt.datetime(2014, 2, 17, 23, 18, 25, 162000, tzinfo=UTC)
        assert literals.to_json(prop(EdmType.DATETIME), moment) == "/Date(1392679105162)/"
        assert literals.to_json(prop(EdmType.INT64), 5) == "5"
        assert literals.to_json(prop(EdmType.INT32), 5) == 5
        assert literals.to_json(prop(EdmType.DECIMAL), Decimal("1.50")) == "1.50"
        assert literals.to_json(prop(EdmType.DOUBLE), 0.5) == "0.5"
        assert literals.to_json(prop(EdmType.BOOLEAN), True) is True
        assert literals.to_json(prop(EdmType.BINARY), b"\xff") == "/w=="
        assert literals.to_json(prop(EdmType.STRING), None) is None
        offset = moment.astimezone(dt.timezone(dt.timedelta(hours=1)))
        assert (
            literals.to_json(prop(EdmType.DATETIMEOFFSET), offset)
            == "2014-02-18T00:18:25.162+01:00"
        )

    def test_asp_net_dates_in_and_out(self) -> None:
        p = prop(EdmType.DATETIME)
        expected = dt.datetime(2014, 2, 17, 23, 18, 25, 162000, tzinfo=UTC)
        assert literals.from_json(p, "/Date(1392679105162)/") == expected
        assert literals.from_json(p, "/Date(1392679105162+0060)/") == expected
        assert literals.from_json(p, "2014-02-17T23:18:25.162") == expected
        assert literals.from_json(p, "/Date(-1000)/") == dt.datetime(
            1969, 12, 31, 23, 59, 59, tzinfo=UTC
        )
        shown = literals.from_json(prop(EdmType.DATETIMEOFFSET), "/Date(1392679105162+0060)/")
        assert shown == expected
        assert shown.utcoffset() == dt.timedelta(hours=1)
        for bad in ("/Date(x)/", "/Date(1)", "/Date(99999999999999999)/"):
            with pytest.raises(SchemaViolation):
                literals.from_json(p, bad)

    def test_numbers_come_as_numbers_or_strings(self) -> None:
        assert literals.from_json(prop(EdmType.INT64), "9223372036854775807") == 2**63 - 1
        assert literals.from_json(prop(EdmType.INT64), 12) == 12
        assert literals.from_json(prop(EdmType.DOUBLE), 1) == 1.0
        assert literals.from_json(prop(EdmType.DECIMAL), Decimal("0.1")) == Decimal("0.1")
        assert literals.from_json(prop(EdmType.DECIMAL), 0.5) == Decimal("0.5")
        assert literals.from_json(prop(EdmType.BOOLEAN), "true") is True
        for edm, bad in [
            (EdmType.INT32, 1.5),
            (EdmType.INT32, True),
            (EdmType.STRING, 5),
            (EdmType.BOOLEAN, "yes"),
            (EdmType.STRING, ["x"]),
        ]:
            with pytest.raises(SchemaViolation):
                literals.from_json(prop(edm), bad)


class TestUriLiterals:
    @pytest.mark.parametrize(
        ("edm", "value", "literal"),
        [
            (EdmType.STRING, "it's", "'it''s'"),
            (EdmType.INT32, 25, "25"),
            (EdmType.INT64, 25, "25L"),
            (EdmType.DECIMAL, Decimal("1.5"), "1.5M"),
            (EdmType.DOUBLE, 1.5, "1.5D"),
            (EdmType.SINGLE, 1.5, "1.5F"),
            (EdmType.GUID, uuid.UUID(int=1), "guid'00000000-0000-0000-0000-000000000001'"),
            (
                EdmType.DATETIME,
                dt.datetime(2026, 1, 1, tzinfo=UTC),
                "datetime'2026-01-01T00:00:00.000'",
            ),
            (
                EdmType.DATETIMEOFFSET,
                dt.datetime(2026, 1, 1, tzinfo=UTC),
                "datetimeoffset'2026-01-01T00:00:00.000Z'",
            ),
            (EdmType.TIME, dt.timedelta(hours=13, minutes=20), "time'13:20:00'"),
            (EdmType.BINARY, b"\x0a\xff", "X'0AFF'"),
            (EdmType.BOOLEAN, True, "true"),
            (EdmType.STRING, None, "null"),
        ],
    )
    def test_forms(self, edm: EdmType, value: Any, literal: str) -> None:
        assert literals.uri_literal(prop(edm), value) == literal

    def test_coercion_follows_odata_promotion(self) -> None:
        assert literals.coerce_literal(prop(EdmType.INT64), 5, EdmType.INT32) == 5
        assert literals.coerce_literal(prop(EdmType.DOUBLE), 5, EdmType.INT32) == 5.0
        assert literals.coerce_literal(prop(EdmType.DECIMAL), 5, EdmType.INT64) == Decimal(5)
        moment = dt.datetime(2026, 1, 1, tzinfo=UTC)
        assert (
            literals.coerce_literal(prop(EdmType.DATETIMEOFFSET), moment, EdmType.DATETIME)
            == moment
        )
        assert literals.coerce_literal(prop(EdmType.STRING), None, None) is None
        with pytest.raises(
            SchemaViolation,
            match=r"is Edm.String, but the literal is Edm.Int32; write it like 'text'",
        ):
            literals.coerce_literal(prop(EdmType.STRING), 25, EdmType.INT32)
        with pytest.raises(SchemaViolation, match="out of range"):
            literals.coerce_literal(prop(EdmType.INT32), 2**40, EdmType.INT64)
        with pytest.raises(SchemaViolation, match="write it like 42L"):
            literals.coerce_literal(prop(EdmType.INT64), "x", EdmType.STRING)


def test_raw_values() -> None:
    assert literals.raw_value(prop(EdmType.STRING), "ZZ") == (b"ZZ", "text/plain; charset=utf-8")
    moment = dt.datetime(2026, 11, 23, 12, 16, 13, 159000, tzinfo=UTC)
    assert (
        literals.raw_value(prop(EdmType.DATETIME, precision=3), moment)[0]
        == b"2026-11-23T12:16:13.159"
    )
    assert literals.raw_value(prop(EdmType.BINARY), b"\x00") == (
        b"\x00",
        "application/octet-stream",
    )
    assert literals.from_raw(prop(EdmType.BINARY), b"\x00\xff") == b"\x00\xff"
    assert literals.from_raw(prop(EdmType.INT32), b"42") == 42
    with pytest.raises(SchemaViolation, match="not UTF-8"):
        literals.from_raw(prop(EdmType.STRING), b"\xff")


def test_key_text_of_each_type() -> None:
    assert values.key_text(prop(EdmType.STRING), "a/b") == "a/b"
    assert values.key_text(prop(EdmType.INT64), 25) == "25"
    assert values.key_text(prop(EdmType.BOOLEAN), True) == "true"
    assert values.key_from_text(prop(EdmType.BOOLEAN), "false") is False
    assert (
        values.key_text(prop(EdmType.GUID), uuid.UUID(int=1))
        == "00000000-0000-0000-0000-000000000001"
    )
    with pytest.raises(SchemaViolation):
        values.key_from_text(prop(EdmType.INT32), "abc")
    with pytest.raises(SchemaViolation):
        values.key_from_text(prop(EdmType.BOOLEAN), "yes")
    with pytest.raises(SchemaViolation, match="out of range"):
        values.key_text(prop(EdmType.INT16), 2**20)
