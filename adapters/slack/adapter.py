"""The Slack adapter: a slack-bolt `AsyncApp` bound to the core's `Handlers` (messages, commands).

Two ways in, one app:
- Socket Mode (`mode="socket"`, needs SLACK_APP_TOKEN): bolt's `AsyncSocketModeHandler` keeps a
  websocket to Slack; no public URL.
- HTTP mode (`mode="http"`, needs SLACK_SIGNING_SECRET): `routes()` mounts POST /slack/events on the
  bot's HTTP server; bolt verifies the signature and answers `url_verification`.

One way out: `deliver()` posts the reply into the customer's thread (split at paragraph boundaries
when long) through the shared resume loop (`adapters.delivery`). Every piece carries message metadata
(`supportbot_reply`, reply id, piece index); a reply that may already have been posted before a crash
(`Outbound.maybe_posted`) is first looked up in the thread (`conversations.replies`, one bounded page)
and the pieces found there are not posted again.
The Web API client retries rate limits (honouring Retry-After), 500/503 and dropped
connections with slack_sdk's retry handlers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from ..delivery import Delivery, error_reason
from ..platform import Card, Handlers, Outbound, PermanentDeliveryError
from ..tasks import TaskGroup
from .blocks import Page, text_pages
from .commands import SlashCommands
from .conversations import Conversations
from .events import PLATFORM, split_message_key
from .feedback import Feedback
from .interactions import Interactions
from .staff_channel import StaffChannel, with_buttons

_log = logging.getLogger(__name__)

Mode = Literal["socket", "http"]
EVENTS_PATH = "/slack/events"
DEFAULT_API_URL = "https://slack.com/api/"
CONNECT_TIMEOUT_S = 30.0
STOP_GRACE_S = 15.0
REPLY_EVENT = "supportbot_reply"  # message metadata event type of our replies
LOOKUP_LIMIT = 200  # thread messages read (one page) when looking for a reply posted before a crash


def make_web_client(token: str, *, base_url: str | None = None) -> AsyncWebClient:
    url = base_url or DEFAULT_API_URL
    return AsyncWebClient(
        token=token,
        base_url=url if url.endswith("/") else url + "/",
        timeout=30,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


# Web API errors that no retry fixes: the bot is not in the channel (or it is gone or archived), or its
# token is no longer valid. A delivery failing with one is given up at once.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "not_authed",
    }
)


# What bolt answers when it cannot authorize a request (its auth.test failed): shown to a staff member
# who ran a command; an event answered with it is turned into a 503 (see handle_http).
AUTHORIZE_FAILED = "Sorry, supportbot cannot reach Slack just now. Please try again in a minute."


class _TokenFromEnvironment(logging.Filter):
    """Drops bolt's "As you gave `client` as well, `token` will be unused": bolt reads SLACK_BOT_TOKEN from
    the environment on its own whenever a client is given, so it said this on every start; the client
    carries that very token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_BOLT_LOGGER = logging.getLogger("slack_bolt.AsyncApp")
_BOLT_LOGGER.addFilter(_TokenFromEnvironment())


