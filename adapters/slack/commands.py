"""Slash commands: every command of the core's dispatcher, bound by one bolt listener (so commands registered
later are served too). Each is acknowledged at once; the work runs in a background task.

The commands come from the core's `Commands` dispatcher (`Handlers.commands`), which checks
permissions. Private results and refusals go back through the command's `response_url` (bolt's `respond`,
`response_type="ephemeral"`), or `chat.postEphemeral` when there is none. Public results are posted
in the channel. A long-running command (/faq) acknowledges with a private "working on it", shows its
progress by updating one message (`chat.update`, throttled), and posts its result in the channel.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..delivery import error_reason
from ..platform import Caller, CommandResult, Commands
from ..progress import ThrottledProgress
from ..tasks import TaskGroup
from .blocks import Page, render_result
from .events import PLATFORM
from .mrkdwn import escape, from_slack

_log = logging.getLogger(__name__)

_ANY_COMMAND = re.compile(r"^/[\w-]+$")
IsStaff = Callable[[str, str, tuple[str, ...]], bool]


class ProgressMessage(ThrottledProgress):
    """One public message in the channel that follows a long command's progress (posted, then edited
    with `chat.update`, which is rate-limited: the throttle keeps it to one edit a second)."""

    def __init__(self, client: AsyncWebClient, *, channel: str, command: str) -> None:
        super().__init__(command, self._put)
        self.client = client
        self.channel = channel
        self.ts: str | None = None
        self.updates = 0

    async def _put(self, text: str) -> None:
        if self.ts is None:
            response = await self.client.chat_postMessage(channel=self.channel, text=escape(text))
            self.ts = str(response["ts"])
        else:
            await self.client.chat_update(channel=self.channel, ts=self.ts, text=escape(text))
            self.updates += 1

    async def finish(self, result: CommandResult) -> None:
        if self.ts is not None:  # nothing shown yet: the result speaks for itself
            await super().finish(result)


class SlashCommands:
    def __init__(self, commands: Commands, is_staff: IsStaff, tasks: TaskGroup, client: AsyncWebClient) -> None:
        self.commands = commands
        self.is_staff = is_staff
        self.tasks = tasks
        self.client = client

    def register(self, app: AsyncApp) -> None:
        app.command(_ANY_COMMAND)(self.on_command)

    async def on_command(self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        """Bolt listener: acknowledge within Slack's 3 seconds, then work in the background."""
        name = str(command.get("command", "")).lstrip("/").lower()
        user_id = str(command.get("user_id", ""))
        spec = self.commands.get(name)
        is_staff = self.is_staff(PLATFORM, user_id, ())
        if spec is not None and spec.long_running and (is_staff or not spec.staff_only):
            await ack(text=f"⏳ Working on /{name} — progress shows in this channel.", response_type="ephemeral")
        else:
            await ack()
        self.tasks.spawn(self.run(name, command, respond, is_staff=is_staff), name=f"slack-command-{name}")

    async def run(self, name: str, command: dict[str, Any], respond: AsyncRespond, *, is_staff: bool) -> None:
        channel = str(command.get("channel_id", ""))
        caller = Caller(
            PLATFORM, str(command.get("user_id", "")), is_staff=is_staff, display_name=str(command.get("user_name", ""))
        )
        spec = self.commands.get(name)
        progress = (
            ProgressMessage(self.client, channel=channel, command=name)
            if spec is not None and spec.long_running
            else None
        )
        try:
            text = from_slack(str(command.get("text", "")), link_labels=False)
            result = await self.commands.run(
                name, text, caller, channel_id=channel, progress=progress.report if progress else None
            )
            if progress is not None:
                await progress.finish(result)
            await self.send(result, command, respond)
        except Exception:
            _log.exception("/%s by %s in %s could not be answered", name, caller.actor, channel)
            sorry = CommandResult(
                text=f"Sorry, /{name} failed unexpectedly. The error was logged.", ephemeral=True, ok=False
            )
            await self.send(sorry, command, respond)

    async def send(self, result: CommandResult, command: dict[str, Any], respond: AsyncRespond) -> None:
        private = result.ephemeral or not result.ok
        for page in render_result(result):
            if private:
                await self._private(page, command, respond)
            else:
                await self._public(page, command, respond)

    async def _private(self, page: Page, command: dict[str, Any], respond: AsyncRespond) -> None:
        if respond.response_url:
            try:
                response = await respond(
                    text=page.text, blocks=page.blocks or None, response_type="ephemeral", replace_original=False
                )
                if response.status_code == 200:
                    return
                _log.warning("response_url answered %s; falling back to chat.postEphemeral", response.status_code)
            except Exception as exc:
                _log.warning("response_url failed (%s); falling back to chat.postEphemeral", exc)
        await self.client.chat_postEphemeral(
            channel=str(command.get("channel_id", "")),
            user=str(command.get("user_id", "")),
            text=page.text,
            blocks=page.blocks or None,
        )

    async def _public(self, page: Page, command: dict[str, Any], respond: AsyncRespond) -> None:
        try:
            await self.client.chat_postMessage(
                channel=str(command.get("channel_id", "")),
                text=page.text,
                blocks=page.blocks or None,
                unfurl_links=False,
            )
            return
        except SlackApiError as exc:  # e.g. not_in_channel: the response_url can still post there
            if not respond.response_url:
                raise
            _log.info(
                "posting in %s failed (%s); answering through the response_url",
                command.get("channel_id"),
                error_reason(exc),
            )
        await respond(text=page.text, blocks=page.blocks or None, response_type="in_channel", replace_original=False)
