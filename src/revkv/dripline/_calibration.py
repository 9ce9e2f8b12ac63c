"""Endpoint calibrations: a raw value to a calibrated one, safely and exactly.

dripline `eval`s ``calibration.format(raw)``: a config file could run any code, and
``1.79`` times 3 comes out as 5.369999999999999. Here a string calibration is parsed
once, when the file loads, into an arithmetic expression of one variable (each ``{}``
is the raw value) and checked node by node: numbers, ``+ - * / // % **``, unary signs,
parentheses, and calls of the functions of `math` (as ``sqrt(x)`` or ``math.sqrt(x)``)
and dripline's helpers ``times2``/``times3``. Anything else (names, attributes,
subscripts, lambdas, comprehensions, strings) is refused, naming the endpoint.
Evaluation is in `Decimal`, so ``'{}*3'`` of ``1.79`` is 5.37; a function of `math`
works on the double nearest and comes back through its shortest repr.

A dict calibration maps a raw value to a calibrated one (``{CLOSE: "on", OPEN:
"off"}``); a raw value that is not in it is an `InvalidValue` (retcode 304).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from decimal import Decimal, DecimalException, InvalidOperation, localcontext
from typing import Any

from revkv.errors import InvalidValue

RAW = "__raw__"
MAX_EXPONENT = 1000


def _power(base: Decimal, exponent: Decimal) -> Decimal:
    if abs(exponent) > MAX_EXPONENT:
        raise InvalidValue(f"exponent {exponent} is beyond {MAX_EXPONENT}")
    return base**exponent


_BINARY: dict[type[ast.operator], Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: _power,
}
_UNARY: dict[type[ast.unaryop], Callable[[Decimal], Decimal]] = {
    ast.UAdd: lambda a: +a,
    ast.USub: lambda a: -a,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(math, name)
    for name in (
        "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "cos", "cosh",
        "degrees", "erf", "exp", "expm1", "fabs", "floor", "hypot", "log", "log10", "log1p",
        "log2", "radians", "sin", "sinh", "sqrt", "tan", "tanh", "trunc",
    )
}  # fmt: skip
_FUNCTIONS.update(abs=abs, times2=lambda v: 2 * v, times3=lambda v: 3 * v)
_CONSTANTS = {"pi": Decimal(repr(math.pi)), "e": Decimal(repr(math.e))}


class Calibration:
    """One endpoint's calibration, checked when built: `cal(raw)` is the calibrated value."""

    def __init__(self, spec: str | dict[Any, Any], endpoint: str) -> None:
        self.spec = spec
        self.endpoint = endpoint
        self._tree: ast.Expression | None = None
        if isinstance(spec, str):
            self._tree = _parse(spec, endpoint)
        elif not isinstance(spec, dict):
            raise ValueError(
                f"endpoint {endpoint!r}: calibration is a string such as '2*{{}}' or a "
                f"mapping of raw values, not {type(spec).__name__}"
            )

    def __call__(self, raw: str) -> Any:
        if isinstance(self.spec, dict):
            return self._lookup(raw)
        assert self._tree is not None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise InvalidValue(
                f"{self.endpoint}: raw value {raw!r} is not a number, so calibration "
                f"{self.spec!r} cannot apply"
            ) from None
        try:
            with localcontext() as context:
                context.prec = 28
                result = _evaluate(self._tree.body, value)
        except (DecimalException, ArithmeticError, ValueError, TypeError) as error:
            raise InvalidValue(
                f"{self.endpoint}: calibration {self.spec!r} of {raw!r} failed: {error}"
            ) from None
        return result

    def _lookup(self, raw: str) -> Any:
        assert isinstance(self.spec, dict)
        for key, value in self.spec.items():
            if str(key) == raw:
                return value
        raise InvalidValue(
            f"{self.endpoint}: raw value {raw!r} has no calibration; known: "
            + ", ".join(repr(str(k)) for k in self.spec)
        )


def _parse(spec: str, endpoint: str) -> ast.Expression:
    refusal = (
        f"endpoint {endpoint!r}: calibration {spec!r} is not an arithmetic expression of "
        "the raw value '{}' (numbers, + - * / // % **, parentheses, functions of math)"
    )
    try:
        source = spec.replace("{}", f" {RAW} ")
        if "{" in source or "}" in source:
            raise ValueError(refusal)
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        raise ValueError(refusal) from None
    bad = _refused(tree.body)
    if bad is not None:
        raise ValueError(f"{refusal}; {ast.unparse(bad).replace(RAW, '{}')!r} is not allowed")
    return tree


def _refused(node: ast.expr) -> ast.expr | None:
    """The first node of `node` that is not arithmetic, or None."""
    if isinstance(node, ast.Constant):
        ok = isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
        return None if ok else node
    if isinstance(node, ast.Name):
        return None if node.id in _CONSTANTS or node.id == RAW else node
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _refused(node.left) or _refused(node.right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _refused(node.operand)
    if isinstance(node, ast.Call) and not node.keywords and _function_name(node.func):
        return next((bad for arg in node.args if (bad := _refused(arg)) is not None), None)
    return node


def _function_name(node: ast.expr) -> str | None:
    """`sqrt` or `math.sqrt` (a function we offer), else None."""
    if isinstance(node, ast.Name) and node.id in _FUNCTIONS:
        return node.id
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "math"
        and node.attr in _FUNCTIONS
    ):
        return node.attr
    return None


def _evaluate(node: ast.expr, raw: Decimal) -> Decimal:
    if isinstance(node, ast.Constant):
        return Decimal(repr(node.value))
    if isinstance(node, ast.Name):
        return raw if node.id == RAW else _CONSTANTS[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, raw), _evaluate(node.right, raw)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, raw))
    if isinstance(node, ast.Call):
        name = _function_name(node.func)
        assert name is not None
        args = [_evaluate(arg, raw) for arg in node.args]
        if name in ("abs", "times2", "times3"):
            return Decimal(_FUNCTIONS[name](*args))
        return Decimal(repr(float(_FUNCTIONS[name](*(float(a) for a in args)))))
    raise ValueError(f"cannot evaluate {ast.unparse(node)}")  # refused at parse time
