"""App commands: every command of the registry becomes a slash command with typed options (so
commands registered later are served too), bound to one generic handler.

The registry decides and checks permissions; this module only translates. An invocation is turned
back into the registry's args text (positional values in order, then `name=value`, then free text as
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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.commands.registry import Caller, Command, CommandContext, CommandRegistry, CommandResult, Progress

from .conversations import PLATFORM, role_ids
from .embeds import Page, cut, render_result

if TYPE_CHECKING:
    from .adapter import DiscordAdapter

_log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
ACK_BUDGET_S = 2.0  # Discord wants the first response within 3 s
PROGRESS_INTERVAL_S = 1.0
MAX_DESCRIPTION = 100
_OPTION_TYPES: dict[str, type] = {"string": str, "integer": int, "user": discord.User}
_NAME = re.compile(r"[^-_a-z0-9]+")

Invoke = Callable[[discord.Interaction, Command, dict[str, Any]], Awaitable[None]]


def app_name(name: str) -> str:
    """A registry name as Discord accepts it: lowercase, hyphens allowed, at most 32 characters."""
    return (_NAME.sub("-", name.lower()).strip("-") or "command")[:32]


def option_value(value: Any) -> str:
    if isinstance(value, (discord.abc.User, discord.Object)):
        return str(value.id)
    return str(value)


def args_text(command: Command, values: dict[str, Any]) -> str:
    """The options of one invocation as the registry's args text."""
    given = {o.name: option_value(values[o.name]) for o in command.options if values.get(o.name) is not None}
    words = [shlex.quote(given[o.name]) for o in command.options if o.positional and not o.rest and o.name in given]
    words += [f"{o.name}={shlex.quote(given[o.name])}" for o in command.options
              if not o.positional and not o.rest and o.name in given]
    words += [given[o.name] for o in command.options if o.rest and o.name in given]
    return " ".join(w for w in words if w)


def app_command(command: Command, invoke: Invoke) -> app_commands.Command[Any, ..., None]:
    """A discord.py command whose parameters are the registry command's options.

    discord.py reads option types from the callback's signature, so the generic callback gets one
    built from `Command.options` (python names o0, o1 … renamed to the option names)."""
    keys = {f"o{i}": option for i, option in enumerate(command.options)}

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await invoke(interaction, command, {keys[k].name: v for k, v in values.items()})

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=discord.Interaction)]
    # Discord refuses a command whose required options do not come first; the args text keeps the
    # registry's order either way.
    for key, option in sorted(keys.items(), key=lambda kv: not kv[1].required):
        parameters.append(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=_OPTION_TYPES[option.kind],
                                            default=inspect.Parameter.empty if option.required else None))
    hooks: Any = callback  # the attributes discord.py's decorators would set
    hooks.__signature__ = inspect.Signature(parameters)
    hooks.__discord_app_commands_param_description__ = {
        k: cut(o.description, MAX_DESCRIPTION) or o.name for k, o in keys.items()}
    hooks.__discord_app_commands_param_rename__ = {k: app_name(o.name) for k, o in keys.items()}
    description = cut(command.description, MAX_DESCRIPTION) or f"/{command.name}"
    return app_commands.Command(name=app_name(command.name), description=description, callback=callback)


def bind(tree: app_commands.CommandTree[Any], registry: CommandRegistry, invoke: Invoke) -> list[str]:
    """Add every registry command to the tree; returns their Discord names."""
    names = []
    for command in registry.all():
        try:
            tree.add_command(app_command(command, invoke), override=True)
        except (TypeError, ValueError, app_commands.AppCommandError) as exc:  # one bad spec must not cost the rest
            _log.error("/%s cannot be an app command: %s", command.name, exc)
            continue
        names.append(app_name(command.name))
    return names


class ProgressEditor:
    """Shows a long command's Progress by editing the deferred response (at most once a second)."""

    def __init__(self, interaction: discord.Interaction, command: str) -> None:
        self.interaction = interaction
        self.command = command
        self.edits = 0
        self._last = 0.0
        self._lock = asyncio.Lock()
        self._broken = False

    async def _show(self, text: str, *, force: bool) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            if self._broken or (not force and loop.time() - self._last < PROGRESS_INTERVAL_S):
                return
            try:
                await self.interaction.edit_original_response(content=cut(text, 2000), allowed_mentions=NO_MENTIONS)
                self.edits += 1
                self._last = loop.time()
            except discord.HTTPException as exc:  # progress is a courtesy; the result still goes out
                self._broken = True
                _log.warning("progress for /%s failed: %s", self.command, exc)

    async def report(self, progress: Progress) -> None:
        count = f" {progress.done}/{progress.total}" if progress.total else ""
        note = f" — {cut(progress.message, 300)}" if progress.message else ""
        done = bool(progress.total) and progress.done >= progress.total
        await self._show(f"⏳ /{self.command}: {progress.stage}{count}{note}", force=done or not self.edits)

    async def finish(self, result: CommandResult) -> None:
        mark = "✅" if result.ok else "⚠️"
        summary = "done — the result is below" if result.ok and not result.ephemeral else "finished"
        await self._show(f"{mark} /{self.command}: {summary}", force=True)


class AppCommands:
    def __init__(self, adapter: DiscordAdapter) -> None:
        self.adapter = adapter

    async def invoke(self, interaction: discord.Interaction, command: Command, values: dict[str, Any]) -> None:
        """The one callback of every app command."""
        with self.adapter.tracked():
            services = self.adapter.services
            user = interaction.user
            caller = Caller(PLATFORM, str(user.id), services.is_staff(PLATFORM, str(user.id), role_ids(user)),
                            display_name=user.display_name)
            text = args_text(command, values)
            channel = str(interaction.channel_id or "")
            _log.info("/%s by %s in %s", command.name, caller.actor, channel)
            if command.long_running and (caller.is_staff or not command.staff_only):
                await interaction.response.defer(thinking=True)
                progress = ProgressEditor(interaction, command.name)
                ctx = CommandContext(caller=caller, services=services, channel_id=channel, progress=progress.report)
                result = await services.registry.dispatch(command.name, text, ctx)
                await progress.finish(result)
            else:
                ctx = CommandContext(caller=caller, services=services, channel_id=channel)
                work = asyncio.ensure_future(services.registry.dispatch(command.name, text, ctx))
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
        """Anything the registry did not turn into a result: logged, and a short private apology."""
        name = interaction.command.name if interaction.command else "?"
        _log.error("/%s by %s failed", name, interaction.user.id, exc_info=error)
        sorry = CommandResult(text=f"Sorry, /{name} failed unexpectedly. The error was logged.", ephemeral=True,
                              ok=False)
        try:
            await self.send(interaction, sorry)
        except discord.HTTPException as exc:
            _log.warning("could not tell %s that /%s failed: %s", interaction.user.id, name, exc)
