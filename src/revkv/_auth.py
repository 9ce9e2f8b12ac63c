"""Bearer tokens: who may read or write which namespaces.

With no tokens configured everyone may do everything (and the server then refuses to
listen anywhere but on loopback unless told `--insecure`). A presented token is hashed
and its digest compared with every configured token's digest, each in constant time:
neither the content nor the length of a secret, nor which entry matched, shows in the
time an answer takes. A token's name is the author of its writes, unless the token may
act for others (`act_as_others`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
from dataclasses import dataclass

from revkv._config import Token
from revkv._model import check_namespace_name
from revkv.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Principal:
    """Who sends a request: a configured token, or ANONYMOUS when there are none.

    `act_as_others`: the token may sign commits with an author other than its own name
    (a gateway writing for its users); any other token's commits carry its name, so
    the commit records which token made it and no writer can pass for another.
    """

    name: str
    rights: str
    namespaces: tuple[str, ...]
    act_as_others: bool = False

    def may(self, namespace: str | None, write: bool) -> bool:
        if write and self.rights != "read-write":
            return False
        if namespace is None:  # every namespace: only for a token that may see them all
            return "*" in self.namespaces
        return any(fnmatch.fnmatchcase(namespace, p) for p in self.namespaces)

    @property
    def may_write_somewhere(self) -> bool:
        return self.rights == "read-write" and bool(self.namespaces)

    def author_of(self, author: str | None) -> str:
        """The author a write by this principal records: its own name unless it may
        act for others; `Forbidden` when `author` names someone else without that right."""
        if not author or author == self.name:  # none (or an empty header): the token's
            return self.name
        if not self.act_as_others:
            raise Forbidden(
                f"token {self.name!r} signs its commits with its own name and may not write "
                f"as {author[:60]!r}; leave the author out, or give the token "
                "act_as_others = true"
            )
        return author


ANONYMOUS = Principal("", "read-write", ("*",), act_as_others=True)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).digest()


class Auth:
    def __init__(self, tokens: tuple[Token, ...]) -> None:
        self.tokens = tokens
        self._digests = tuple((_digest(t.token), t) for t in tokens)

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an `Authorization: Bearer ...` header."""
        if not self._digests:
            return ANONYMOUS
        if not authorization:
            raise Unauthorized("this server needs a token: send 'Authorization: Bearer <token>'")
        scheme, _, presented = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Unauthorized("send the token as 'Authorization: Bearer <token>'")
        candidate = _digest(presented.strip())
        found = None
        for digest, token in self._digests:  # every entry, whichever matches
            if hmac.compare_digest(candidate, digest):
                found = token
        if found is None:
            raise Unauthorized("the token is not valid for this server")
        return Principal(found.name, found.rights, found.namespaces, found.act_as_others)

    @staticmethod
    def authorize(principal: Principal, namespace: str | None, write: bool) -> None:
        """Forbidden unless `principal` may; a namespace is checked to be a name first."""
        if namespace is not None:
            check_namespace_name(namespace)  # a pattern matches names, not arbitrary JSON
        if principal is ANONYMOUS:  # no tokens configured: everyone may do everything
            return
        if not principal.may(namespace, write):
            what = "write to" if write else "read"
            where = f"namespace {namespace!r}" if namespace else "every namespace"
            raise Forbidden(f"token {principal.name!r} may not {what} {where}")
