"""The slash-command registry: one implementation of each command, bound by every adapter.

An adapter turns its platform's invocation into (name, args text, Caller) and renders the
`CommandResult` in its own format (Block Kit, embeds, terminal text). Permission checks happen here,
once, so no adapter can forget them.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from adapters.platform import Caller, CommandResult, Option, Progress, ProgressFn, ResultItem

if TYPE_CHECKING:  # types only: the CLI imports this module and stays light
    from storage.db import Database
    from workflows.llm.runner import StepRunner

    from ..cases import CaseService
    from ..settings import Settings

__all__ = [
    "AppServices",
    "Args",
    "BoundCommands",
    "Caller",
    "Command",
    "CommandContext",
    "CommandError",
    "CommandRegistry",
    "CommandResult",
    "Option",
    "Progress",
    "ProgressFn",
    "ResultItem",
    "parse_args",
]

_log = logging.getLogger(__name__)

_MENTION = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")


class AppServices(Protocol):
    """What commands use of the application (bot.wiring.Services): settings, storage, the model runner,
    the case use cases."""

    settings: Settings
    db: Database
    runner: StepRunner
    cases: CaseService

    def faqs_changed(self) -> None: ...  # a new FAQ set was stored: the general answerer reloads


class CommandError(Exception):
    """A clear, user-facing refusal or usage error (shown privately)."""


@dataclass
class CommandContext:
    caller: Caller
    services: AppServices
    channel_id: str = ""
    progress: ProgressFn | None = None

    async def report(self, progress: Progress) -> None:
        if self.progress is not None:
            await self.progress(progress)


@dataclass(frozen=True)
class Args:
    positional: list[str]
    named: dict[str, str]
    raw: str = ""  # the text as typed: free text (a note, a reason) is taken from here, quotes intact

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.named.get(name, default)


Handler = Callable[[CommandContext, Args], Awaitable[CommandResult]]


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    usage: str
    handler: Handler
    options: tuple[Option, ...] = ()
    staff_only: bool = True
    long_running: bool = False  # adapters acknowledge at once and deliver by follow-up


def normalize_user(value: str) -> str:
    """`<@U123|ann>` (Slack), `<@!123>` (Discord) or `@U123` → the bare id."""
    value = value.strip()
    m = _MENTION.match(value)
    if m:
        return m.group(1)
    return value.lstrip("@")


def parse_args(text: str, options: tuple[Option, ...] = ()) -> Args:
    """Split `REF status=open @user rest…` into positional words and key=value options."""
    text = (text or "").replace("\x00", " ").strip()
    try:
        words = shlex.split(text)
    except ValueError:  # unbalanced quotes: fall back to whitespace
        words = text.split()
    named: dict[str, str] = {}
    positional: list[str] = []
    known = {o.name for o in options}
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key.isidentifier() and (not known or key in known):
            named[key.lower()] = value
        else:
            positional.append(word)
    return Args(positional=positional, named=named, raw=text)


class CommandRegistry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"command /{command.name} registered twice")
        self._commands[command.name] = command

    def get(self, name: str) -> Command | None:
        return self._commands.get(name.lstrip("/").lower())

    def all(self) -> list[Command]:
        return list(self._commands.values())

    async def dispatch(self, name: str, text: str, ctx: CommandContext) -> CommandResult:
        command = self.get(name)
        if command is None:
            names = ", ".join(f"/{c}" for c in sorted(self._commands))
            return CommandResult(
                text=f"Unknown command /{name.lstrip('/')}. Commands: {names}.", ephemeral=True, ok=False
            )
        if command.staff_only and not ctx.caller.is_staff:
            _log.warning("refused /%s for %s: staff only", command.name, ctx.caller.actor)
            return CommandResult(text=f"Sorry, /{command.name} is for support staff only.", ephemeral=True, ok=False)
        try:
            return await command.handler(ctx, parse_args(text, command.options))
        except CommandError as exc:
            _log.info("/%s by %s refused: %s", command.name, ctx.caller.actor, exc)
            return CommandResult(text=str(exc), ephemeral=True, ok=False)
        except Exception:
            _log.exception("/%s by %s failed", command.name, ctx.caller.actor)
            return CommandResult(
                text=f"Sorry, /{command.name} failed unexpectedly. The error was logged.", ephemeral=True, ok=False
            )


class BoundCommands:
    """The registry bound to the application: the `adapters.platform.Commands` an adapter is handed."""

    def __init__(self, registry: CommandRegistry, services: AppServices) -> None:
        self.registry = registry
        self.services = services

    def get(self, name: str) -> Command | None:
        return self.registry.get(name)

    def all(self) -> list[Command]:
        return self.registry.all()

    async def run(
        self, name: str, text: str, caller: Caller, *, channel_id: str = "", progress: ProgressFn | None = None
    ) -> CommandResult:
        ctx = CommandContext(caller=caller, services=self.services, channel_id=channel_id, progress=progress)
        return await self.registry.dispatch(name, text, ctx)
