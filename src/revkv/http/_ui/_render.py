"""How the page shows things: templates, values (JSON, text, binary), diffs, times.

Values are shown as what they are, decided from their bytes: JSON pretty-printed and
highlighted on the server (Pygments, so it reads with JavaScript off), UTF-8 text as
text, anything else as a hex dump with its size and a download link. Diffs compare the
same views line by line, side by side.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer
from starlette.templating import Jinja2Templates

HIGHLIGHT_LIMIT = 256 * 1024  # bigger JSON is shown pretty but not coloured
HEX_LIMIT = 4096  # bytes of a binary value shown
DIFF_LIMIT = 5000  # lines per side compared

_FORMATTER = HtmlFormatter(cssclass="hl", nowrap=True)
HIGHLIGHT_CSS: str = _FORMATTER.get_style_defs(".hl")  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Value:
    """A payload as the page shows it: `kind` is json, text, binary or empty."""

    kind: str
    lines: list[str]
    size: int
    html: Markup | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def view(payload: bytes) -> Value:
    if not payload:
        return Value("empty", [], 0)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return Value("binary", hex_lines(payload[:HEX_LIMIT]), len(payload))
    if not text.isprintable() and any(not c.isprintable() and c not in "\t\r\n" for c in text):
        return Value("binary", hex_lines(payload[:HEX_LIMIT]), len(payload))
    try:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return Value("text", text.splitlines(), len(payload))
    coloured = None
    if len(pretty) <= HIGHLIGHT_LIMIT:
        coloured = Markup(highlight(pretty, JsonLexer(), _FORMATTER))  # Pygments escapes
    return Value("json", pretty.splitlines(), len(payload), coloured)


def hex_lines(data: bytes) -> list[str]:
    """`offset  hex bytes  printable`, 16 bytes a line, as `xxd` prints them."""
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        hexes = " ".join(chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
        shown = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}: {hexes:<39}  {shown}")
    return lines


@dataclass(frozen=True)
class Row:
    """One line of a side-by-side diff: `tag` is equal, replace, delete or insert."""

    tag: str
    left_no: int | None
    left: str
    right_no: int | None
    right: str


def diff_rows(old: list[str], new: list[str]) -> list[Row]:
    old, new = old[:DIFF_LIMIT], new[:DIFF_LIMIT]
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            left = (i + 1, old[i]) if i < i2 else (None, "")
            right = (j + 1, new[j]) if j < j2 else (None, "")
            rows.append(Row(tag, left[0], left[1], right[0], right[1]))
    return rows


def when(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 / 1024:.1f} MiB"


def query(**params: Any) -> str:
    """A query string of the params that are set, for links that keep their state."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("revkv.http._ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, size=size)
    env.globals.update(query=query)
    return env


TEMPLATES = Jinja2Templates(env=_environment())
