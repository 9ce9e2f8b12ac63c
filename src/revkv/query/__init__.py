"""OData 2 ``$filter`` and ``$orderby``: text to a typed tree, tree to Python.

The REST listing, the OData door and the SQL store all share this package: the parser
gives a tree (``revkv.query._ast``) that each back end compiles in its own way. Here,
``compile_filter`` makes a predicate over records (mappings of property names to plain
Python values) and ``compile_orderby`` a sort::

    predicate = compile_filter(parse_filter(text), source=text)
    matching = [r for r in records if predicate(r)]
    ordered = compile_orderby(parse_orderby("Expires desc, Key"))(matching)

Errors in the text are ``revkv.errors.QuerySyntaxError`` with a 0-based ``position``.
So is text over the limits that bound one request's cost (``_parse.MAX_LENGTH``
characters, ``MAX_TERMS`` operands, ``MAX_CALLS`` function calls, ``MAX_DEPTH`` nesting;
docs/http-api.md lists them).
"""

from __future__ import annotations

from revkv.query._ast import (
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
    walk,
)
from revkv.query._evaluate import Predicate, Record, compile_expression, compile_filter
from revkv.query._order import compile_orderby, sort_records
from revkv.query._parse import parse_filter, parse_orderby

__all__ = [
    "Binary",
    "BinaryOp",
    "Call",
    "EdmType",
    "Function",
    "Literal",
    "Node",
    "OrderBy",
    "Predicate",
    "Property",
    "Record",
    "Unary",
    "UnaryOp",
    "compile_expression",
    "compile_filter",
    "compile_orderby",
    "parse_filter",
    "parse_orderby",
    "sort_records",
    "walk",
]
