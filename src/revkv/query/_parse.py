"""Parsing OData 2 ``$filter`` and ``$orderby`` text into the tree of ``ast.py``.

A precedence-climbing (Pratt) parser over the tokens of ``lex.py``. Precedence follows
MS-ODATA 2.2.3.6.1.1, tightest first::

    unary  - not
    mul div mod
    add sub
    lt le gt ge
    eq ne
    and
    or

All binary operators are left-associative. ``not`` is unary and binds tighter than any
comparison, so ``not a eq b`` is ``(not a) eq b``, as in OData 2, Pyslet and WCF; write
``not (a eq b)`` for the other reading. Keywords, literal prefixes and function names are
lowercase and case-sensitive, as OData 2 has them: ``EQ`` is a property name, and the
error that follows says so.

Errors are ``QuerySyntaxError`` with the 0-based position of the token at fault. An arity
error points at the first surplus argument, or at the ``)`` when arguments are missing.
"""

from __future__ import annotations

from revkv.errors import QuerySyntaxError
from revkv.query._ast import (
    FUNCTION_ARITY,
    LOGICAL_OPS,
    Binary,
    BinaryOp,
    Call,
    EdmType,
    Function,
    Literal,
    Node,
    OrderBy,
    Property,
    Unary,
    UnaryOp,
)
from revkv.query._lex import Kind, Token, tokenize

__all__ = ["MAX_CALLS", "MAX_DEPTH", "MAX_LENGTH", "MAX_TERMS", "parse_filter", "parse_orderby"]

MAX_LENGTH = 16_384
"""The longest ``$filter`` or ``$orderby`` text, in characters. A filter's cost is its
terms times the keys it runs over: the limits here bound the first factor, so one request
cannot keep a worker busy for minutes (a 62 KB filter over 20,000 keys took 13 s)."""

MAX_TERMS = 1_000
"""The most operands (properties and literals) in one expression; 1,000 covers a long
``Key eq 'a' or Key eq 'b' or ...`` written by hand or by a program."""

MAX_CALLS = 64
"""The most function calls in one expression: each runs once per key, and some
(``substringof``, ``replace``) cost as much as the strings they read."""

MAX_DEPTH = 100
"""How deeply parentheses, unary operators, calls and chains of operators other than
``and``/``or`` may nest; deeper text is refused rather than allowed to exhaust the
interpreter's stack. Chains of ``and``/``or`` are limited by ``MAX_TERMS`` only (a client
may send a long ``Key eq 'a' or Key eq 'b' or ...``): they make a tree as deep as they are
long, so a back end flattens them rather than recursing, as ``evaluate.py`` does."""

_BINDING_POWER = {
    BinaryOp.OR: 1,
    BinaryOp.AND: 2,
    BinaryOp.EQ: 3,
    BinaryOp.NE: 3,
    BinaryOp.LT: 4,
    BinaryOp.LE: 4,
    BinaryOp.GT: 4,
    BinaryOp.GE: 4,
    BinaryOp.ADD: 5,
    BinaryOp.SUB: 5,
    BinaryOp.MUL: 6,
    BinaryOp.DIV: 6,
    BinaryOp.MOD: 6,
}
_UNARY_POWER = 7
_BINARY_KEYWORDS = {op.value: op for op in BinaryOp}
_FUNCTIONS = {function.value: function for function in Function}
_TYPE_NAMES = {edm_type.value: edm_type for edm_type in EdmType}


def parse_filter(text: str) -> Node:
    """The tree of a ``$filter`` expression; raises QuerySyntaxError, also for text over
    the limits above (the message names the limit)."""
    parser = _Parser(text)
    node = parser.expression()
    parser.expect_end("an operator")
    return node


