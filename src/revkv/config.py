"""One typed settings object: defaults, then a TOML file, then the environment, then flags.

    # revkv.toml
    data = "/var/lib/revkv"
    host = "127.0.0.1"
    port = 8080
    durability = "always"
    odata_schema = "MemCacheSchema.xml"

    [[tokens]]
    name = "deploy"                  # becomes the author of this token's writes
    token = "s3cret-deploy-token"
    rights = "read-write"            # or "read"
    namespaces = ["config.*", "flags"]   # shell-style patterns; default ["*"]

Environment: REVKV_DATA, REVKV_HOST, REVKV_PORT, REVKV_DURABILITY.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from revkv.errors import InvalidRequest

Rights = Literal["read", "read-write"]


@dataclass(frozen=True)
class Token:
    name: str
    token: str
    rights: Rights = "read"
    namespaces: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class Settings:
    data: Path | None = Path("revkv-data")  # None: in memory only
    host: str = "127.0.0.1"
    port: int = 8080
    durability: str = "always"
    tokens: tuple[Token, ...] = ()
    insecure: bool = False
    odata_schema: Path | None = None
    auto_create_namespaces: bool = True
    watch_keepalive: float = 15.0
    max_watchers: int = 100_000
    extra: dict[str, Any] = field(default_factory=dict)

    def merged(self, **overrides: Any) -> Settings:
        """These settings with every override that is not None applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def load_settings(path: Path | None = None, **flags: Any) -> Settings:
    settings = Settings()
    if path is not None:
        settings = _from_file(settings, path)
    settings = _from_env(settings)
    return settings.merged(**flags)


def _from_file(settings: Settings, path: Path) -> Settings:
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidRequest(f"cannot read the config file {path}: {exc}") from exc
    known = {f for f in Settings.__dataclass_fields__ if f not in ("extra", "tokens")}
    unknown = set(raw) - known - {"tokens"}
    if unknown:
        raise InvalidRequest(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {k: v for k, v in raw.items() if k in known}
    for name in ("data", "odata_schema"):
        if isinstance(values.get(name), str):
            values[name] = (path.parent / values[name]).resolve()
    values["tokens"] = tuple(_token(t, path) for t in raw.get("tokens", []))
    return replace(settings, **values)


def _token(raw: Any, path: Path) -> Token:
    if not isinstance(raw, dict) or not {"name", "token"} <= raw.keys():
        raise InvalidRequest(f"{path}: each [[tokens]] entry needs a name and a token")
    rights = raw.get("rights", "read")
    if rights not in ("read", "read-write"):
        raise InvalidRequest(f"{path}: token {raw['name']!r}: rights is 'read' or 'read-write'")
    if len(str(raw["token"])) < 16:
        raise InvalidRequest(f"{path}: token {raw['name']!r} is shorter than 16 characters")
    patterns = raw.get("namespaces", ["*"])
    return Token(str(raw["name"]), str(raw["token"]), rights, tuple(map(str, patterns)))


def _from_env(settings: Settings) -> Settings:
    env = os.environ
    overrides: dict[str, Any] = {}
    if "REVKV_DATA" in env:
        overrides["data"] = Path(env["REVKV_DATA"])
    if "REVKV_HOST" in env:
        overrides["host"] = env["REVKV_HOST"]
    if "REVKV_PORT" in env:
        try:
            overrides["port"] = int(env["REVKV_PORT"])
        except ValueError:
            raise InvalidRequest(
                f"REVKV_PORT must be a number, not {env['REVKV_PORT']!r}"
            ) from None
    if "REVKV_DURABILITY" in env:
        overrides["durability"] = env["REVKV_DURABILITY"]
    return replace(settings, **overrides)
