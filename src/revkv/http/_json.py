"""revkv's JSON answers end as Rainer's do: with `\r\n`.

Rainer's servlet ends every JSON body with `\r\n` and pyrainer's users see it, so the
`/kv` door must; every other JSON body of revkv's own (namespaces, `/changes`,
`/txn`, `/stats`, `/health`, `/`, `/openapi.json`, errors) ends the same way, so a
client or a person with curl meets one rule. The OData door follows OData's format.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse as StarletteJSONResponse

CRLF = b"\r\n"


class JSONResponse(StarletteJSONResponse):
    """Starlette's compact JSON (UTF-8, no NaN), then `\r\n`."""

    def render(self, content: Any) -> bytes:
        return super().render(content) + CRLF
