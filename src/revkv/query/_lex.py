"""Splitting an OData 2 expression into tokens, with the position of each.

The text is a query option after URL decoding, so whitespace is spaces (tabs and line
breaks are tolerated). Literals are recognised and decoded here, because their forms
are lexical: ``'it''s'``, ``12L``, ``1.5M``, ``datetime'2026-01-01T00:00'``, ``X'0AFF'``.
A ``-`` directly before a digit belongs to the number (``-2147483648`` is an Edm.Int32,
as OData's grammar has it); any other ``-`` is the negation operator. Names are not
interpreted: whether ``eq`` is an operator or ``Key`` a property is the parser's call.
Keywords and literal prefixes are case-sensitive, as in OData 2.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from revkv.errors import QuerySyntaxError
from revkv.query import _literals as literals
from revkv.query._ast import EdmType, LiteralValue

__all__ = ["Kind", "Token", "tokenize"]


class Kind(Enum):
    NAME = "name"
    LITERAL = "literal"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    MINUS = "'-'"
    END = "end of input"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str
    position: int
    value: LiteralValue = None
    edm_type: EdmType | None = None

    def describe(self) -> str:
        """The token as an error message should show it."""
        return self.kind.value if self.kind is Kind.END else repr(self.text)


_WHITESPACE = " \t\r\n"
_PUNCTUATION = {"(": Kind.LPAREN, ")": Kind.RPAREN, ",": Kind.COMMA}
_NAME = re.compile(r"[^\W\d]\w*")
_PATH = re.compile(r"[^\W\d]\w*(?:/[^\W\d]\w*)*")
_DIGITS = "0123456789"
_NUMBER = re.compile(r"-?(?:INF|NaN|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)[LlDdFfMm]?", re.ASCII)
_SPECIAL_NUMBER = re.compile(r"-?(?:INF|NaN)[DdFf]?")
_CONSTANTS: dict[str, tuple[LiteralValue, EdmType | None]] = {
    "null": (None, None),
    "true": (True, EdmType.BOOLEAN),
    "false": (False, EdmType.BOOLEAN),
}
_TYPED: dict[str, tuple[EdmType, Callable[[str], LiteralValue]]] = {
    "datetime": (EdmType.DATETIME, literals.decode_datetime),
    "datetimeoffset": (EdmType.DATETIMEOFFSET, literals.decode_datetimeoffset),
    "time": (EdmType.TIME, literals.decode_time),
    "guid": (EdmType.GUID, literals.decode_guid),
    "X": (EdmType.BINARY, literals.decode_binary),
    "binary": (EdmType.BINARY, literals.decode_binary),
}


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, ending with one ``END`` token; raises QuerySyntaxError."""
    return _Scanner(text).tokens()


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, message: str, position: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.text, position)

    def tokens(self) -> list[Token]:
        text, pos, out = self.text, 0, []
        while True:
            while pos < len(text) and text[pos] in _WHITESPACE:
                pos += 1
            if pos == len(text):
                out.append(Token(Kind.END, "", pos))
                return out
            token = self.token_at(pos)
            out.append(token)
            pos += len(token.text)

    def token_at(self, pos: int) -> Token:
        char = self.text[pos]
        if char in _PUNCTUATION:
            return Token(_PUNCTUATION[char], char, pos)
        if char == "'":
            return self.string(pos)
        if char in _DIGITS or (char == "-" and self.starts_number(pos + 1)):
            return self.number(pos)
        if char == "-":
            return Token(Kind.MINUS, char, pos)
        if _NAME.match(char):
            return self.name(pos)
        raise self.error(f"unexpected character {char!r}", pos)

    def starts_number(self, pos: int) -> bool:
        """Whether a number starts at ``pos`` (just after a ``-``)."""
        return self.text.startswith(tuple(_DIGITS), pos) or self.special_number(pos)

    def special_number(self, pos: int) -> bool:
        """``INF`` or ``NaN`` (with an optional suffix) at ``pos``, not the start of a name."""
        match = _SPECIAL_NUMBER.match(self.text, pos)
        return match is not None and not self.continues_name(match.end())

    def quoted(self, start: int, quote: int, what: str) -> tuple[str, int]:
        """The content of the quoted run of a literal that starts at ``start`` with its
        opening quote at ``quote``, and the offset after the closing quote."""
        parts, pos = [], quote + 1
        while True:
            end = self.text.find("'", pos)
            if end < 0:
                raise self.error(f"unterminated {what}", start)
            parts.append(self.text[pos:end])
            if self.text.startswith("''", end):
                parts.append("'")
                pos = end + 2
            else:
                return "".join(parts), end + 1

    def string(self, pos: int) -> Token:
        value, end = self.quoted(pos, pos, "string literal")
        return Token(Kind.LITERAL, self.text[pos:end], pos, value, EdmType.STRING)

    def number(self, pos: int) -> Token:
        match = _NUMBER.match(self.text, pos)
        assert match is not None  # token_at saw a digit, or '-' before a number
        end = match.end()
        if end < len(self.text) and (self.text[end] == "." or self.text[end].isalnum()):
            tail = _PATH.match(self.text, end)
            bad = self.text[pos : tail.end() if tail else end + 1]
            raise self.error(f"invalid number {bad!r}", pos)
        try:
            value, edm_type = literals.decode_number(match.group())
        except ValueError as error:
            raise self.error(str(error), pos) from None
        return Token(Kind.LITERAL, match.group(), pos, value, edm_type)

    def name(self, pos: int) -> Token:
        if self.special_number(pos):
            return self.number(pos)
        match = _PATH.match(self.text, pos)
        assert match is not None  # token_at saw a letter
        name, end = match.group(), match.end()
        if self.text.startswith("/", end):
            raise self.error("expected a property name after '/'", end + 1)
        if self.text.startswith("'", end):
            return self.typed_literal(name, pos, end)
        if name in _CONSTANTS:
            value, edm_type = _CONSTANTS[name]
            return Token(Kind.LITERAL, name, pos, value, edm_type)
        return Token(Kind.NAME, name, pos)

    def continues_name(self, pos: int) -> bool:
        return pos < len(self.text) and (self.text[pos].isalnum() or self.text[pos] in "_/")

    def typed_literal(self, prefix: str, pos: int, quote: int) -> Token:
        if prefix not in _TYPED:
            known = ", ".join(_TYPED)
            raise self.error(
                f"unknown literal type {prefix!r} (known: {known}); "
                "or is a space missing before the quote?",
                pos,
            )
        edm_type, decode = _TYPED[prefix]
        content, end = self.quoted(pos, quote, f"{prefix} literal")
        try:
            value = decode(content)
        except ValueError as error:
            raise self.error(str(error), pos) from None
        return Token(Kind.LITERAL, self.text[pos:end], pos, value, edm_type)