def parse_orderby(text: str) -> list[OrderBy]:
    """The items of an ``$orderby`` option: ``expr [asc|desc]``, separated by commas."""
    parser = _Parser(text)
    items = [parser.orderby_item()]
    while parser.accept(Kind.COMMA):
        items.append(parser.orderby_item())
    parser.expect_end("',' or 'asc' or 'desc'")
    return items


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise QuerySyntaxError(
                f"expression of {len(text):,} characters is over the limit of {MAX_LENGTH:,}",
                f"{text[:40]}...",  # not the whole text back in the message
                MAX_LENGTH,
            )
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.terms = 0
        self.calls = 0

    # -- token stream --------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.END:
            self.index += 1
        return token

    def accept(self, kind: Kind) -> Token | None:
        return self.advance() if self.current.kind is kind else None

    def error(self, message: str, position: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.text, position)

    def unexpected(self, expected: str) -> QuerySyntaxError:
        token = self.current
        hint = ""
        if token.kind is Kind.NAME and token.text.lower() in _BINARY_KEYWORDS:
            hint = f" (operators are lowercase: {token.text.lower()!r})"
        return self.error(f"expected {expected}, got {token.describe()}{hint}", token.position)

    def expect_end(self, expected: str) -> None:
        if self.current.kind is Kind.RPAREN:
            raise self.error("unmatched ')'", self.current.position)
        if self.current.kind is not Kind.END:
            raise self.unexpected(f"{expected} or the end of the expression")

    # -- expressions ---------------------------------------------------------------

    def expression(self, min_power: int = 0) -> Node:
        left = self.operand()
        chained = 0
        while True:
            token = self.current
            op = _BINARY_KEYWORDS.get(token.text) if token.kind is Kind.NAME else None
            if op is None or _BINDING_POWER[op] <= min_power:
                return left
            if op not in LOGICAL_OPS:
                chained += 1
                self.check_depth(self.depth + chained, token)
            self.advance()
            right = self.expression(_BINDING_POWER[op])
            left = Binary(op, left, right, token.position)

    def operand(self) -> Node:
        token = self.current
        self.depth += 1
        self.check_depth(self.depth, token)
        try:
            return self.nested_operand(token)
        finally:
            self.depth -= 1

    def check_depth(self, depth: int, token: Token) -> None:
        if depth > MAX_DEPTH:
            raise self.error(f"expression nested more than {MAX_DEPTH} deep", token.position)

    def count_term(self, token: Token) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.error(f"expression has more than {MAX_TERMS:,} terms", token.position)

    def nested_operand(self, token: Token) -> Node:
        if token.kind is Kind.LITERAL:
            self.count_term(token)
            self.advance()
            return Literal(token.value, token.edm_type, token.position)
        if token.kind is Kind.LPAREN:
            self.advance()
            node = self.expression()
            self.close("an operator")
            return node
        if token.kind is Kind.MINUS:
            self.advance()
            return Unary(UnaryOp.NEG, self.expression(_UNARY_POWER), token.position)
        if token.kind is Kind.NAME:
            return self.named(token)
        raise self.unexpected("an expression")

    def close(self, expected: str) -> None:
        if self.accept(Kind.RPAREN) is None:
            raise self.unexpected(f"')' or {expected}")

    def named(self, token: Token) -> Node:
        self.advance()
        if token.text == "not":
            return Unary(UnaryOp.NOT, self.expression(_UNARY_POWER), token.position)
        if token.text in _BINARY_KEYWORDS:
            raise self.error(
                f"expected an expression before operator {token.text!r}", token.position
            )
        if self.current.kind is Kind.LPAREN:
            return self.call(token)
        self.count_term(token)
        return Property(token.text, token.position)

    def call(self, name: Token) -> Call:
        function = _FUNCTIONS.get(name.text)
        if function is None:
            hint = ""
            if name.text.lower() in _FUNCTIONS:
                hint = f" (function names are lowercase: {name.text.lower()!r})"
            raise self.error(f"unknown function {name.text!r}{hint}", name.position)
        self.calls += 1
        if self.calls > MAX_CALLS:
            raise self.error(f"expression has more than {MAX_CALLS} function calls", name.position)
        self.advance()  # the '('
        args: list[Node] = []
        if self.current.kind is not Kind.RPAREN:
            args.append(self.expression())
            while self.accept(Kind.COMMA):
                args.append(self.expression())
        closing = self.current
        self.close("','")
        self.check_arity(function, args, closing)
        if function in (Function.ISOF, Function.CAST):
            self.check_type_name(function, args[-1])
        return Call(function, tuple(args), name.position)

    def check_arity(self, function: Function, args: list[Node], closing: Token) -> None:
        fewest, most = FUNCTION_ARITY[function]
        if fewest <= len(args) <= most:
            return
        wanted = f"{fewest}" if fewest == most else f"{fewest} or {most}"
        plural = "" if wanted == "1" else "s"
        position = _start(args[most]) if len(args) > most else closing.position
        raise self.error(
            f"function {function.value!r} takes {wanted} argument{plural}, got {len(args)}",
            position,
        )

    def check_type_name(self, function: Function, arg: Node) -> None:
        if not (isinstance(arg, Literal) and arg.value in _TYPE_NAMES):
            raise self.error(
                f"the last argument of {function.value!r} must name a primitive type, "
                "such as 'Edm.Int32' or 'Edm.String'",
                _start(arg),
            )

    # -- $orderby ------------------------------------------------------------------

    def orderby_item(self) -> OrderBy:
        start = self.current.position
        expr = self.expression()
        descending = False
        if self.current.kind is Kind.NAME and self.current.text in ("asc", "desc"):
            descending = self.advance().text == "desc"
        return OrderBy(expr, descending, start)


def _start(node: Node) -> int:
    """Where the text of ``node`` begins: binary nodes record their operator."""
    while isinstance(node, Binary):
        node = node.left
    return node.position
