"""`revkv.http._numbers`: every number a request carries, parsed once, bounded."""

from __future__ import annotations

import pytest

from revkv.errors import InvalidRequest
from revkv.http._numbers import MAX_DIGITS, is_whole, parse_whole


@pytest.mark.parametrize(
    "text",
    ["", " ", "-1", "+1", "1_000", "1.0", "1e3", "0x10", "\u00b2", "\u0663", "\uff11",
     "9" * (MAX_DIGITS + 1), "9" * 5000],
)  # fmt: skip
def test_anything_but_ascii_digits_is_refused_naming_the_parameter(text: str) -> None:
    assert not is_whole(text.strip())
    with pytest.raises(InvalidRequest, match="'since' must be a whole number"):
        parse_whole(text, "'since'")


def test_whole_numbers_up_to_the_limit_and_their_bounds() -> None:
    assert parse_whole(" 007 ", "n") == 7
    assert parse_whole("9" * MAX_DIGITS, "n") == 10**MAX_DIGITS - 1 < 2**63
    with pytest.raises(InvalidRequest, match="limit must be at least 1, not 0"):
        parse_whole("0", "limit", low=1)
    with pytest.raises(InvalidRequest, match="n can be at most 5, not 6"):
        parse_whole("6", "n", high=5)
