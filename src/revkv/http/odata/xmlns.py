"""The XML namespaces of OData 2; parsing what clients send and writing what they read.

Documents are built as ElementTree trees and written by ``serialize`` with an explicit
map of namespace to prefix, declared on the root: the shapes of Pyslet's server
(``<entry xmlns="...Atom" xmlns:d=... xmlns:m=...>``), which ElementTree's own writer
cannot give (its ``default_namespace`` refuses unprefixed attributes, and its prefixes
come from one process-wide table).

Parsing refuses a document type declaration: OData never needs one, and refusing it
rules out entity-expansion attacks whatever the version of expat underneath.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

__all__ = [
    "APP",
    "ATOM",
    "CSDL",
    "CSDL_NAMESPACES",
    "DATA",
    "EDMX",
    "METADATA",
    "REVKV",
    "SCHEME",
    "XML",
    "XML_INVALID",
    "XmlError",
    "parse_xml",
    "q",
    "serialize",
]

ATOM = "http://www.w3.org/2005/Atom"
APP = "http://www.w3.org/2007/app"
DATA = "http://schemas.microsoft.com/ado/2007/08/dataservices"
METADATA = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"
EDMX = "http://schemas.microsoft.com/ado/2007/06/edmx"
CSDL = "http://schemas.microsoft.com/ado/2006/04/edm"
CSDL_NAMESPACES = frozenset(
    {
        CSDL,
        "http://schemas.microsoft.com/ado/2007/05/edm",
        "http://schemas.microsoft.com/ado/2008/09/edm",
        "http://schemas.microsoft.com/ado/2009/11/edm",
    }
)
"""CSDL 1.0, 1.1, 2.0 and 3.0: all appear in OData 2 services, and Pyslet reads them all.
revkv writes 1.0, as Pyslet's server does."""
REVKV = "urn:revkv"
"""revkv's annotations in a schema: ``revkv:Expiry="true"``, ``revkv:Field="version"``."""
XML = "http://www.w3.org/XML/1998/namespace"

XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 cannot carry, even escaped."""


class XmlError(ValueError):
    """A document is not well-formed XML, or declares a document type."""


def q(namespace: str, name: str) -> str:
    """ElementTree's name of ``name`` in ``namespace``: ``{namespace}name``."""
    return f"{{{namespace}}}{name}"


class _NoDoctype(ET.TreeBuilder):
    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise XmlError("document type declarations (<!DOCTYPE>) are not accepted")


def parse_xml(document: bytes | str) -> ET.Element:
    """The root element of a document; XmlError saying where it is broken."""
    parser = ET.XMLParser(target=_NoDoctype())
    try:
        parser.feed(document)
        return parser.close()
    except ET.ParseError as error:
        line, column = error.position
        raise XmlError(f"not well-formed XML at line {line}, column {column + 1}") from None


def serialize(root: ET.Element, prefixes: Mapping[str, str], *, declaration: bool = True) -> bytes:
    """UTF-8 bytes of the tree, with every namespace of ``prefixes`` (URI to prefix, ""
    for the default namespace) declared on the root. XmlError if a text or attribute
    holds a character XML 1.0 cannot carry (a control character other than tab, line
    feed and carriage return), since no client could read the document."""
    out: list[str] = ['<?xml version="1.0" encoding="utf-8"?>\n'] if declaration else []
    declarations = "".join(
        f' xmlns{":" + prefix if prefix else ""}="{_escape_attribute(uri)}"'
        for uri, prefix in prefixes.items()
    )
    _write(root, out, prefixes, declarations)
    text = "".join(out)
    bad = XML_INVALID.search(text)
    if bad:
        raise XmlError(f"the character U+{ord(bad.group()):04X} cannot be written in XML")
    return text.encode("utf-8")


_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def _escape_text(text: str) -> str:
    return text.translate(_TEXT_ESCAPES)


def _escape_attribute(text: str) -> str:
    return text.translate(_ATTRIBUTE_ESCAPES)


def _qualified(tag: str, prefixes: Mapping[str, str], *, attribute: bool) -> str:
    if not tag.startswith("{"):
        return tag
    namespace, _, local = tag[1:].partition("}")
    if namespace == XML:
        return "xml:" + local
    prefix = prefixes[namespace]
    if not prefix and attribute:
        raise ValueError(f"attribute {tag} needs a namespace prefix")
    return f"{prefix}:{local}" if prefix else local


def _write(
    element: ET.Element, out: list[str], prefixes: Mapping[str, str], extra: str = ""
) -> None:
    name = _qualified(element.tag, prefixes, attribute=False)
    out.append("<" + name + extra)
    for key, value in element.attrib.items():
        out.append(f' {_qualified(key, prefixes, attribute=True)}="{_escape_attribute(value)}"')
    if not len(element) and not element.text:
        out.append("/>")
    else:
        out.append(">" + _escape_text(element.text or ""))
        for child in element:
            _write(child, out, prefixes)
            out.append(_escape_text(child.tail or ""))
        out.append(f"</{name}>")
