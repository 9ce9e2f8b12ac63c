"""Bearer tokens: who may read or write which namespaces.

With no tokens configured everyone may do everything (and the server then refuses to
listen anywhere but on loopback unless told `--insecure`). Tokens are compared in
constant time; a token's name becomes the default author of its writes.
"""

from __future__ import annotations

import fnmatch
import hmac
from dataclasses import dataclass

from revkv.config import Token
from revkv.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Principal:
    name: str
    rights: str
    namespaces: tuple[str, ...]

    def may(self, namespace: str | None, write: bool) -> bool:
        if write and self.rights != "read-write":
            return False
        if namespace is None:  # every namespace: only for a token that may see them all
            return "*" in self.namespaces
        return any(fnmatch.fnmatchcase(namespace, p) for p in self.namespaces)


ANONYMOUS = Principal("", "read-write", ("*",))


class Auth:
    def __init__(self, tokens: tuple[Token, ...]) -> None:
        self.tokens = tokens

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an `Authorization: Bearer ...` header."""
        if not self.tokens:
            return ANONYMOUS
        if not authorization:
            raise Unauthorized("this server needs a token: send 'Authorization: Bearer <token>'")
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Unauthorized("send the token as 'Authorization: Bearer <token>'")
        candidate = presented.strip().encode()
        found = None
        for token in self.tokens:  # compare with every token, in constant time each
            if hmac.compare_digest(candidate, token.token.encode()):
                found = token
        if found is None:
            raise Unauthorized("the token is not valid for this server")
        return Principal(found.name, found.rights, found.namespaces)

    @staticmethod
    def authorize(principal: Principal, namespace: str | None, write: bool) -> None:
        if not principal.may(namespace, write):
            what = "write to" if write else "read"
            where = f"namespace {namespace!r}" if namespace else "this resource"
            raise Forbidden(f"token {principal.name!r} may not {what} {where}")
