"""Global options, before the command or after it: `revkv --url U get k` is `revkv get k --url U`.

The `revkv` group declares its options once, with their variables and defaults; then
`share_global_options` adds the same flags to every command below it, so they may also
follow the command's name (as users of etcdctl and redis-cli type them), and each
command's --help lists them. `-n/--namespace` and `--json` are the commands' own options
(a command without them refuses them); before the command they set the command's default.

Every occurrence is recorded, in the order click parses them (the group, then a sub-group,
then the command), in one `Globals` per run: where an option is given both before and
after the command, the one after it wins. `revkv.cli._target.choose_target` reads the
result, so `--data` before the command and `--url` after it are both "given", and a usage
error, as when both come before it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click
from click.core import ParameterSource

#: the group's options that every command takes too (the rest are the group's alone)
SHARED = ("data", "url", "token", "ca_file", "db", "verbose")
#: options that are the commands' own; the group's value is their default
DEFAULTED = {"-n": "namespace", "--json": "as_json"}
_KEY = "revkv.globals"
_PREFIX = "global_"  # the name of a shared copy: never a command's own parameter's name


@dataclass
class Given:
    """One global option's value, and whether it came from the command line (before the
    command or after it) rather than a variable or its default."""

    value: Any = None
    on_command_line: bool = False


@dataclass
class Globals:
    """The global options of one run, as recorded so far."""

    given: dict[str, Given] = field(default_factory=dict)

    def value(self, name: str, default: Any = None) -> Any:
        found = self.given.get(name)
        return default if found is None else found.value

    def on_command_line(self, name: str) -> bool:
        found = self.given.get(name)
        return found is not None and found.on_command_line


def recorded(ctx: click.Context | None = None) -> Globals | None:
    """The run's `Globals`, or None for a command invoked without the group (or outside
    a run); `ctx.meta` is shared by a context and all its children."""
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return None
    found = ctx.meta.get(_KEY)
    return found if isinstance(found, Globals) else None


Callback = Callable[[click.Context, click.Parameter, Any], Any]


def remembered(check: Callback | None = None) -> Callback:
    """A callback for a group option: check the value (with `check`), then record it."""

    def remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if check is not None:
            value = check(ctx, param, value)
        assert param.name is not None
        source = ctx.get_parameter_source(param.name)
        ctx.meta.setdefault(_KEY, Globals()).given[param.name] = Given(
            value, source == ParameterSource.COMMANDLINE
        )
        return value

    return remember


def _overriding(name: str, check: Callback | None) -> Callback:
    """A callback for a shared copy: a value given after the command replaces the group's."""

    def override(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        assert param.name is not None
        if ctx.get_parameter_source(param.name) != ParameterSource.COMMANDLINE:
            return value
        if check is not None:
            value = check(ctx, param, value)
        ctx.meta.setdefault(_KEY, Globals()).given[name] = Given(value, True)
        if name == "verbose":
            logging.getLogger().setLevel(log_level(value))
        return value

    return override


def log_level(verbose: int) -> int:
    """-v: info, -vv: debug; else warnings only."""
    return logging.WARNING - 10 * min(verbose, 2)


def share_global_options(group: click.Group) -> None:
    """Give every command below `group` its shared options and the defaults of -n/--json.

    A command that has an option of the same name keeps its own (`serve --data`,
    `dripline serve --url`), which then means what that command says.
    """
    shared = [p for p in group.params if isinstance(p, click.Option) and p.name in SHARED]
    for command in group.commands.values():
        _share(command, shared)


def _share(command: click.Command, shared: list[click.Option]) -> None:
    taken = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for option in shared:
        if not taken.intersection(option.opts):
            command.params.append(_copy(option))
    for param in command.params:
        if isinstance(param, click.Option):
            _default_from_group(param)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _share(sub, shared)


def _copy(option: click.Option) -> click.Option:
    """The group's option as a command takes it: no variable, no default (the group has
    them), a callback that records a value given after the command."""
    assert option.name is not None
    return click.Option(
        [*option.opts, *option.secondary_opts, _PREFIX + option.name],
        type=None if option.count else option.type,
        count=option.count,
        metavar=option.metavar,
        expose_value=False,
        callback=_overriding(option.name, option.callback),
        show_default=False,
        help=_short(option.name),
    )


#: a command's --help lists six of them: one line each, the group's --help says the rest
SHORT_HELP = {
    "data": "The data directory of an embedded store",
    "url": "Work against the revkv server at URL (e.g. http://127.0.0.1:8080)",
    "token": "The bearer token to send to the --url server",
    "ca_file": "The CA that signed an https:// --url server's certificate",
    "db": "Work on the store in a PostgreSQL database",
    "verbose": "Log more (-v info, -vv debug)",
}


def _short(name: str) -> str:
    return f"{SHORT_HELP[name]}; as before the command (see revkv --help)."


def _default_from_group(option: click.Option) -> None:
    """A command's own -n or --json defaults to the group's (itself from its variable)."""
    name = next((DEFAULTED[opt] for opt in option.opts if opt in DEFAULTED), None)
    if name is None:
        return
    if option.multiple:  # export's -n NS (repeatable)
        option.default = _namespaces_before
        return
    fallback = option.default
    option.envvar = None  # the group reads $REVKV_NAMESPACE, and a flag before beats it

    def default() -> Any:
        found = recorded()
        if found is None or name not in found.given:
            return os.environ.get("REVKV_NAMESPACE", fallback) if name == "namespace" else fallback
        return found.value(name)

    option.default = default
    if name == "namespace":
        option.show_default = "default"
        option.help = "The namespace (or -n before the command, or $REVKV_NAMESPACE)."


def _namespaces_before() -> tuple[str, ...]:
    """`revkv -n NS export`: that namespace only (not $REVKV_NAMESPACE: export takes all)."""
    found = recorded()
    if found is None or not found.on_command_line("namespace"):
        return ()
    return (found.value("namespace"),)


def refuse_unused(ctx: click.Context) -> None:
    """`revkv -n NS stats`: a usage error, since `stats` takes no namespace (and --json)."""
    found = recorded(ctx)
    name = ctx.invoked_subcommand
    group = ctx.command
    if found is None or name is None or not isinstance(group, click.Group):
        return
    command = group.get_command(ctx, name)
    if command is None:
        return
    opts = {opt for param in command.params for opt in param.opts}
    for flag, param in DEFAULTED.items():
        if found.on_command_line(param) and flag not in opts:
            shown = "-n/--namespace" if flag == "-n" else flag
            raise click.UsageError(f"`revkv {name}` takes no {shown}", ctx)
