"""The Discord adapter: a discord.py client on the gateway, bound to the support service (customer
messages → one reply in their thread) and the command registry (app commands).

`start()` logs in, runs the gateway in a background task and returns once READY (or raises one clear
error: a refused token, the Message Content intent not enabled, no connection). `deliver()` posts a
reply from the `Outbound` alone (so `resume()` can use it after a restart), split at 2,000 characters,
each piece with a nonce derived from the reply id and `enforce_nonce`, so a retried post is not
duplicated by Discord — within the few minutes Discord remembers a nonce. A reply that may have been
posted before a crash (`Outbound.maybe_posted`) is first looked for in the channel's history after the
customer's message (one page, bot author, same text), which holds for longer. Every send has mentions
off: customer text never pings anyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import aiohttp
import discord
from aiohttp import web

from bot.messages import Outbound
from bot.wiring import Services

from . import endpoints
from .client import SupportClient
from .commands import NO_MENTIONS, AppCommands
from .conversations import PLATFORM, Conversations
from .embeds import split_text

_log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 30.0
STOP_GRACE_S = 15.0
HISTORY_LIMIT = 50  # messages read after the customer's when looking for a reply posted before a crash


def token_of(services: Services) -> str:
    token = services.settings.discord_bot_token
    value = token.get_secret_value().strip() if token is not None else ""
    if not value:
        raise ValueError("the Discord adapter needs DISCORD_BOT_TOKEN")
    return value


def describe_failure(exc: BaseException) -> str:
    """One line saying what went wrong with the connection and what to do."""
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return ("Discord refused the Message Content intent: enable it for the bot in the Developer Portal "
                "(Bot → Privileged Gateway Intents → Message Content Intent)")
    if isinstance(exc, discord.LoginFailure):
        return "Discord refused DISCORD_BOT_TOKEN: check the bot token (Developer Portal → Bot → Reset Token)"
    if isinstance(exc, discord.ConnectionClosed):
        return f"the Discord gateway closed the connection (code {exc.code}); check SUPPORTBOT_DISCORD_GATEWAY_URL"
    return f"cannot connect to Discord ({type(exc).__name__}: {exc})"


class DiscordAdapter:
    name = PLATFORM

    def __init__(self, services: Services, *, guild_ready_timeout: float = 2.0,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self._token = token_of(services)
        self.services = services
        self.connect_timeout_s = connect_timeout_s
        self.conversations = Conversations(self)
        self.commands = AppCommands(self)
        self.client = SupportClient(registry=services.registry, invoke=self.commands.invoke,
                                    on_message=self.conversations.on_message, on_command_error=self.commands.on_error,
                                    guild_ready_timeout=guild_ready_timeout)
        self._gateway: asyncio.Task[None] | None = None
        self._previous_endpoints: endpoints.Endpoints | None = None
        self._started = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._posted: dict[int, list[str]] = {}  # reply id → ids of pieces already posted (a retry skips them)
        services.support.register_deliverer(PLATFORM, self.deliver)

    # --- the Adapter protocol ------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._started and self.client.is_ready() and not self.client.is_closed()

    def routes(self) -> list[web.RouteDef]:
        return []  # everything comes over the gateway

    async def start(self) -> None:
        settings = self.services.settings
        self._previous_endpoints = endpoints.apply(api_url=settings.discord_api_url,
                                                   gateway_url=settings.discord_gateway_url)
        try:
            await self._connect()
        except BaseException:
            await self._close_client()
            raise
        self._started = True

    async def _connect(self) -> None:
        try:
            await self.client.login(self._token)  # runs setup_hook: the command tree is built here
        except discord.LoginFailure as exc:
            raise RuntimeError(describe_failure(exc)) from None
        except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
            raise RuntimeError(f"cannot reach the Discord API ({type(exc).__name__}); check the network or "
                               "SUPPORTBOT_DISCORD_API_URL") from None
        self._gateway = asyncio.create_task(self.client.connect(reconnect=True), name="discord-gateway")
        self._gateway.add_done_callback(self._gateway_ended)
        ready = asyncio.create_task(self.client.wait_until_ready(), name="discord-ready")
        done, _ = await asyncio.wait({self._gateway, ready}, timeout=self.connect_timeout_s,
                                     return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            return
        ready.cancel()
        error = self._gateway.exception() if self._gateway in done else None
        if error is not None:
            raise RuntimeError(describe_failure(error)) from None
        raise RuntimeError(f"no Discord gateway connection within {self.connect_timeout_s:.0f}s; check the network "
                           "or SUPPORTBOT_DISCORD_GATEWAY_URL")

    def _gateway_ended(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if self._started and error is not None:
            _log.error("Discord: the gateway connection ended: %s", describe_failure(error))

    async def stop(self) -> None:
        """Finish the work in flight (bounded; it needs the HTTP session), then close the connection."""
        if not await self.idle(timeout=STOP_GRACE_S):
            _log.warning("Discord: %d tasks still running at shutdown; cancelled (the inbox keeps their messages)",
                         len(self._tasks))
            for task in list(self._tasks):
                task.cancel()
        self._started = False
        await self._close_client()

    async def _close_client(self) -> None:
        await self.client.close()
        if self._gateway is not None:
            with suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._gateway, timeout=5)
            self._gateway = None
        if self._previous_endpoints is not None:
            endpoints.restore(self._previous_endpoints)
            self._previous_endpoints = None

    # --- background work -----------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run work off the gateway's listener; kept so it is neither lost nor orphaned."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    @contextmanager
    def tracked(self) -> Iterator[None]:
        """Count the current task (an app command discord.py started) as work in flight."""
        task = asyncio.current_task()
        if task is None or task in self._tasks:
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("Discord task %s failed", task.get_name(), exc_info=task.exception())

    async def idle(self, *, timeout: float | None = None) -> bool:
        """Wait until no background work is left (tasks may start more). False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        current = asyncio.current_task()
        while pending := {t for t in self._tasks if t is not current}:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(pending, timeout=remaining)
        return True

    # --- replies ---------------------------------------------------------------------------------
    async def deliver(self, out: Outbound) -> str:
        """Post the reply in its conversation; returns the id of its first message.

        In a thread started from the customer's message the reply stands alone; anywhere else (a DM, a
        later message in the thread) it replies to the message it answers."""
        channel = self.client.get_partial_messageable(int(out.channel_id))
        pieces = split_text(out.text)
        posted = self._posted.setdefault(out.reply_id, [])
        found = await self._already_posted(channel, out, pieces) if out.maybe_posted and not posted else {}
        for index in range(len(posted), len(pieces)):
            if index in found:
                posted.append(found[index])
                continue
            reference = None
            if index == 0 and out.in_reply_to.isdigit() and out.in_reply_to != out.channel_id:
                reference = discord.MessageReference(message_id=int(out.in_reply_to), channel_id=int(out.channel_id),
                                                     fail_if_not_exists=False)
            message = await channel.send(pieces[index], nonce=f"sb{out.reply_id}-{index}",
                                         reference=reference,  # type: ignore[arg-type]  # None: no reference
                                         allowed_mentions=NO_MENTIONS)
            posted.append(str(message.id))
        del self._posted[out.reply_id]
        _log.info("reply %s posted in %s (%d message%s)", out.reply_id, out.channel_id, len(posted),
                  "" if len(posted) == 1 else "s")
        if found:
            _log.info("reply %s: %d of %d pieces were already in the channel (posted before a restart); not posted "
                      "again", out.reply_id, len(found), len(pieces))
        return posted[0]

    async def _already_posted(self, channel: discord.PartialMessageable, out: Outbound,
                              pieces: list[str]) -> dict[int, str]:
        """Pieces of this reply the bot already posted after the customer's message (piece index →
        message id), from one bounded page of history. Fetched messages carry no nonce, so a piece is
        matched by author and exact content. On any error, {}: the nonce still guards a re-post made
        within Discord's few minutes."""
        me = self.client.user
        if me is None or not out.in_reply_to.isdigit():
            return {}
        found: dict[int, str] = {}
        try:
            async for message in channel.history(limit=HISTORY_LIMIT, after=discord.Object(int(out.in_reply_to)),
                                                 oldest_first=True):
                if message.author.id != me.id:
                    continue
                index = next((i for i, piece in enumerate(pieces)
                              if i not in found and message.content.strip() == piece.strip()), None)
                if index is not None:
                    found[index] = str(message.id)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            _log.warning("reply %s: could not read the channel's history (%s); relying on the nonce", out.reply_id,
                         getattr(exc, "status", type(exc).__name__))
            return {}
        return found
