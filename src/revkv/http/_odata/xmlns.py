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
    except XmlError:
        raise
    except (LookupError, ValueError) as error:  # expat: an encoding it cannot read
        raise XmlError(
            f"the XML declares an encoding revkv cannot read ({error}); send UTF-8"
        ) from None


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
    _Writer(prefixes, out).write(root, declarations)
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


_TEXT_SPECIAL = re.compile("[&<>\r]")
_ATTRIBUTE_SPECIAL = re.compile('[&<>"\n\r\t]')


def _escape_text(text: str) -> str:
    return text.translate(_TEXT_ESCAPES) if _TEXT_SPECIAL.search(text) else text


def _escape_attribute(text: str) -> str:
    return text.translate(_ATTRIBUTE_ESCAPES) if _ATTRIBUTE_SPECIAL.search(text) else text


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


class _Writer:
    """Writes elements to ``out``, naming each tag and attribute once per document (a
    feed of 100 entries repeats a dozen names a hundred times)."""

    __slots__ = ("_attributes", "_elements", "out", "prefixes")

    def __init__(self, prefixes: Mapping[str, str], out: list[str]) -> None:
        self.prefixes = prefixes
        self.out = out
        self._elements: dict[str, str] = {}
        self._attributes: dict[str, str] = {}

    def write(self, element: ET.Element, extra: str = "") -> None:
        out = self.out
        name = self._elements.get(element.tag)
        if name is None:
            name = self._elements[element.tag] = _qualified(
                element.tag, self.prefixes, attribute=False
            )
        out.append("<" + name + extra)
        for key, value in element.attrib.items():
            attribute = self._attributes.get(key)
            if attribute is None:
                attribute = self._attributes[key] = _qualified(key, self.prefixes, attribute=True)
            out.append(f' {attribute}="{_escape_attribute(value)}"')
        if not len(element) and not element.text:
            out.append("/>")
            return
        out.append(">" + _escape_text(element.text) if element.text else ">")
        for child in element:
            self.write(child)
            if child.tail:
                out.append(_escape_text(child.tail))
        out.append(f"</{name}>")
