"""The Discord adapter: a discord.py client on the gateway, bound to the core's `Handlers` (customer
messages → one reply in their thread; app commands → the command dispatcher).

`start()` logs in, runs the gateway in a background task and returns once READY (or raises one clear
error: a refused token, the Message Content intent not enabled, no connection). `deliver()` posts a
reply from the `Outbound` alone (so `resume()` can use it after a restart) through the shared resume
loop (`adapters.delivery`), split at 2,000 characters,
each piece with a nonce derived from the reply id and `enforce_nonce`, so a retried post is not
duplicated by Discord — within the few minutes Discord remembers a nonce. A reply that may have been
posted before a crash (`Outbound.maybe_posted`) is first looked for in the channel's history after the
customer's message (one page, bot author, same text), which holds for longer. Every send has mentions
off: customer text never pings anyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress

import aiohttp
import discord
from aiohttp import web
from discord.utils import MISSING

from ..delivery import Delivery
from ..platform import Card, Handlers, Outbound, PermanentDeliveryError
from ..tasks import TaskGroup
from .client import SupportClient
from .commands import NO_MENTIONS, AppCommands
from .conversations import PLATFORM, Conversations
from .embeds import split_text
from .endpoints import Endpoints
from .endpoints import apply as apply_endpoints
from .endpoints import restore as restore_endpoints
from .staff_channel import StaffChannel
from .views import StaffViews

_log = logging.getLogger(__name__)

# JSON error codes no retry fixes: the bot cannot see or write in the channel, or the channel is gone.
# A delivery failing with one is given up at once.
PERMANENT_CODES = {
    50001: "Missing Access",
    50013: "Missing Permissions",
    10003: "Unknown Channel",
    50007: "Cannot send messages to this user",
}

CONNECT_TIMEOUT_S = 30.0
STOP_GRACE_S = 15.0
HISTORY_LIMIT = 50  # messages read after the customer's when looking for a reply posted before a crash


def describe_failure(exc: BaseException) -> str:
    """One line saying what went wrong with the connection and what to do."""
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return (
            "Discord refused the Message Content intent: enable it for the bot in the Developer Portal "
            "(Bot → Privileged Gateway Intents → Message Content Intent)"
        )
    if isinstance(exc, discord.LoginFailure):
        return "Discord refused DISCORD_BOT_TOKEN: check the bot token (Developer Portal → Bot → Reset Token)"
    if isinstance(exc, discord.ConnectionClosed):
        return f"the Discord gateway closed the connection (code {exc.code}); check SUPPORTBOT_DISCORD_GATEWAY_URL"
    return f"cannot connect to Discord ({type(exc).__name__}: {exc})"


class DiscordAdapter:
    name = PLATFORM

    def __init__(
        self,
        handlers: Handlers,
        *,
        token: str,
        channel_ids: Sequence[str | int] = (),
        api_url: str | None = None,
        gateway_url: str | None = None,
        guild_ready_timeout: float = 2.0,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        tasks: TaskGroup | None = None,
        staff_role_ids: Sequence[str | int] = (),
    ) -> None:
        self._token = token.strip()
        if not self._token:
            raise ValueError("the Discord adapter needs DISCORD_BOT_TOKEN")
        self.api_url, self.gateway_url = api_url, gateway_url
        self.connect_timeout_s = connect_timeout_s
        self.tasks = tasks or TaskGroup("Discord")
        self.conversations = Conversations(handlers, self.tasks, channel_ids=channel_ids)
        self.commands = AppCommands(handlers.commands, handlers.is_staff, self.tasks)
        self.client = SupportClient(
            commands=handlers.commands,
            invoke=self.commands.invoke,
            on_message=self.conversations.on_message,
            on_command_error=self.commands.on_error,
            guild_ready_timeout=guild_ready_timeout,
        )
        self.conversations.client = self.client
        self._gateway: asyncio.Task[None] | None = None
        self._previous_endpoints: Endpoints | None = None
        self._started = False
        self._delivery = Delivery(PLATFORM)
        # buttons (cards, feedback) route by their custom id, registered before the gateway: every card ever posted
        self.views = StaffViews(
            on_interaction=handlers.on_interaction, is_staff=handlers.is_staff, tracked=self.tasks.tracked
        )
        self.views.install(self.client)
        self.staff = StaffChannel(self.client, self.views, staff_role_ids=[str(r) for r in staff_role_ids])

    # --- the Platform protocol -----------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._started and self.client.is_ready() and not self.client.is_closed()

    def routes(self) -> list[web.RouteDef]:
        return []  # everything comes over the gateway

    async def start(self) -> None:
        self._previous_endpoints = apply_endpoints(api_url=self.api_url, gateway_url=self.gateway_url)
        try:
            await self._connect()
        except BaseException:
            await self._close_client()
            raise
        self._started = True

    async def start_outbound(self) -> None:
        """Only the REST client, no gateway: a worker process delivering replies while another process
        (the receiver) holds the gateway connection."""
        self._previous_endpoints = apply_endpoints(api_url=self.api_url, gateway_url=self.gateway_url)
        try:
            await self.client.login(self._token)
        except BaseException as exc:  # nothing runs, so nothing may keep the HTTP pool open
            await self._close_client()
            if isinstance(exc, discord.LoginFailure):
                raise RuntimeError(describe_failure(exc)) from None
            raise

    async def _connect(self) -> None:
        try:
            await self.client.login(self._token)  # runs setup_hook: the command tree is built here
        except discord.LoginFailure as exc:
            raise RuntimeError(describe_failure(exc)) from None
        except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
            raise RuntimeError(
                f"cannot reach the Discord API ({type(exc).__name__}); check the network or SUPPORTBOT_DISCORD_API_URL"
            ) from None
        self._gateway = asyncio.create_task(self.client.connect(reconnect=True), name="discord-gateway")
        self._gateway.add_done_callback(self._gateway_ended)
        ready = asyncio.create_task(self.client.wait_until_ready(), name="discord-ready")
        done, _ = await asyncio.wait(
            {self._gateway, ready}, timeout=self.connect_timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if ready in done:
            return
        ready.cancel()
        error = self._gateway.exception() if self._gateway in done else None
        if error is not None:
            raise RuntimeError(describe_failure(error)) from None
        raise RuntimeError(
            f"no Discord gateway connection within {self.connect_timeout_s:.0f}s; check the network "
            "or SUPPORTBOT_DISCORD_GATEWAY_URL"
        )

    def _gateway_ended(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if self._started and error is not None:
            _log.error("Discord: the gateway connection ended: %s", describe_failure(error))

    async def stop(self) -> None:
        """Finish the work in flight (bounded; it needs the HTTP session), then close the connection."""
        await self.tasks.close(grace_s=STOP_GRACE_S)
        self._started = False
        await self._close_client()

    async def _close_client(self) -> None:
        await self.client.close()
        if self._gateway is not None:
            with suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._gateway, timeout=5)
            self._gateway = None
        if self._previous_endpoints is not None:
            restore_endpoints(self._previous_endpoints)
            self._previous_endpoints = None

    async def idle(self, *, timeout: float | None = None) -> bool:
        """Wait until no background work is left. False on timeout."""
        return await self.tasks.idle(timeout=timeout)

    # --- replies ---------------------------------------------------------------------------------
    async def deliver(self, out: Outbound) -> str:
        """Post the reply in its conversation; returns the id of its first message.

        In a thread started from the customer's message the reply stands alone; anywhere else (a DM, a
        later message in the thread) it replies to the message it answers."""
        channel = self.client.get_partial_messageable(int(out.channel_id))
        pieces = split_text(out.text)

        async def post(index: int, piece: str) -> str:
            reference = None
            if index == 0 and out.in_reply_to.isdigit() and out.in_reply_to != out.channel_id:
                reference = discord.MessageReference(
                    message_id=int(out.in_reply_to), channel_id=int(out.channel_id), fail_if_not_exists=False
                )
            view = self.views.view(out.buttons) if index == len(pieces) - 1 else None  # feedback under the last
            try:
                message = await channel.send(
                    piece,
                    nonce=f"sb{out.reply_id}-{index}",
                    reference=reference,  # type: ignore[arg-type]  # None: no reference
                    allowed_mentions=NO_MENTIONS,
                    view=view if view is not None else MISSING,
                )
            except (discord.Forbidden, discord.NotFound) as exc:
                if exc.code in PERMANENT_CODES:
                    raise PermanentDeliveryError(PLATFORM, f"{exc.status} {PERMANENT_CODES[exc.code]}") from exc
                raise
            return str(message.id)

        return await self._delivery.deliver(
            out, pieces, post=post, look_up=lambda: self._already_posted(channel, out, pieces)
        )

    async def _already_posted(
        self, channel: discord.PartialMessageable, out: Outbound, pieces: list[str]
    ) -> dict[int, str]:
        """Pieces of this reply the bot already posted after the customer's message (piece index →
        message id), from one bounded page of history. Fetched messages carry no nonce, so a piece is
        matched by author and exact content. Errors are the delivery loop's (it posts anyway): the nonce
        still guards a re-post made within Discord's few minutes."""
        me = self.client.user
        if me is None or not out.in_reply_to.isdigit():
            return {}
        found: dict[int, str] = {}
        async for message in channel.history(
            limit=HISTORY_LIMIT, after=discord.Object(int(out.in_reply_to)), oldest_first=True
        ):
            if message.author.id != me.id:
                continue
            index = next(
                (i for i, piece in enumerate(pieces) if i not in found and message.content.strip() == piece.strip()),
                None,
            )
            if index is not None:
                found[index] = str(message.id)
        return found

    # --- the staff channel: cards, reminders, links (staff_channel.py) ------------------------------
    async def post_card(self, card: Card, *, channel_id: str, key: int) -> str:
        return await self.staff.post_card(card, channel_id=channel_id, key=key)

    async def update_card(self, card: Card, *, channel_id: str, message_id: str) -> None:
        await self.staff.update_card(card, channel_id=channel_id, message_id=message_id)

    async def notify(self, text: str, *, channel_id: str, thread_id: str = "", key: int = 0) -> str:
        return await self.staff.notify(text, channel_id=channel_id, thread_id=thread_id, key=key)

    async def permalink(self, channel_id: str, thread_id: str) -> str:
        return await self.staff.permalink(channel_id, thread_id)
