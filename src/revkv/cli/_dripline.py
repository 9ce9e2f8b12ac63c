"""`revkv dripline`: serve a dragonfly kv_store YAML file on RabbitMQ, and talk to it.

The tools print as dragonfly does (``peaches(ret:0): {'value_cal': 1.5, 'value_raw':
'0.75'}``; a non-zero retcode in red with its return message), or JSON with --json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from revkv.cli._output import CommandError, exit_code_for

BROKER_HELP = (
    "The AMQP broker: a host (bare -b: localhost; default: the YAML's `broker`) or an "
    "amqp://user:pass@host:port/vhost URL."
)


def broker_option(f: Any) -> Any:
    """`-b` with an optional value, as dragonfly's: bare `-b` means localhost."""
    return click.option(
        "-b", "--broker", is_flag=False, flag_value="localhost", default=None, help=BROKER_HELP
    )(f)


@click.group()
def dripline() -> None:
    """dripline (wp1) on RabbitMQ: a kv_store service whose values are revkv keys.

    \b
    Examples:
      revkv dripline serve -c kv_store_tutorial.yaml -b localhost --data ./store
      revkv dripline get peaches
      revkv dripline set chips 1.79
      revkv dripline cmd my_store lock
      revkv dripline monitor -e requests -po
    """


@dripline.command()
@click.option(
    "-c",
    "--config",
    "config_file",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The service's YAML file (dragonfly's layout, or the older nodename one).",
)
@broker_option
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The store's data directory (default: the global --data).",
)
@click.option(
    "--url",
    default=None,
    metavar="URL",
    help="Keep the values in the revkv server at URL instead of a directory.",
)
@click.pass_context
def serve(ctx: click.Context, config_file: Path, broker: str | None, data: Path | None,
          url: str | None) -> None:  # fmt: skip
    """Serve the YAML file's kv_store endpoints until stopped (SIGTERM, Ctrl-C).

    Each kv_store provider is a namespace, each kv_store_key endpoint a key; an
    initial_value is committed only when the key has no value yet.

    \b
    Examples:
      revkv dripline serve -c kv_store_tutorial.yaml -b localhost --data ./store
      revkv dripline serve -c kv_store_tutorial.yaml -b amqp://u:p@mq:5672/ --url http://127.0.0.1:8080
    """
    from revkv.cli._target import target_or_none
    from revkv.dripline._broker import broker_url
    from revkv.dripline._config import ConfigError, load_config

    if data is not None and url is not None:
        raise click.UsageError("give --data or --url, not both")
    try:
        config = load_config(config_file)
    except (ConfigError, ValueError) as error:
        raise click.UsageError(str(error)) from None
    target = target_or_none()
    if data is None and url is None and target is not None:
        data, url = (None, target.url) if target.url else (target.data, None)
    amqp = broker_url(broker, config.broker)
    token, ca_file = (target.token, target.ca_file) if target else (None, None)
    asyncio.run(_serve(config, amqp, data, url, token, ca_file))


async def _serve(config: Any, amqp: str, data: Path | None, url: str | None,
                 token: str | None, ca_file: Path | None = None) -> None:  # fmt: skip
    import revkv
    from revkv.dripline._keys import Keys, LocalKeys, RemoteKeys
    from revkv.dripline._service import DriplineService

    keys: Keys
    if url is not None:
        keys = RemoteKeys(revkv.AsyncClient(url, token=token, verify=ca_file or True))
    else:
        keys = LocalKeys(revkv.open(data), owned=True)
    service = DriplineService(config, keys, amqp)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await service.start()
        where = url or data
        click.echo(f"revkv dripline: {config.name} serving {where}", err=True)
        await stop.wait()
    finally:
        await service.stop()
        await keys.close()


