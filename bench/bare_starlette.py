"""The ceiling for `http.py`: a Starlette app that does nothing but answer.

GET returns a constant; POST and PUT read the whole body (as revkv must) and return a constant.
Served by the same uvicorn, with the same options, on the same pinned core as revkv, its
requests/s are the most any Python handler on Starlette can reach here: revkv's share of it is
what revkv's own work costs.

    python -m uvicorn bare_starlette:app --app-dir bench --port 8000 --no-access-log
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PAYLOAD = b"v" * 100
ACK = b'{"ok":true}\r\n'


async def read(request: Request) -> Response:
    return Response(PAYLOAD, media_type="application/octet-stream")


async def write(request: Request) -> Response:
    await request.body()
    return Response(ACK, media_type="application/json")


app = Starlette(
    routes=[
        Route("/{path:path}", read, methods=["GET"]),
        Route("/{path:path}", write, methods=["POST", "PUT"]),
    ]
)
