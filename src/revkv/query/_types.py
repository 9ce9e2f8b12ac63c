"""Type-checking a filter tree against the Edm types of its properties, before it runs.

A record's values carry no Edm type (``_values``), so the evaluator can only find at run
time, record by record, that ``Key eq 1`` compares a string with a number, and then the
record does not match: the answer would be an empty 200, which reads as "nothing there"
when it means "this query makes no sense". When the caller knows the type of each
property (a door's columns, an entity type), ``check_filter`` proves the tree well typed
first, as Pyslet's server and the OData 2 rules (MS-ODATA 2.2.3.6.1.1) do, and raises
``QuerySyntaxError`` naming the operand and both types. Every back end (the Python
predicate, the SQL compiler) is called after it, so all answer the same 400.

The rules are those ``_values`` and ``_functions`` apply at run time, decided on types:

- numbers (Byte … Int64, Single, Double, Decimal) combine with each other; DateTime and
  DateTimeOffset compare with each other; any other type only with itself;
- ``null`` and a property of unknown type (a column without a type, a path ``a/b``)
  fit anything, so a check never refuses what might run;
- ``and``/``or``/``not`` and the whole filter need booleans; arithmetic and ``-`` need
  numbers; each function needs the types it computes on.
"""

from __future__ import annotations

from collections.abc import Mapping

from revkv.errors import QuerySyntaxError
from revkv.query._ast import (
    ARITHMETIC_OPS,
    LOGICAL_OPS,
    Binary,
    BinaryOp,
    Call,
    EdmType,
    Function,
    Literal,
    Node,
    Property,
    Unary,
    UnaryOp,
)

__all__ = ["check_filter", "type_of"]

Types = Mapping[str, EdmType | None]
"""The Edm type of each property a filter may name; None where it is not known."""

_NUMBERS = (
    EdmType.BYTE,
    EdmType.SBYTE,
    EdmType.INT16,
    EdmType.INT32,
    EdmType.INT64,
    EdmType.DECIMAL,
    EdmType.SINGLE,
    EdmType.DOUBLE,
)
_INTEGERS = _NUMBERS[:5]
_DATES = (EdmType.DATETIME, EdmType.DATETIMEOFFSET)
_CLOCKS = (*_DATES, EdmType.TIME)
_FAMILIES = dict.fromkeys(_NUMBERS, "number") | dict.fromkeys(_DATES, "date")

_S, _I, _B = EdmType.STRING, EdmType.INT32, EdmType.BOOLEAN
_TEXT = (_S,)
#: function -> (the types each argument may have, the type of the result; None: as the
#: first argument)
_SIGNATURES: dict[Function, tuple[tuple[tuple[EdmType, ...], ...], EdmType | None]] = {
    Function.SUBSTRINGOF: ((_TEXT, _TEXT), _B),
    Function.STARTSWITH: ((_TEXT, _TEXT), _B),
    Function.ENDSWITH: ((_TEXT, _TEXT), _B),
    Function.LENGTH: ((_TEXT,), _I),
    Function.INDEXOF: ((_TEXT, _TEXT), _I),
    Function.REPLACE: ((_TEXT, _TEXT, _TEXT), _S),
    Function.SUBSTRING: ((_TEXT, _INTEGERS, _INTEGERS), _S),
    Function.TOLOWER: ((_TEXT,), _S),
    Function.TOUPPER: ((_TEXT,), _S),
    Function.TRIM: ((_TEXT,), _S),
    Function.CONCAT: ((_TEXT, _TEXT), _S),
    Function.YEAR: ((_DATES,), _I),
    Function.MONTH: ((_DATES,), _I),
    Function.DAY: ((_DATES,), _I),
    Function.HOUR: ((_CLOCKS,), _I),
    Function.MINUTE: ((_CLOCKS,), _I),
    Function.SECOND: ((_CLOCKS,), _I),
    Function.ROUND: ((_NUMBERS,), None),
    Function.FLOOR: ((_NUMBERS,), None),
    Function.CEILING: ((_NUMBERS,), None),
}


def check_filter(node: Node, types: Types, *, source: str = "") -> None:
    """Raise ``QuerySyntaxError`` unless ``node`` is a boolean expression whose operands
    all fit their operators and functions, given the property ``types``."""
    result = _Checker(types, source).type_of(node)
    if result not in (None, EdmType.BOOLEAN):
        raise QuerySyntaxError(
            f"a $filter must be a boolean expression, but {_name(node, source)} is an {result}",
            source,
            node.position,
        )


def type_of(node: Node, types: Types, *, source: str = "") -> EdmType | None:
    """The Edm type ``node`` gives (None: null or not known), or ``QuerySyntaxError``."""
    return _Checker(types, source).type_of(node)


