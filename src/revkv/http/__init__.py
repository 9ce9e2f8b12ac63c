"""The HTTP door: Starlette routes over the Service.

`create_app(service)` serves a Service you opened (tests, embedding in another ASGI
app); `app_for(settings)` opens the store the settings name and closes it at shutdown
(what `revkv serve` runs).
"""

from __future__ import annotations

from revkv.http._app import app_for, create_app

__all__ = ["app_for", "create_app"]
