"""App commands: every command of the core's dispatcher becomes a slash command with typed options,
bound to one generic handler, built with discord.py's public API (`app_commands.Command`, the
`describe` and `rename` decorators, `CommandTree.add_command`).

The dispatcher decides and checks permissions; this module only translates. An invocation is turned
back into the command's args text (positional values in order, then `name=value`, then free text as
typed; a user option becomes the bare user id). Private results and refusals are ephemeral. A
long-running command (/faq) is deferred at once ("supportbot is thinking…"), edits that deferred
response with its progress (throttled) and delivers its result by follow-up. A quick command that is
unexpectedly slow is deferred before Discord's 3-second deadline too.

Commands are registered with Discord only by `supportbot discord sync`, never on start.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import shlex
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import discord
from discord import app_commands

from ..platform import Caller, CommandResult, Commands, CommandSpec
from ..progress import ThrottledProgress
from ..tasks import TaskGroup
from .conversations import PLATFORM, role_ids
from .embeds import Page, cut, render_result

_log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
ACK_BUDGET_S = 2.0  # Discord wants the first response within 3 s
MAX_DESCRIPTION = 100
_OPTION_TYPES: dict[str, type] = {"string": str, "integer": int, "user": discord.User}
_NAME = re.compile(r"[^-_a-z0-9]+")

Invoke = Callable[[discord.Interaction, CommandSpec, dict[str, Any]], Awaitable[None]]
IsStaff = Callable[[str, str, tuple[str, ...]], bool]


class CommandList(Protocol):
    """What building the command tree needs of the commands (syncing needs no dispatcher)."""

    def all(self) -> Sequence[CommandSpec]: ...


def app_name(name: str) -> str:
    """A command name as Discord accepts it: lowercase, hyphens allowed, at most 32 characters."""
    return (_NAME.sub("-", name.lower()).strip("-") or "command")[:32]


def option_value(value: Any) -> str:
    if isinstance(value, (discord.abc.User, discord.Object)):
        return str(value.id)
    return str(value)


def args_text(command: CommandSpec, values: dict[str, Any]) -> str:
    """The options of one invocation as the command's args text."""
    given = {o.name: option_value(values[o.name]) for o in command.options if values.get(o.name) is not None}
    words = [shlex.quote(given[o.name]) for o in command.options if o.positional and not o.rest and o.name in given]
    words += [
        f"{o.name}={shlex.quote(given[o.name])}"
        for o in command.options
        if not o.positional and not o.rest and o.name in given
    ]
    words += [given[o.name] for o in command.options if o.rest and o.name in given]
    return " ".join(w for w in words if w)


def app_command(command: CommandSpec, invoke: Invoke) -> app_commands.Command[Any, ..., None]:
    """A discord.py command whose parameters are the command's options.

    discord.py reads option types from the callback's signature, so the generic callback gets one
    (Python's standard `__signature__`) built from the options: python names o0, o1 …, described and
    renamed to the option names with discord.py's own `describe` and `rename` decorators."""
    keys = {f"o{i}": option for i, option in enumerate(command.options)}

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await invoke(interaction, command, {keys[k].name: v for k, v in values.items()})

    parameters = [
        inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)
    ]
    # Discord refuses a command whose required options do not come first; the args text keeps the
    # command's order either way.
    for key, option in sorted(keys.items(), key=lambda kv: not kv[1].required):
        parameters.append(
            inspect.Parameter(
                key,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_OPTION_TYPES[option.kind],
                default=inspect.Parameter.empty if option.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    if keys:
        described = app_commands.describe(**{k: cut(o.description, MAX_DESCRIPTION) or o.name for k, o in keys.items()})
        renamed = app_commands.rename(**{k: app_name(o.name) for k, o in keys.items()})
        callback = renamed(described(callback))
    description = cut(command.description, MAX_DESCRIPTION) or f"/{command.name}"
    return app_commands.Command(name=app_name(command.name), description=description, callback=callback)


def bind(tree: app_commands.CommandTree[Any], commands: CommandList, invoke: Invoke) -> list[str]:
    """Add every command to the tree; returns their Discord names."""
    names = []
    for command in commands.all():
        try:
            tree.add_command(app_command(command, invoke), override=True)
        except (TypeError, ValueError, app_commands.AppCommandError) as exc:  # one bad spec must not cost the rest
            _log.error("/%s cannot be an app command: %s", command.name, exc)
            continue
        names.append(app_name(command.name))
    return names


class ProgressEditor(ThrottledProgress):
    """Shows a long command's progress by editing the deferred response (throttled)."""

    def __init__(self, interaction: discord.Interaction, command: str) -> None:
        super().__init__(command, self._put)
        self.interaction = interaction
        self.edits = 0

    async def _put(self, text: str) -> None:
        await self.interaction.edit_original_response(content=cut(text, 2000), allowed_mentions=NO_MENTIONS)
        self.edits += 1


class AppCommands:
    def __init__(self, commands: Commands, is_staff: IsStaff, tasks: TaskGroup) -> None:
        self.commands = commands
        self.is_staff = is_staff
        self.tasks = tasks

    async def invoke(self, interaction: discord.Interaction, command: CommandSpec, values: dict[str, Any]) -> None:
        """The one callback of every app command."""
        with self.tasks.tracked():
            user = interaction.user
            caller = Caller(
                PLATFORM,
                str(user.id),
                self.is_staff(PLATFORM, str(user.id), role_ids(user)),
                display_name=user.display_name,
            )
            text = args_text(command, values)
            channel = str(interaction.channel_id or "")
            _log.info("/%s by %s in %s", command.name, caller.actor, channel)
            if command.long_running and (caller.is_staff or not command.staff_only):
                await interaction.response.defer(thinking=True)
                progress = ProgressEditor(interaction, command.name)
                result = await self.commands.run(
                    command.name, text, caller, channel_id=channel, progress=progress.report
                )
                await progress.finish(result)
            else:
                work = asyncio.ensure_future(self.commands.run(command.name, text, caller, channel_id=channel))
                done, _ = await asyncio.wait({work}, timeout=ACK_BUDGET_S)
                if not done:  # slow today: acknowledge now, privately, and answer by follow-up
                    await interaction.response.defer(ephemeral=True, thinking=True)
                result = await work
            await self.send(interaction, result)

    async def send(self, interaction: discord.Interaction, result: CommandResult) -> None:
        private = result.ephemeral or not result.ok
        for page in render_result(result):
            await self._send_page(interaction, page, ephemeral=private)

    @staticmethod
    async def _send_page(interaction: discord.Interaction, page: Page, *, ephemeral: bool) -> None:
        kwargs: dict[str, Any] = {"ephemeral": ephemeral, "allowed_mentions": NO_MENTIONS}
        if page.content:
            kwargs["content"] = page.content
        if page.embeds:
            kwargs["embeds"] = page.embeds
        if not interaction.response.is_done():
            await interaction.response.send_message(**kwargs)
        else:
            await interaction.followup.send(wait=True, **kwargs)

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Anything the dispatcher did not turn into a result: logged, and a short private apology."""
        name = interaction.command.name if interaction.command else "?"
        _log.error("/%s by %s failed", name, interaction.user.id, exc_info=error)
        sorry = CommandResult(
            text=f"Sorry, /{name} failed unexpectedly. The error was logged.", ephemeral=True, ok=False
        )
        try:
            await self.send(interaction, sorry)
        except discord.HTTPException as exc:
            _log.warning("could not tell %s that /%s failed: %s", interaction.user.id, name, exc)
