"""`revkv serve`: the HTTP server (it arrives with the HTTP issue)."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the store over HTTP (not built yet: this release has the embedded engine only)."""
    click.echo(
        "revkv serve: the HTTP server is not part of this release yet. The embedded engine is:\n"
        "  python -c 'from revkv.prevalence import open_system; help(open_system)'"
    )