class SlackAdapter:
    name = PLATFORM

    def __init__(
        self,
        handlers: Handlers,
        *,
        token: str,
        app_token: str = "",
        signing_secret: str = "",
        api_url: str | None = None,
        mode: Mode = "socket",
        tasks: TaskGroup | None = None,
    ) -> None:
        if not token:
            raise ValueError("the Slack adapter needs SLACK_BOT_TOKEN")
        if mode == "socket" and not app_token:
            raise ValueError("Slack Socket Mode needs SLACK_APP_TOKEN (an xapp- app-level token)")
        if mode == "http" and not signing_secret:
            raise ValueError("Slack HTTP mode needs SLACK_SIGNING_SECRET")
        self.mode: Mode = mode
        self._app_token = app_token
        self.tasks = tasks or TaskGroup("Slack")
        self.client = make_web_client(token, base_url=api_url)
        # Signatures exist only in HTTP mode; Socket Mode requests come over the authenticated websocket.
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret,
            request_verification_enabled=mode == "http",
            name="supportbot",
            logger=_BOLT_LOGGER,
            user_facing_authorize_error_message=AUTHORIZE_FAILED,
        )
        self.feedback = Feedback(self.client)
        Conversations(handlers, self.tasks, self.feedback).register(self.app)
        SlashCommands(handlers.commands, handlers.is_staff, self.tasks, self.client).register(self.app)
        Interactions(
            self.client, on_interaction=handlers.on_interaction, is_staff=handlers.is_staff, spawn=self.tasks.spawn
        ).register(self.app)
        self.staff_channel = StaffChannel(self.client)
        self._socket: AsyncSocketModeHandler | None = None
        self._started = False
        self._delivery = Delivery(PLATFORM)
        self._http: aiohttp.ClientSession | None = None
        self._requests = 0  # Web API requests in flight on it
        self._closing: aiohttp.ClientSession | None = None  # detached at stop, closed when its requests end

    # --- the Platform protocol -----------------------------------------------------------------
    @property
    def connected(self) -> bool:
        if not self._started:
            return False
        if self._socket is None:
            return True
        client = self._socket.client
        return not client.closed and client.current_session is not None and not client.current_session.closed

    def routes(self) -> list[web.RouteDef]:
        return [web.post(EVENTS_PATH, self.handle_http)] if self.mode == "http" else []

    def _open_http(self) -> None:
        """One pool of keep-alive connections for every Web API call: without a session slack_sdk opens
        a new one, and a new connection, per call (:eyes:, thread status, each reply)."""
        if self._http is None and self.client.session is None:
            trace = aiohttp.TraceConfig()
            trace.on_request_start.append(self._request_started)
            trace.on_request_end.append(self._request_ended)
            trace.on_request_exception.append(self._request_ended)
            # No cap on connections (aiohttp's default is 100): calls held by a slow Slack must not queue
            # the others behind them, as they did not with a session per call.
            self._http = self.client.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=self.client.timeout),
                trace_configs=[trace],
            )

    async def _request_started(self, *_: Any) -> None:
        self._requests += 1

    async def _request_ended(self, *_: Any) -> None:
        self._requests -= 1
        if not self._requests and self._closing is not None:
            closing, self._closing = self._closing, None
            await closing.close()

    async def start_outbound(self) -> None:
        """Only the Web API client, nothing received: a worker process delivering replies while another
        process (the receiver) holds the HTTP endpoint or Socket Mode."""
        self._open_http()

    async def start(self) -> None:
        self._open_http()
        try:
            await self._start()
        except BaseException:  # a refused token: nothing runs, so nothing may keep the pool open
            if self._http is not None:
                http, self._http, self.client.session = self._http, None, None
                await http.close()
            raise
        self._started = True

    async def _start(self) -> None:
        try:
            auth = await self.client.auth_test()
            _log.info(
                "Slack: connected to team %s as %s (%s mode)", auth.get("team_id"), auth.get("user_id"), self.mode
            )
        except SlackApiError as exc:
            raise RuntimeError(f"Slack refused SLACK_BOT_TOKEN ({error_reason(exc)}): check the bot token") from None
        except Exception as exc:  # Slack unreachable for now: HTTP mode still serves once it is back
            if self.mode == "socket":
                raise RuntimeError(
                    f"cannot reach the Slack API ({type(exc).__name__}); check the network or SUPPORTBOT_SLACK_API_URL"
                ) from None
            _log.warning("cannot reach the Slack API yet (%s: %s)", type(exc).__name__, exc)
        if self.mode == "socket":
            await self._connect_socket()

    async def _connect_socket(self) -> None:
        handler = AsyncSocketModeHandler(self.app, app_token=self._app_token)
        try:  # a bad app token fails here, clearly, instead of in the handler's endless reconnect loop
            opened = await self.client.apps_connections_open(app_token=self._app_token)
        except SlackApiError as exc:
            await handler.close_async()
            raise RuntimeError(
                f"Slack refused SLACK_APP_TOKEN ({error_reason(exc)}): it must be an "
                "xapp- token with the connections:write scope"
            ) from None
        handler.client.wss_uri = str(opened["url"])
        try:
            await asyncio.wait_for(handler.connect_async(), CONNECT_TIMEOUT_S)
        except TimeoutError:
            await handler.close_async()
            raise RuntimeError(f"no Socket Mode connection within {CONNECT_TIMEOUT_S:.0f}s") from None
        self._socket = handler

    async def stop(self) -> None:
        self._started = False
        if self._socket is not None:
            await self._socket.close_async()  # no new events; work in flight finishes below
        await self.tasks.close(grace_s=STOP_GRACE_S)
        if self._http is not None:
            # The core may still deliver (draining) and the staff loop finish a round: later calls open their
            # own session (slack_sdk's default); this one closes once its requests in flight have ended.
            self._closing, self._http, self.client.session = self._http, None, None
            if not self._requests:
                closing, self._closing = self._closing, None
                await closing.close()

    async def idle(self, *, timeout: float | None = None) -> bool:
        """Wait until no background work is left. False on timeout."""
        return await self.tasks.idle(timeout=timeout)

    # --- HTTP mode -------------------------------------------------------------------------------
    async def handle_http(self, request: web.Request) -> web.Response:
        """Events, slash commands and interactivity: bolt verifies, acknowledges and dispatches."""
        bolt_request = await to_bolt_request(request)
        response = await self.app.async_dispatch(bolt_request)
        if (
            response.status == 200
            and response.body == AUTHORIZE_FAILED
            and isinstance(bolt_request.body, dict)
            and bolt_request.body.get("type") == "event_callback"
        ):
            # bolt answers an event it could not authorize (its auth.test failed) with 200, and Slack would
            # never send it again: the customer's message would be lost. 503 makes Slack deliver it again.
            _log.warning(
                "Slack event %s not handled: auth.test failed; Slack will deliver it again",
                bolt_request.body.get("event_id"),
            )
            return web.Response(status=503, text="authorization unavailable; retry")
        return await to_aiohttp_response(response)

    # --- replies ---------------------------------------------------------------------------------
    async def deliver(self, out: Outbound) -> str:
        """Post the reply in the customer's thread; returns the ts of its first message."""
        pages = text_pages(out.text)

        async def post(index: int, page: Page) -> str:
            last = index == len(pages) - 1  # feedback buttons go under the last piece
            blocks = (
                with_buttons(page.text, out.buttons, block_id=f"buttons:{out.reply_id}")
                if (out.buttons and last)
                else None
            )
            try:
                response = await self.client.chat_postMessage(
                    channel=out.channel_id,
                    thread_ts=out.thread_id,
                    text=page.text,
                    unfurl_links=False,
                    unfurl_media=False,
                    blocks=blocks,
                    metadata={
                        "event_type": REPLY_EVENT,
                        "event_payload": {"reply_id": out.reply_id, "piece": index, "pieces": len(pages)},
                    },
                )
            except SlackApiError as exc:
                if (reason := error_reason(exc)) in PERMANENT_ERRORS:
                    raise PermanentDeliveryError(PLATFORM, reason) from exc
                raise
            return str(response["ts"])

        if out.in_reply_to:  # the "on it" signals of this message go out first
            channel, ts = split_message_key(out.in_reply_to)
            await self.feedback.settle(channel=channel, ts=ts)
        first = await self._delivery.deliver(out, pages, post=post, look_up=lambda: self._already_posted(out))
        if out.in_reply_to:
            channel, ts = split_message_key(out.in_reply_to)
            await self.feedback.answered(channel=channel, ts=ts)
        return first

    async def _already_posted(self, out: Outbound) -> dict[int, str]:
        """Pieces of this reply already in the thread: piece index → ts. One page of the thread from the
        customer's message on (our reply comes after it). Errors are the delivery loop's to handle."""
        args: dict[str, Any] = {
            "channel": out.channel_id,
            "ts": out.thread_id,
            "include_all_metadata": True,
            "limit": LOOKUP_LIMIT,
        }
        if out.in_reply_to:
            args.update(oldest=split_message_key(out.in_reply_to)[1], inclusive=True)
        response = await self.client.conversations_replies(**args)
        found: dict[int, str] = {}
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                message.get("bot_id")
                and metadata.get("event_type") == REPLY_EVENT
                and str(payload.get("reply_id")) == str(out.reply_id)
            ):
                found.setdefault(int(payload.get("piece") or 0), str(message["ts"]))
        return found

    # --- the staff channel (Block Kit cards, buttons and notices: staff_channel.py) -------------
    async def post_card(self, card: Card, *, channel_id: str, key: int) -> str:
        return await self.staff_channel.post_card(card, channel_id=channel_id, key=key)

    async def update_card(self, card: Card, *, channel_id: str, message_id: str) -> None:
        await self.staff_channel.update_card(card, channel_id=channel_id, message_id=message_id)

    async def notify(self, text: str, *, channel_id: str, thread_id: str = "", key: int = 0) -> str:
        return await self.staff_channel.notify(text, channel_id=channel_id, thread_id=thread_id, key=key)

    async def permalink(self, channel_id: str, thread_id: str) -> str:
        return await self.staff_channel.permalink(channel_id, thread_id)
