"""Requests the client library has no method for (`revkv stats`, `revkv backup`), sent
to the --url server with the same headers, error mapping and one-line failures as
`revkv.Client`'s."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from revkv.cli._output import CommandError
from revkv.cli._target import Target
from revkv.client._base import default_headers, tls_verify
from revkv.client._wire import (
    ForeignAnswer,
    answered,
    check_answer,
    check_base_url,
    error_of,
    unreachable,
)
from revkv.errors import Unauthorized


@contextmanager
def server_response(
    target: Target, path: str, kind: str, *, timeout: float | None = 30.0
) -> Iterator[httpx.Response]:
    """GET `path` from the target's server, streamed; an error answer raises the
    `RevkvError` it stands for (exit code by class), an unreachable server exit 4, as
    does an answer no revkv server gives (an error without revkv's JSON, or a success
    whose content type is not `kind`). `timeout` bounds each wait for bytes, not the
    whole transfer."""
    assert target.url is not None
    check_base_url(target.url)
    try:
        with (
            httpx.Client(
                base_url=target.url,
                headers=default_headers(target.token),
                timeout=timeout,
                verify=tls_verify(target.ca_file or True),
            ) as http,
            http.stream("GET", path) as response,
        ):
            if response.status_code >= 400:
                response.read()
                check_answer(response)
                error = error_of(response.status_code, response.content)
                if isinstance(error, Unauthorized):
                    hint = (
                        "check --token (or $REVKV_TOKEN)"
                        if target.token
                        else ("pass --token TOKEN or set REVKV_TOKEN")
                    )
                    raise CommandError(f"{target.url}: {error}; {hint}", 4)
                raise error
            if not response.headers.get("content-type", "").startswith(kind):
                raise answered(response, f"not revkv's {kind}")
            yield response
    except ForeignAnswer as error:
        raise CommandError(str(error.at(target.url)), 4) from None
    except httpx.TransportError as error:
        raise CommandError(str(unreachable(target.url, error)), 4) from error
