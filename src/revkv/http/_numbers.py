"""The one parser of whole numbers from requests: versions, revs, counts, headers.

Every number the server reads from a path, a query parameter or a header goes through
`parse_whole`, so that none can answer 500: `int()` takes what no client means
(`"1_000"`, `" +5"`, other scripts' digits, where `"²".isdigit()` is true and `int("²")`
fails) and refuses, with a ValueError, strings of over 4,300 digits. Here a number is
1 to `MAX_DIGITS` ASCII digits, which every signed 64-bit field holds; anything else is
an `InvalidRequest` (400) that names the parameter.
"""

from __future__ import annotations

from revkv.errors import InvalidRequest

__all__ = ["MAX_DIGITS", "is_whole", "parse_whole"]

MAX_DIGITS = 18  # below 10**18 < 2**63: longer numbers are refused, not parsed


def is_whole(text: str) -> bool:
    """Whether `text` is 1 to `MAX_DIGITS` ASCII digits (no sign, no spaces)."""
    return 0 < len(text) <= MAX_DIGITS and text.isascii() and text.isdigit()


def parse_whole(text: str, what: str, *, low: int = 0, high: int | None = None) -> int:
    """`text` (surrounding spaces ignored) as a whole number from `low` to `high`;
    `InvalidRequest` naming `what` otherwise."""
    digits = text.strip()
    if not is_whole(digits):
        raise InvalidRequest(
            f"{what} must be a whole number of at most {MAX_DIGITS} digits, not {text[:40]!r}"
        )
    value = int(digits)
    if value < low:
        raise InvalidRequest(f"{what} must be at least {low}, not {value}")
    if high is not None and value > high:
        raise InvalidRequest(f"{what} can be at most {high}, not {value}")
    return value