def _fits(a: EdmType | None, b: EdmType | None) -> bool:
    if a is None or b is None or a is b:
        return True
    family = _FAMILIES.get(a)
    return family is not None and family == _FAMILIES.get(b)


def _name(node: Node, source: str) -> str:
    """How a message names an operand: its text where the tree says where it starts."""
    match node:
        case Property(name=name):
            return name
        case Literal(value=value) if not source:
            return repr(value)
        case Call(function=function):
            return f"{function.value}()"
        case _ if source:
            return _snippet(source, node.position)
        case _:
            return "the expression"


def _snippet(source: str, start: int) -> str:
    """The operand at ``start``: up to the next space outside quotes and parentheses."""
    depth, quoted = 0, False
    for index in range(start, len(source)):
        char = source[index]
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return source[start:index]
            depth -= 1
        elif char == " " and depth == 0:
            return source[start:index]
    return source[start:]


class _Checker:
    def __init__(self, types: Types, source: str) -> None:
        self.types = types
        self.source = source

    def fail(self, message: str, node: Node) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.source, node.position)

    def name(self, node: Node) -> str:
        return _name(node, self.source)

    def type_of(self, node: Node) -> EdmType | None:
        match node:
            case Literal(edm_type=edm_type):
                return edm_type
            case Property(name=name):
                return self.types.get(name) if "/" not in name else None
            case Unary(op=UnaryOp.NOT, operand=operand):
                self.expect(operand, (EdmType.BOOLEAN,), "'not' needs a boolean")
                return EdmType.BOOLEAN
            case Unary(operand=operand):
                return self.expect(operand, _NUMBERS, "'-' needs a number")
            case Binary():
                return self.binary(node)
            case Call():
                return self.call(node)

    def expect(self, node: Node, allowed: tuple[EdmType, ...], why: str) -> EdmType | None:
        found = self.type_of(node)
        if found is not None and found not in allowed:
            raise self.fail(f"{why}, but {self.name(node)} is an {found}", node)
        return found

    def binary(self, node: Binary) -> EdmType | None:
        op = node.op
        if op in LOGICAL_OPS:
            for parent, operand in _operands(node, LOGICAL_OPS):
                self.expect(operand, (EdmType.BOOLEAN,), f"'{parent.value}' needs booleans")
            return EdmType.BOOLEAN
        if op in ARITHMETIC_OPS:
            result: EdmType | None = None
            for parent, operand in _operands(node, ARITHMETIC_OPS):
                found = self.expect(operand, _NUMBERS, f"'{parent.value}' needs numbers")
                result = _wider(result, found)
            return result
        left, right = self.type_of(node.left), self.type_of(node.right)
        if not _fits(left, right):
            raise self.fail(
                f"cannot compare {self.name(node.left)} ({left}) with "
                f"{self.name(node.right)} ({right})",
                node,
            )
        return EdmType.BOOLEAN

    def call(self, node: Call) -> EdmType | None:
        function = node.function
        if function in (Function.ISOF, Function.CAST):
            for arg in node.args[:-1]:
                self.type_of(arg)
            if function is Function.ISOF:
                return EdmType.BOOLEAN
            last = node.args[-1]
            return EdmType(str(last.value)) if isinstance(last, Literal) else None
        allowed, result = _SIGNATURES[function]
        found = [
            self.expect(arg, kinds, f"{function.value}() needs {_describe(kinds)}")
            for arg, kinds in zip(node.args, allowed, strict=False)
        ]
        return result if result is not None else found[0]


def _operands(node: Binary, ops: frozenset[BinaryOp]) -> list[tuple[BinaryOp, Node]]:
    """The operands of a run of ``ops`` (``a or b or c``, ``a add b mul c``), left to
    right, each with the operator that takes it, found without recursion: a long ``or``
    list is a tree as deep as the list is long."""
    found: list[tuple[BinaryOp, Node]] = []
    stack: list[tuple[BinaryOp, Node]] = [(node.op, node)]
    while stack:
        op, current = stack.pop()
        if isinstance(current, Binary) and current.op in ops:
            stack += ((current.op, current.right), (current.op, current.left))
        else:
            found.append((op, current))
    return found


def _describe(kinds: tuple[EdmType, ...]) -> str:
    if kinds == _NUMBERS:
        return "a number"
    if kinds == _INTEGERS:
        return "an integer"
    return "an " + " or an ".join(kinds)


def _wider(left: EdmType | None, right: EdmType | None) -> EdmType | None:
    if left is None or right is None:
        return left or right
    return max(left, right, key=_NUMBERS.index)
