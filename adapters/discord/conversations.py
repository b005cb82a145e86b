"""Customer messages: MESSAGE_CREATE → the core's `on_message`, in a background task so the gateway
keeps reading.

Where a conversation lives (a thread created from a message has the message's id):
- a new message in a support channel: a public thread is created from it, named after the request;
  the conversation is that thread (channel = thread = the message id) and the bot answers inside;
- a message in a thread of a support channel (or a forum post in a support forum): that thread;
- a DM: the DM channel, answered with a reply to the message.
Other channels, bots, webhooks, the bot itself and system messages are ignored. Staff writing in a
support thread are recorded in the transcript, not answered.

Exactly once: the gateway can deliver a MESSAGE_CREATE again (resume, reconnect, a second process).
The inbox deduplicates on the message id in the database, so a second delivery is never answered;
a thread that already exists for the message (Discord's error 160004) is simply used.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Literal

import discord

from ..delivery import hand_over
from ..platform import Handlers, Inbound
from ..recent import Recent
from ..tasks import TaskGroup
from .embeds import cut

_log = logging.getLogger(__name__)

PLATFORM = "discord"
THREAD_NAME_MAX = 100
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
_ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)
_SPACES = re.compile(r"\s+")
_MARKUP = re.compile(r"[*_~`>|#]+")

Where = Literal["channel", "thread", "dm"]


def thread_name(text: str) -> str:
    """A thread title from the request: one line, markup removed, at most 100 characters."""
    name = _SPACES.sub(" ", _MARKUP.sub("", text)).strip()
    if len(name) > THREAD_NAME_MAX:
        name = name[: THREAD_NAME_MAX - 1].rsplit(" ", 1)[0].rstrip(" ,.;:-") + "…"
    return name or "Support request"


def role_ids(user: discord.abc.User) -> tuple[str, ...]:
    return tuple(str(role.id) for role in getattr(user, "roles", ()))


class Conversations:
    def __init__(
        self,
        handlers: Handlers,
        tasks: TaskGroup,
        *,
        channel_ids: Sequence[str | int] = (),
        client: discord.Client | None = None,
    ) -> None:
        self.handlers = handlers
        self.tasks = tasks
        self.client: discord.Client = client  # type: ignore[assignment]  # set by the adapter once built
        self.channel_ids = frozenset(int(c) for c in channel_ids)
        # message id → (its inbound, written by staff), for messages this process has seen
        self._recent: Recent[int, tuple[Inbound, bool]] = Recent()
        self._threads: Recent[int, None] = Recent()  # support threads this process created

    # --- deciding -------------------------------------------------------------------------------
    async def where(self, message: discord.Message) -> Where | None:
        """Which kind of conversation a message belongs to, or None when the bot stays out of it.

        Decided from ids where possible, so a channel or thread missing from the cache (an old
        thread, a guild not yet available) is still served."""
        me = self.client.user
        if message.author.bot or message.webhook_id or (me is not None and message.author.id == me.id):
            return None
        if message.type not in _ANSWERED_TYPES or not self.text_of(message):
            return None
        channel = message.channel
        if isinstance(channel, discord.DMChannel) or (
            message.guild is None and getattr(channel, "guild_id", None) is None
        ):
            return "dm"
        if channel.id in self.channel_ids:
            return "channel"
        if channel.id in self._threads:
            return "thread"
        if isinstance(channel, discord.PartialMessageable):  # not in the cache: ask Discord what it is
            try:
                channel = await self.client.fetch_channel(channel.id)  # type: ignore[assignment]
            except discord.HTTPException as exc:
                _log.info("message %s: channel %s unknown (%s); ignored", message.id, channel.id, exc)
                return None
        if isinstance(channel, discord.Thread) and channel.parent_id in self.channel_ids:
            return "thread"
        return None

    def text_of(self, message: discord.Message) -> str:
        """The customer's words, without the bot's own mention."""
        text = message.content or ""
        me = self.client.user
        if me is not None:
            text = text.replace(f"<@{me.id}>", "").replace(f"<@!{me.id}>", "")
        return text.strip()

    def inbound(
        self, message: discord.Message, *, conversation: str, is_dm: bool = False, channel_id: str | None = None
    ) -> Inbound:
        return Inbound(
            platform=PLATFORM,
            channel_id=channel_id or conversation,
            thread_id=conversation,
            user_id=str(message.author.id),
            text=self.text_of(message),
            message_id=str(message.id),
            user_name=message.author.display_name,
            is_dm=is_dm,
            extras={
                "guild_id": str(message.guild.id) if message.guild else "",
                "message_channel_id": str(message.channel.id),
                "role_ids": list(role_ids(message.author)),
            },
        )

    def _seen(self, message_id: int) -> tuple[Inbound, bool] | None:
        """What this process made of the message before, or None the first time."""
        return self._recent.get(message_id)

    def _remember(self, message_id: int, inbound: Inbound, *, staff: bool = False) -> None:
        self._recent.put(message_id, (inbound, staff))

    # --- the gateway listener ----------------------------------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        with self.tasks.tracked():  # a shutdown (and a test) waits for the decision too
            where = await self.where(message)
            if where is None:
                return
            self.tasks.spawn(self.answer(message, where), name=f"discord-message-{message.id}")

    async def answer(self, message: discord.Message, where: Where) -> None:
        seen = self._seen(message.id)
        if seen is not None:  # delivered again while this process knows it: the inbox says "duplicate"
            inbound, staff = seen
            if staff:
                await self.handlers.on_staff_message(inbound)
            else:
                await self._handle(inbound, None)
            return
        if where == "dm":
            inbound = self.inbound(message, conversation=str(message.channel.id), is_dm=True)
            self._remember(message.id, inbound)
            await self._handle(inbound, message.channel)
            return
        if where == "thread":
            inbound = self.inbound(message, conversation=str(message.channel.id))
            staff = self.handlers.is_staff(PLATFORM, inbound.user_id, role_ids(message.author))
            self._remember(message.id, inbound, staff=staff)
            if staff:
                await self.handlers.on_staff_message(inbound)
            else:
                await self._handle(inbound, message.channel)
            return
        thread = await self._open_thread(message)
        if thread is None:  # no thread (permissions): answer in the channel, replying to the message
            inbound = self.inbound(message, conversation=str(message.id), channel_id=str(message.channel.id))
            self._remember(message.id, inbound)
            await self._handle(inbound, message.channel)
            return
        inbound = self.inbound(message, conversation=str(message.id))
        self._remember(message.id, inbound)
        await self._handle(inbound, thread)

    async def _open_thread(self, message: discord.Message) -> discord.abc.Messageable | None:
        """A public thread from the message (its id is the message's), or None when Discord refuses."""
        name = thread_name(message.clean_content)
        client = self.client
        guild_id = message.guild.id if message.guild else getattr(message.channel, "guild_id", None)
        try:
            if message.guild is not None:
                thread: discord.abc.Messageable = await message.create_thread(name=name)
            else:  # the guild is not in the cache (not available yet): the same call, without the model
                await client.http.start_thread_with_message(
                    message.channel.id, message.id, name=name, auto_archive_duration=1440
                )
                thread = client.get_partial_messageable(message.id, guild_id=guild_id)
        except discord.HTTPException as exc:
            if exc.code == THREAD_EXISTS:  # created before (a redelivery, another process): same id as the message
                _log.info("thread for message %s exists already", message.id)
                self._remember_thread(message.id)
                return client.get_partial_messageable(message.id, guild_id=guild_id)
            _log.warning(
                "could not create a thread for message %s in %s (%s %s); answering in the channel",
                message.id,
                message.channel.id,
                exc.status,
                exc.text,
            )
            return None
        self._remember_thread(message.id)
        _log.info("thread %s %r created for message %s", message.id, cut(name, 40), message.id)
        return thread

    def _remember_thread(self, thread_id: int) -> None:
        # Discord announces a new thread with THREAD_CREATE, but the answer must not depend on it
        self._threads.put(thread_id, None)

    async def _handle(self, inbound: Inbound, typing_in: discord.abc.Messageable | None) -> None:
        async with typing(typing_in):
            await hand_over(self.handlers, inbound)


@asynccontextmanager
async def typing(channel: discord.abc.Messageable | None) -> AsyncIterator[None]:
    """ "supportbot is typing…" while the work runs; a failure to show it never stops the answer."""
    indicator = channel.typing() if channel is not None else None
    if indicator is not None:
        try:
            await indicator.__aenter__()
        except discord.HTTPException as exc:
            _log.info("typing indicator refused (%s); answering without it", exc.status)
            indicator = None
    try:
        yield
    finally:
        if indicator is not None:
            await indicator.__aexit__(None, None, None)
