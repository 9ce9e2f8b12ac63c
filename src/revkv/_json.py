"""JSON from the network, parsed with bounds so that no body can break what reads it.

Every JSON body a door accepts (`/txn`, `/ns`, OData entries, payloads of JSON-only
namespaces) goes through `parse_json`. It refuses, with an `InvalidRequest` that says
why, what `json.loads` would take but revkv could not keep or serve:

- nesting deeper than `MAX_DEPTH`: code that walks a document recursively (the JSON
  encoder of every response, msgspec, the journal's replay) runs out of stack near a
  thousand levels, and how near depends on how deep the caller already is, so a value
  that one request could store another could not read;
- `NaN` and `Infinity`, which are not JSON: stored, they make every later response
  that carries them fail to encode;
- lone surrogates (`"\\ud800"`), which UTF-8 cannot encode.

msgspec parses (in C, without building deep Python stacks of its own); the depth walk
after it is iterative, and skipped for documents with fewer brackets than the limit.
This module imports nothing of revkv but its errors.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from revkv.errors import InvalidRequest

__all__ = ["MAX_DEPTH", "deeper_than", "parse_json"]

#: How deeply arrays and objects may nest in any JSON revkv accepts or stores.
MAX_DEPTH = 128

_DECODER = msgspec.json.Decoder()
_DECIMAL_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def parse_json(
    data: bytes | str,
    what: str = "the body",
    *,
    decimals: bool = False,
    error: type[InvalidRequest] = InvalidRequest,
) -> Any:
    """`data` as Python values; `error` (a 400) naming `what` when it is not JSON revkv
    can keep. `decimals` reads numbers with a fraction or exponent as `Decimal`."""
    decoder = _DECIMAL_DECODER if decimals else _DECODER
    try:
        value = decoder.decode(data)
    except RecursionError:
        raise error(too_deep(what)) from None
    except msgspec.DecodeError as exc:
        raise error(f"{what} is not valid JSON: {exc}") from None
    except UnicodeError:  # a str holding a lone surrogate
        raise error(f"{what} is not valid Unicode (a lone surrogate)") from None
    if _brackets(data) > MAX_DEPTH and deeper_than(value, MAX_DEPTH):
        raise error(too_deep(what))
    return value


def _brackets(data: bytes | str) -> int:
    if isinstance(data, str):
        return data.count("[") + data.count("{")
    return data.count(b"[") + data.count(b"{")


def too_deep(what: str) -> str:
    return f"{what} nests arrays and objects deeper than {MAX_DEPTH} levels, revkv's limit"


def deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and dicts in `value` nest more than `limit` levels (iteratively)."""
    if not isinstance(value, (dict, list, tuple)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list, tuple)))
    return False