def _cast(text: str) -> Any:
    """dragonfly's casting of command-line values: int, float, bool, None, else str."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def _request_command(op_name: str, help_text: str, example: str) -> click.Command:
    help_text += (
        "\n\nValues that look like numbers, true/false or none are sent as such; "
        "name=value goes into the payload as a named argument.\n\n"
        f"\b\nExamples:\n  revkv dripline {op_name} {example}\n"
        f"  revkv dripline {op_name} {example} -b localhost --json"
    )

    @click.command(name=op_name, help=help_text)
    @click.argument("target")
    @click.argument("values", nargs=-1)
    @broker_option
    @click.option(
        "--timeout",
        type=float,
        default=10.0,
        show_default=True,
        help="Seconds to wait for a reply.",
    )
    @click.option("--lockout-key", default=None, help="The key of a locked service.")
    @click.option("--json", "as_json", is_flag=True, help="Print the reply(ies) as JSON.")
    def command(target: str, values: tuple[str, ...], broker: str | None, timeout: float,
                lockout_key: str | None, as_json: bool) -> None:  # fmt: skip
        from revkv.dripline._interface import Interface
        from revkv.dripline._wire import MsgOp

        if (target.startswith("broadcast.") and target not in BROADCAST_SAFE
                and not click.confirm(f"send {op_name} to every service ({target})?")):  # fmt: skip
            raise click.Abort
        positional = [_cast(v) for v in values if "=" not in v]
        named = {k: _cast(v) for k, _, v in (v.partition("=") for v in values if "=" in v)}
        with Interface(broker, timeout=timeout, lockout_key=lockout_key,
                       confirm_retcodes=False) as interface:  # fmt: skip
            replies = interface.request(MsgOp[op_name.upper()], target, positional, named)
        _print(replies, as_json)
        failed = next((r for r in replies if not r.ok), None)
        if failed is not None:
            raise click.exceptions.Exit(exit_code_for(failed.error()))

    return command


BROADCAST_SAFE = {"broadcast.ping", "broadcast.lock", "broadcast.unlock"}


def _print(replies: list[Any], as_json: bool) -> None:
    if as_json:
        data = [
            {"target": r.target, "retcode": r.retcode, "return_msg": r.return_msg,
             "payload": r.payload, "sender_info": r.sender_info}
            for r in replies
        ]  # fmt: skip
        click.echo(json.dumps(data[0] if len(data) == 1 else data, default=str))
        return
    for reply in replies:
        payload = dict(sorted(reply.payload.items()))  # dragonfly's order: value_cal first
        line = f"{reply.target}(ret:{reply.retcode}): {payload!r}"
        if reply.ok:
            click.echo(line)
        else:
            click.secho(line, fg="red")
            click.secho(f"return message: {reply.return_msg}", fg="red")


for _op, _help, _example in (
    ("get", "Return the value of an endpoint, or of one of its attributes (peaches.log_interval).",
     "peaches"),
    ("set", "Set the value of an endpoint, or of one of its attributes.", "chips 1.79"),
    ("cmd", "Have an endpoint or service execute a command (lock, unlock, ping).",
     "my_store lock"),
    ("send", "Send an OP_SEND to a provider: a kv_store logs what it is sent.",
     "my_price_list hello"),
    ("run", "Send an OP_RUN; what it does is the endpoint's (a kv_store key has none).",
     "peaches"),
):  # fmt: skip
    dripline.add_command(_request_command(_op, _help, _example))


@dripline.command()
@broker_option
@click.option("-e", "--exchange", default="alerts", show_default=True, help="Exchange to follow.")
@click.option(
    "-k",
    "--keys",
    multiple=True,
    default=("#",),
    show_default=True,
    help="Binding keys to follow (repeat for several).",
)
@click.option("-po", "--payload-only", is_flag=True, help="Print only each message's payload.")
def monitor(broker: str | None, exchange: str, keys: tuple[str, ...], payload_only: bool) -> None:
    """Print every message on an exchange (does not prevent delivery) until stopped.

    \b
    Examples:
      revkv dripline monitor                      # every alert
      revkv dripline monitor -e requests -po      # request and reply payloads
      revkv dripline monitor -k 'sensor_value.#' -k 'revkv.commit.#'
    """
    from revkv.dripline._broker import broker_url

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_monitor(broker_url(broker), exchange, keys, payload_only))


async def _monitor(url: str, exchange_name: str, keys: tuple[str, ...], payload_only: bool) -> None:
    import aio_pika

    from revkv.dripline._wire import decode
    from revkv.errors import RevkvError, Unreachable

    try:
        connection = await aio_pika.connect(url, timeout=10)
    except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as error:
        raise CommandError.of(Unreachable(url.rsplit("@", maxsplit=1)[-1], str(error))) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.TOPIC)
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        for key in keys:
            await queue.bind(exchange, key)

        async def show(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            try:
                body: Any = decode(message.body, message.content_encoding)
            except RevkvError:
                body = {"undecodable": message.body.decode("utf-8", "replace")}
            shown = body.get("payload") if payload_only else body
            if not payload_only:
                click.echo(f"{message.app_id} [{message.routing_key}]     (From App [routing_key])")
            click.echo(json.dumps(shown, indent=4, default=_number))
            sys.stdout.flush()

        await queue.consume(show, no_ack=True)
        click.echo(f"monitoring {exchange_name} [{', '.join(keys)}]", err=True)
        await stop.wait()


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)
