"""The `revkv` command.

Exit codes: 0 ok, 1 not found, 2 usage, 3 conflict, 4 any other error.
"""

from __future__ import annotations

from revkv.cli._main import cli, main

__all__ = ["cli", "main"]
