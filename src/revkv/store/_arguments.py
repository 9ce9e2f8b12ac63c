"""Arguments of the store's commands: checked, and put in the plain form the journal keeps.

Everything here runs before a command exists, so a bad argument is refused before
anything is journaled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from revkv._model import (
    Check,
    Commit,
    Default,
    check_author,
    check_key,
    check_namespace_name,
    check_payload,
    check_time,
    check_token,
    check_ttl,
    check_version,
)
from revkv.errors import InvalidRequest
from revkv.store.base import TTL, Expires


def live(commit: Commit, now: float) -> bool:
    return not commit.deleted and (commit.expires is None or commit.expires > now)


def mtime_arg(mtime: float | None) -> float | None:
    return None if mtime is None else check_time(mtime, "mtime")


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidRequest(f"limit must be a positive integer, not {limit!r}")
    return limit


def load_row(commit: Commit) -> list[Any]:
    if not isinstance(commit, Commit):
        raise InvalidRequest(f"import takes Commit objects, not {type(commit).__name__}")
    check_namespace_name(commit.namespace)
    check_key(commit.key)
    check_version(commit.version)
    author, comment = check_author(commit.author, commit.comment)
    payload = b"" if commit.deleted else check_payload(commit.payload)
    expires = None if commit.expires is None else check_time(commit.expires, "expires")
    token = [check_token(commit.token)] if commit.token else []
    return [
        commit.namespace, commit.key, commit.version, check_time(commit.mtime, "mtime"),
        author, comment, expires, bool(commit.deleted), payload, *token,
    ]  # fmt: skip


def check_row(check: Check) -> list[Any]:
    if not isinstance(check, Check):
        raise InvalidRequest(f"a transaction check is a Check, not {check!r}")
    check_namespace_name(check.namespace)
    check_key(check.key)
    if check.version is not None:
        check_version(check.version)
    return [check.namespace, check.key, check.version]


def expiry_arg(ttl: TTL, expires: Expires) -> list[Any]:
    """The command's expiry argument; see StoreState.put."""
    if not isinstance(ttl, Default) and not isinstance(expires, Default):
        raise InvalidRequest("give ttl or expires, not both")
    if not isinstance(expires, Default):
        if expires is None:
            return ["never"]
        if isinstance(expires, datetime):
            moment = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
            return ["at", check_time(moment.timestamp(), "expires")]
        return ["at", check_time(expires, "expires")]
    if isinstance(ttl, Default):
        return ["default"]
    if ttl is None:
        return ["never"]
    return ["ttl", check_ttl(ttl)]
