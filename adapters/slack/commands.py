"""Slash commands: every command of the registry, bound by one bolt listener (so commands registered
later are served too). Each is acknowledged at once; the work runs in a background task.

Private results and refusals go back through the command's `response_url` (bolt's `respond`,
`response_type="ephemeral"`), or `chat.postEphemeral` when there is none. Public results are posted
in the channel. A long-running command (/faq) acknowledges with a private "working on it", shows its
progress by updating one message (`chat.update`, throttled), and posts its result in the channel.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.registry import Caller, CommandContext, CommandResult, Progress

from .blocks import Page, render_result
from .events import PLATFORM
from .mrkdwn import cut, escape, from_slack

if TYPE_CHECKING:
    from .adapter import SlackAdapter

_log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 1.0  # chat.update is rate-limited (tier 3): at most one progress edit a second
_ANY_COMMAND = re.compile(r"^/[\w-]+$")


class ProgressMessage:
    """One public message in the channel that follows a long command's Progress events."""

    def __init__(self, client: AsyncWebClient, *, channel: str, command: str) -> None:
        self.client = client
        self.channel = channel
        self.command = command
        self.ts: str | None = None
        self.updates = 0
        self._last = 0.0
        self._lock = asyncio.Lock()
        self._broken = False

    def _text(self, progress: Progress) -> str:
        count = f" {progress.done}/{progress.total}" if progress.total else ""
        note = f" — {cut(progress.message, 300)}" if progress.message else ""
        return escape(f"⏳ /{self.command}: {progress.stage}{count}{note}")

    async def _show(self, text: str, *, force: bool) -> None:
        async with self._lock:
            if self._broken:
                return
            loop = asyncio.get_running_loop()
            try:
                if self.ts is None:
                    response = await self.client.chat_postMessage(channel=self.channel, text=text)
                    self.ts = str(response["ts"])
                elif force or loop.time() - self._last >= PROGRESS_INTERVAL_S:
                    await self.client.chat_update(channel=self.channel, ts=self.ts, text=text)
                    self.updates += 1
                else:
                    return
                self._last = loop.time()
            except Exception as exc:  # progress is a courtesy; the result still goes out
                self._broken = True
                _log.warning("progress message for /%s in %s failed: %s", self.command, self.channel, exc)

    async def report(self, progress: Progress) -> None:
        await self._show(self._text(progress), force=bool(progress.total) and progress.done >= progress.total)

    async def finish(self, result: CommandResult) -> None:
        if self.ts is None:
            return
        mark = "✅" if result.ok else "⚠️"
        summary = "done — the result is below" if result.ok and not result.ephemeral else "finished"
        await self._show(escape(f"{mark} /{self.command}: {summary}"), force=True)


class SlashCommands:
    def __init__(self, adapter: SlackAdapter) -> None:
        self.adapter = adapter

    def register(self, app: AsyncApp) -> None:
        app.command(_ANY_COMMAND)(self.on_command)

    async def on_command(self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        """Bolt listener: acknowledge within Slack's 3 seconds, then work in the background."""
        name = str(command.get("command", "")).lstrip("/").lower()
        user_id = str(command.get("user_id", ""))
        spec = self.adapter.services.registry.get(name)
        is_staff = self.adapter.services.is_staff(PLATFORM, user_id)
        if spec is not None and spec.long_running and (is_staff or not spec.staff_only):
            await ack(text=f"⏳ Working on /{name} — progress shows in this channel.", response_type="ephemeral")
        else:
            await ack()
        self.adapter.spawn(self.run(name, command, respond, is_staff=is_staff), name=f"slack-command-{name}")

    async def run(self, name: str, command: dict[str, Any], respond: AsyncRespond, *, is_staff: bool) -> None:
        channel = str(command.get("channel_id", ""))
        caller = Caller(PLATFORM, str(command.get("user_id", "")), is_staff=is_staff,
                        display_name=str(command.get("user_name", "")))
        spec = self.adapter.services.registry.get(name)
        progress = ProgressMessage(self.adapter.client, channel=channel, command=name) \
            if spec is not None and spec.long_running else None
        ctx = CommandContext(caller=caller, services=self.adapter.services, channel_id=channel,
                             progress=progress.report if progress else None)
        try:
            text = from_slack(str(command.get("text", "")), link_labels=False)
            result = await self.adapter.services.registry.dispatch(name, text, ctx)
            if progress is not None:
                await progress.finish(result)
            await self.send(result, command, respond)
        except Exception:
            _log.exception("/%s by %s in %s could not be answered", name, caller.actor, channel)
            sorry = CommandResult(text=f"Sorry, /{name} failed unexpectedly. The error was logged.", ephemeral=True,
                                  ok=False)
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
                response = await respond(text=page.text, blocks=page.blocks or None, response_type="ephemeral",
                                         replace_original=False)
                if response.status_code == 200:
                    return
                _log.warning("response_url answered %s; falling back to chat.postEphemeral", response.status_code)
            except Exception as exc:
                _log.warning("response_url failed (%s); falling back to chat.postEphemeral", exc)
        await self.adapter.client.chat_postEphemeral(channel=str(command.get("channel_id", "")),
                                                     user=str(command.get("user_id", "")), text=page.text,
                                                     blocks=page.blocks or None)

    async def _public(self, page: Page, command: dict[str, Any], respond: AsyncRespond) -> None:
        try:
            await self.adapter.client.chat_postMessage(channel=str(command.get("channel_id", "")), text=page.text,
                                                       blocks=page.blocks or None, unfurl_links=False)
            return
        except SlackApiError as exc:  # e.g. not_in_channel: the response_url can still post there
            if not respond.response_url:
                raise
            _log.info("posting in %s failed (%s); answering through the response_url", command.get("channel_id"),
                      exc.response.get("error") if exc.response is not None else exc)
        await respond(text=page.text, blocks=page.blocks or None, response_type="in_channel", replace_original=False)
