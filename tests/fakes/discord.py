"""A fake Discord on aiohttp, for driving the real discord.py against 127.0.0.1.

It speaks just enough of Discord's wire protocol:
- the REST API under ``/api/v10``: login (``GET /users/@me``, ``GET /oauth2/applications/@me``),
  channels (``GET /channels/{id}``), messages (``POST /channels/{id}/messages``, honouring
  ``nonce`` + ``enforce_nonce`` as Discord does: the same nonce from the same bot within
  ``nonce_window_s`` returns the first message), history (``GET /channels/{id}/messages`` with
  ``limit`` / ``after`` / ``before``, newest first, no nonces — as Discord answers), threads from a message (``POST
  /channels/{id}/messages/{mid}/threads``; a second thread for the same message → 400, code 160004,
  and THREAD_CREATE is dispatched on the gateway), typing, interaction callbacks, webhook follow-ups
  and edits of the original response, and command sync (``PUT …/commands``). A wrong bot token → 401.
- the gateway at ``/gateway``: HELLO, HEARTBEAT_ACK, IDENTIFY → READY + GUILD_CREATE (one guild with
  a support channel, another channel and a staff role), RESUME → RESUMED; ``dispatch()`` pushes any
  event (MESSAGE_CREATE, INTERACTION_CREATE …) on demand.

JSON answers carry ``Content-Type: application/json`` exactly; nothing answers 5xx unless a test asks
with ``fail(route, 500)`` (discord.py retries 500/502/504 with multi-second sleeps; 503 is raised at
once). ``drop_connections(code=4000)`` closes the gateway server-side; ``wait_resumed()`` returns once
the client came back with RESUME. Every REST call is recorded (``fake.calls``); ``await
fake.wait_for(route, count)`` returns once that many arrived (a condition the server notifies).

    async with FakeDiscord() as fake:
        ...  # point SUPPORTBOT_DISCORD_API_URL / _GATEWAY_URL at fake.api_url / fake.gateway_url
        await fake.ready.wait()
        await fake.dispatch("MESSAGE_CREATE", message_payload("hello"))
        [post] = await fake.wait_for("message")
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.bench.fakes import LocalServer

BOT_TOKEN = "fake.discord.bot-token"
APP_ID, BOT_ID, GUILD_ID = "900000000000000001", "900000000000000002", "100000000000000001"
SUPPORT_CHANNEL, OTHER_CHANNEL, DM_CHANNEL = "100000000000000010", "100000000000000020", "100000000000000040"
STAFF_ROLE, CUSTOMER, STAFF_USER = "100000000000000030", "300000000000000001", "300000000000000002"
STAFF_CHANNEL, STAFF_FORUM = "100000000000000050", "100000000000000060"
MISSING_PERMISSIONS = 50013
JSON = "application/json"
TIMESTAMP = "2025-01-01T12:00:00.000000+00:00"
EPHEMERAL = 1 << 6
NONCE_WINDOW_S = 300.0  # how long the fake remembers a nonce (Discord: "the past few minutes")

BOT_USER = {
    "id": BOT_ID,
    "username": "supportbot",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
    "flags": 0,
    "verified": True,
    "mfa_enabled": False,
}
_ROUTES = [  # (HTTP method, path pattern, route name)
    ("GET", r"users/@me", "me"),
    ("GET", r"oauth2/applications/@me", "application"),
    ("GET", r"gateway(/bot)?", "gateway"),
    ("POST", r"channels/(?P<channel>\d+)/messages/(?P<message>\d+)/threads", "thread"),
    ("POST", r"channels/(?P<channel>\d+)/messages", "message"),
    ("PATCH", r"channels/(?P<channel>\d+)/messages/(?P<message>\d+)", "message_edit"),
    ("POST", r"channels/(?P<channel>\d+)/threads", "forum_post"),
    ("PATCH", r"channels/(?P<channel>\d+)", "channel_edit"),
    ("GET", r"channels/(?P<channel>\d+)/messages", "history"),
    ("POST", r"channels/(?P<channel>\d+)/typing", "typing"),
    ("GET", r"channels/(?P<channel>\d+)", "channel"),
    ("POST", r"interactions/(?P<interaction>\d+)/(?P<token>[^/]+)/callback", "callback"),
    ("POST", r"webhooks/(?P<app>\d+)/(?P<token>[^/]+)", "followup"),
    ("PATCH", r"webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<message>[^/]+)", "edit"),
    ("PUT", r"applications/(?P<app>\d+)(/guilds/(?P<guild>\d+))?/commands", "commands"),
]


@dataclass
class Call:
    route: str  # a name from _ROUTES ("message", "thread", "callback", …)
    method: str
    path: str  # after /api/v10/
    json: Any
    params: dict[str, str]  # the path's named parts (channel, message, token …)
    query: dict[str, str]
    at: float  # time.monotonic()
    token: str = ""
    deduplicated: bool = False  # a message post whose nonce Discord had seen: answered with the first one
    answer: Any = None  # the message object a message post was answered with


@dataclass
class FakeDiscord(LocalServer):
    bot_token: str = BOT_TOKEN
    refuse_privileged_intents: bool = False  # as when Message Content is not enabled in the Developer Portal
    calls: list[Call] = field(default_factory=list)
    identify: dict[str, Any] | None = None  # the client's IDENTIFY payload
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)  # thread id → channel object
    # the staff forum's tags ({"id", "name", …}); the bot may add tags unless `tags_editable` is False
    forum_tags: list[dict[str, Any]] = field(default_factory=list)
    tags_editable: bool = True

    def __post_init__(self) -> None:
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        # (author token, channel, nonce) → (when, message): Discord checks a nonce "in the past few minutes"
        self._nonces: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}
        self.nonce_window_s = NONCE_WINDOW_S
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel → messages posted there, oldest first
        self._failures: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._raw: dict[str, list[tuple[int, str, str]]] = {}  # route → (status, body, content type); 0: reset
        self._sent = 0  # the last sequence number dispatched
        self._heard = 0  # the highest sequence number a client heartbeat acknowledged
        self.ready = asyncio.Event()  # set once READY and GUILD_CREATE were sent
        self.resumes = 0  # RESUME (op 6) frames answered with RESUMED

    # --- lifecycle -----------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/gateway", self._gateway),
            web.get("/gateway/", self._gateway),
            web.route("*", "/api/v10/{tail:.*}", self._api),
        ]

    async def close_connections(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def snowflake(self) -> str:
        return str(1_300_000_000_000_000_000 + next(self._ids))

    def raw(self, route: str, body: str, *, status: int = 200, content_type: str = "text/plain") -> None:
        """The next call of `route` gets `body` verbatim (a proxy's text or HTML, an empty or cut-off body)."""
        self._raw.setdefault(route, []).append((status, body, content_type))

    def reset(self, route: str) -> None:
        """The next call of `route` has its connection closed without an answer."""
        self._raw.setdefault(route, []).append((0, "", ""))

    def fail(self, route: str, status: int, *, code: int = 0, message: str = "failed", times: int = 1) -> None:
        """The next `times` calls of `route` answer `status` with Discord's error body."""
        self._failures.setdefault(route, []).extend([(status, {"code": code, "message": message})] * times)

    # --- what the bot did ----------------------------------------------------------------------
    def calls_to(self, route: str) -> list[Call]:
        return [c for c in self.calls if c.route == route]

    def posts_in(self, channel: str) -> list[Call]:
        """New messages the bot posted in a channel (a deduplicated retry is not a new message)."""
        return [c for c in self.calls_to("message") if c.params["channel"] == channel and not c.deduplicated]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, route: str, count: int = 1, *, timeout: float = 10.0) -> list[Call]:
        """The first `count` calls of `route`, as soon as they have arrived (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(route)) >= count)
        return self.calls_to(route)[:count]

    async def until(self, condition: Callable[[], bool], *, timeout: float = 10.0) -> None:
        """Return once `condition()` holds; it is checked after every REST call and gateway frame."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(condition)

    # --- REST ------------------------------------------------------------------------------------
    @staticmethod
    def _json(body: Any, status: int = 200) -> web.Response:
        # exactly `application/json`: with `; charset=…` discord.py would take the body for text
        return web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": JSON})

    async def _api(self, request: web.Request) -> web.Response:
        tail = request.match_info["tail"].rstrip("/")
        for method, pattern, route_name in _ROUTES:
            m = re.fullmatch(pattern, tail)
            if m and method == request.method:
                name = route_name
                break
        else:
            return self._json({"message": "404: Not Found", "code": 0}, status=404)
        body = await request.json() if request.can_read_body and request.content_type == JSON else None
        token = request.headers.get("Authorization", "").removeprefix("Bot ").strip()
        call = Call(
            name,
            request.method,
            tail,
            body,
            {k: v for k, v in m.groupdict().items() if v},
            dict(request.query),
            time.monotonic(),
            token,
        )
        self.calls.append(call)
        try:
            if name not in ("callback", "followup", "edit") and token != self.bot_token:
                return self._json({"message": "401: Unauthorized", "code": 0}, status=401)
            if raw := self._raw.get(name):
                status, text, content_type = raw.pop(0)
                if not status:
                    assert request.transport is not None
                    request.transport.close()
                return web.Response(status=status or 500, body=text.encode(), headers={"Content-Type": content_type})
            failures = self._failures.get(name)
            if failures:
                status, error = failures.pop(0)
                return self._json(error, status=status)
            return await self._answer(call)
        finally:
            await self._notify()

    async def _answer(self, call: Call) -> web.Response:
        p, body = call.params, call.json or {}
        match call.route:
            case "me":
                return self._json(BOT_USER)
            case "application":
                return self._json(
                    {
                        "id": APP_ID,
                        "name": "supportbot",
                        "description": "",
                        "icon": None,
                        "bot_public": True,
                        "bot_require_code_grant": False,
                        "owner": BOT_USER,
                        "verify_key": "0" * 64,
                        "flags": 0,
                        "summary": "",
                    }
                )
            case "gateway":
                return self._json(
                    {
                        "url": self.gateway_url,
                        "shards": 1,
                        "session_start_limit": {
                            "total": 1000,
                            "remaining": 1000,
                            "reset_after": 0,
                            "max_concurrency": 1,
                        },
                    }
                )
            case "thread":
                if p["message"] in self.threads:
                    return self._json(
                        {"code": 160004, "message": "A thread has already been created for this message"}, status=400
                    )
                thread = thread_payload(p["message"], parent=p["channel"], name=str(body.get("name", "")))
                self.threads[p["message"]] = thread
                await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
                return self._json(thread)
            case "message":
                key = (call.token, p["channel"], str(body.get("nonce", "")))
                seen = self._nonces.get(key)
                if body.get("enforce_nonce") and seen and time.monotonic() - seen[0] < self.nonce_window_s:
                    call.deduplicated = True
                    call.answer = seen[1]
                    return self._json(seen[1])
                message = call.answer = self.message_object(p["channel"], body)
                self.messages.setdefault(p["channel"], []).append(message)
                if body.get("nonce"):
                    self._nonces[key] = (time.monotonic(), message)
                return self._json(message)
            case "history":  # Discord's order: newest first, also with `after` (the `limit` oldest after it)
                found = self.messages.get(p["channel"], [])
                limit = min(int(call.query.get("limit", 50)), 100)
                if "after" in call.query:
                    found = [m for m in found if int(m["id"]) > int(call.query["after"])][:limit]
                else:
                    if "before" in call.query:
                        found = [m for m in found if int(m["id"]) < int(call.query["before"])]
                    found = found[-limit:]
                return self._json([{k: v for k, v in m.items() if k != "nonce"} for m in reversed(found)])
            case "typing":
                return web.Response(status=204)
            case "channel":
                if p["channel"] == STAFF_FORUM:
                    return self._json(forum_payload(self.forum_tags))
                channel = self.threads.get(p["channel"]) or channel_payload(p["channel"])
                return self._json(channel)
            case "message_edit":
                stored = self.message(p["channel"], p["message"])
                if stored is None:
                    return self._json({"code": 10008, "message": "Unknown Message"}, status=404)
                stored.update(
                    {k: body[k] for k in ("content", "embeds", "components") if k in body}, edited_timestamp=TIMESTAMP
                )
                return self._json(stored)
            case "forum_post":  # a forum post: a thread whose starter message has the thread's id
                thread_id = self.snowflake()
                thread = {
                    **thread_payload(thread_id, parent=p["channel"], name=str(body.get("name", ""))),
                    "applied_tags": [str(t) for t in body.get("applied_tags") or []],
                }
                self.threads[thread_id] = thread
                message = {**self.message_object(thread_id, body.get("message") or {}), "id": thread_id}
                self.messages.setdefault(thread_id, []).append(message)
                await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
                return self._json({**thread, "message": message})
            case "channel_edit":
                if p["channel"] in self.threads:
                    thread = self.threads[p["channel"]]
                    if "applied_tags" in body:
                        thread["applied_tags"] = [str(t) for t in body["applied_tags"]]
                    if "archived" in body:
                        thread["thread_metadata"]["archived"] = bool(body["archived"])
                    return self._json(thread)
                if p["channel"] != STAFF_FORUM or not self.tags_editable:
                    return self._json({"code": MISSING_PERMISSIONS, "message": "Missing Permissions"}, status=403)
                self.forum_tags = [
                    {
                        "moderated": False,
                        "emoji_id": None,
                        "emoji_name": None,
                        **tag,
                        "id": str(tag.get("id") or self.snowflake()),
                    }
                    for tag in body["available_tags"]
                ]
                return self._json(forum_payload(self.forum_tags))
            case "callback":
                kind = int(body.get("type", 0))
                data = body.get("data") or {}
                message = self.message_object(SUPPORT_CHANNEL, data, webhook=True) if kind == 4 else None
                return self._json(
                    {
                        "interaction": {
                            "id": p["interaction"],
                            "type": 2,
                            "response_message_id": message["id"] if message else None,
                            "response_message_loading": kind == 5,
                            "response_message_ephemeral": bool(int(data.get("flags", 0)) & EPHEMERAL),
                        },
                        "resource": {"type": kind, **({"message": message} if message else {})},
                    }
                )
            case "followup" | "edit":
                return self._json(self.message_object(SUPPORT_CHANNEL, body, webhook=True))
            case "commands":
                return self._json(
                    [
                        {
                            **command,
                            "id": self.snowflake(),
                            "application_id": APP_ID,
                            "version": "1",
                            "type": command.get("type", 1),
                            "guild_id": p.get("guild"),
                            "default_member_permissions": None,
                        }
                        for command in body
                    ]
                )
        raise AssertionError(call.route)

    def message_object(self, channel: str, body: dict[str, Any], *, webhook: bool = False) -> dict[str, Any]:
        message = {
            "id": self.snowflake(),
            "channel_id": channel,
            "author": BOT_USER,
            "type": 0,
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "pinned": False,
            "flags": int(body.get("flags") or 0),
            "components": body.get("components") or [],
        }
        if body.get("nonce"):
            message["nonce"] = body["nonce"]
        if webhook:
            message.update(webhook_id=APP_ID, application_id=APP_ID)
        return message

    def message(self, channel: str, message_id: str) -> dict[str, Any] | None:
        """A message the bot posted, as it stands now (edits applied)."""
        return next((m for m in self.messages.get(channel, []) if m["id"] == message_id), None)

    # --- the gateway -----------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                if frame["op"] == 1:  # HEARTBEAT, carrying the last sequence number the client has read
                    self._heard = max(self._heard, int(frame.get("d") or 0))
                    await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
                    await self._notify()
                elif frame["op"] == 2:  # IDENTIFY
                    await self._identified(ws, frame["d"])
                elif frame["op"] == 6:  # RESUME
                    await self._send(ws, "RESUMED", {})
                    self.resumes += 1
                    await self._notify()
        finally:
            self._sockets.remove(ws)
            await self._notify()
        return ws

    async def _identified(self, ws: web.WebSocketResponse, identify: dict[str, Any]) -> None:
        self.identify = identify
        if identify.get("token") != self.bot_token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        if self.refuse_privileged_intents and int(identify.get("intents", 0)) & (1 << 15):
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        await self._send(
            ws,
            "READY",
            {
                "v": 10,
                "user": BOT_USER,
                "guilds": [{"id": GUILD_ID, "unavailable": True}],
                "session_id": "fake-session",
                "resume_gateway_url": self.gateway_url,
                "application": {"id": APP_ID, "flags": 0},
                "private_channels": [],
                "relationships": [],
            },
        )
        await self._send(ws, "GUILD_CREATE", guild_payload(list(self.threads.values()), forum_tags=self.forum_tags))
        self.ready.set()
        await self._notify()

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        self._sent = next(self._seq)
        await ws.send_json({"op": 0, "t": event, "s": self._sent, "d": data})

    async def round_trip(self, *, timeout: float = 10.0) -> None:
        """Return once the client has read every event dispatched so far: ask for a heartbeat (op 1) and
        wait for one that carries the last sequence number."""
        target = self._sent
        for ws in list(self._sockets):
            await ws.send_json({"op": 1, "d": None, "s": None, "t": None})
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self._heard >= target)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Push a DISPATCH event to the connected client (all connections, as every shard would)."""
        for ws in list(self._sockets):
            await self._send(ws, event, data)

    async def drop_connections(self, *, code: int = 4000) -> None:
        """Close every gateway connection from the server side with `code` (4000: unknown error, resumable)."""
        for ws in list(self._sockets):
            await ws.close(code=code)

    async def wait_resumed(self, count: int = 1, *, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.resumes >= count and bool(self._sockets))

    async def wait_disconnected(self, *, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: not self._sockets)


# --- what Discord sends to a bot -------------------------------------------------------------------
def _role(role_id: str, name: str, position: int) -> dict[str, Any]:
    return {
        "id": role_id,
        "name": name,
        "permissions": "0",
        "position": position,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
        "icon": None,
        "unicode_emoji": None,
    }


def channel_payload(channel_id: str, name: str = "support", position: int = 0) -> dict[str, Any]:
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": GUILD_ID,
        "name": name,
        "position": position,
        "topic": None,
        "nsfw": False,
        "permission_overwrites": [],
        "rate_limit_per_user": 0,
        "parent_id": None,
        "last_message_id": None,
    }


def thread_payload(thread_id: str, *, parent: str = SUPPORT_CHANNEL, name: str = "thread") -> dict[str, Any]:
    return {
        "id": thread_id,
        "type": 11,
        "guild_id": GUILD_ID,
        "parent_id": parent,
        "owner_id": BOT_ID,
        "name": name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "flags": 0,
        "total_message_sent": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": TIMESTAMP,
            "locked": False,
            "create_timestamp": TIMESTAMP,
        },
    }


def forum_payload(tags: list[dict[str, Any]], channel_id: str = STAFF_FORUM) -> dict[str, Any]:
    return {
        **channel_payload(channel_id, "staff-cases", 3),
        "type": 15,
        "available_tags": tags,
        "flags": 0,
        "default_reaction_emoji": None,
        "default_sort_order": None,
        "default_forum_layout": 0,
        "default_thread_rate_limit_per_user": 0,
    }


def guild_payload(
    threads: list[dict[str, Any]] | None = None, *, forum_tags: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "id": GUILD_ID,
        "name": "Fake Shop",
        "owner_id": CUSTOMER,
        "unavailable": False,
        "large": False,
        "member_count": 3,
        "joined_at": TIMESTAMP,
        "features": [],
        "emojis": [],
        "stickers": [],
        "roles": [_role(GUILD_ID, "@everyone", 0), _role(STAFF_ROLE, "staff", 1)],
        "channels": [
            channel_payload(SUPPORT_CHANNEL),
            channel_payload(OTHER_CHANNEL, "general", 1),
            channel_payload(STAFF_CHANNEL, "staff", 2),
            forum_payload(forum_tags or []),
        ],
        "threads": threads or [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "members": [{"user": BOT_USER, "roles": [], "joined_at": TIMESTAMP, "deaf": False, "mute": False, "flags": 0}],
    }


def user_payload(user_id: str = CUSTOMER, *, name: str = "customer", bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "discriminator": "0",
        "global_name": name.title(),
        "avatar": None,
        "bot": bot,
    }


def member_payload(roles: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"roles": list(roles), "joined_at": TIMESTAMP, "deaf": False, "mute": False, "flags": 0, "nick": None}


_message_ids = itertools.count(1)


def message_payload(
    content: str,
    *,
    channel: str = SUPPORT_CHANNEL,
    author: str = CUSTOMER,
    dm: bool = False,
    roles: tuple[str, ...] = (),
    bot: bool = False,
    message_id: str | None = None,
    name: str = "customer",
) -> dict[str, Any]:
    """A MESSAGE_CREATE event: in a guild channel or thread, or in a DM (no guild, no member)."""
    data: dict[str, Any] = {
        "id": message_id or str(1_200_000_000_000_000_000 + next(_message_ids)),
        "channel_id": channel,
        "author": user_payload(author, name=name, bot=bot),
        "content": content,
        "timestamp": TIMESTAMP,
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": "@everyone" in content,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
        "components": [],
    }
    if not dm:
        data.update(guild_id=GUILD_ID, member=member_payload(roles))
    return data


_interaction_ids = itertools.count(1)


def interaction_payload(
    name: str,
    options: list[dict[str, Any]] | None = None,
    *,
    user: str = CUSTOMER,
    roles: tuple[str, ...] = (),
    channel: str = SUPPORT_CHANNEL,
    resolved_users: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a slash command in the guild; `options` as Discord sends them."""
    number = next(_interaction_ids)
    data: dict[str, Any] = {
        "id": str(800_000_000_000_000_000 + number),
        "name": name,
        "type": 1,
        "options": options or [],
        "guild_id": GUILD_ID,
    }
    if resolved_users:
        data["resolved"] = {
            "users": {u: user_payload(u, name=f"user{u[-2:]}") for u in resolved_users},
            "members": {u: {**member_payload(), "permissions": "0"} for u in resolved_users},
        }
    return {
        "id": str(700_000_000_000_000_000 + number),
        "application_id": APP_ID,
        "type": 2,
        "token": f"interaction-token-{number}",
        "version": 1,
        "guild_id": GUILD_ID,
        "channel_id": channel,
        "channel": channel_payload(channel),
        "member": {**member_payload(roles), "user": user_payload(user), "permissions": "0"},
        "app_permissions": "0",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID},
        "context": 0,
        "attachment_size_limit": 8388608,
        "data": data,
    }


def _interaction(
    kind: int, data: dict[str, Any], *, user: str, roles: tuple[str, ...], channel: str, name: str
) -> dict[str, Any]:
    number = next(_interaction_ids)
    return {
        "id": str(700_000_000_000_000_000 + number),
        "application_id": APP_ID,
        "type": kind,
        "token": f"interaction-token-{number}",
        "version": 1,
        "guild_id": GUILD_ID,
        "channel_id": channel,
        "channel": channel_payload(channel),
        "app_permissions": "0",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID},
        "context": 0,
        "attachment_size_limit": 8388608,
        "data": data,
        "member": {**member_payload(roles), "user": user_payload(user, name=name), "permissions": "0"},
    }


def custom_ids(message: dict[str, Any]) -> list[str]:
    """The custom ids of a message's buttons, in order."""
    return [
        c["custom_id"] for row in message.get("components") or [] for c in row.get("components", []) if "custom_id" in c
    ]


def click_payload(
    message: dict[str, Any], custom_id: str, *, user: str = STAFF_USER, roles: tuple[str, ...] = (), name: str = "staff"
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a click (type 3, MESSAGE_COMPONENT) on a button of a message the bot
    posted; the message travels with its components, as Discord sends it."""
    assert custom_id in custom_ids(message), (custom_id, custom_ids(message))
    return {
        **_interaction(
            3,
            {"custom_id": custom_id, "component_type": 2},
            user=user,
            roles=roles,
            channel=message["channel_id"],
            name=name,
        ),
        "message": message,
    }


def modal_submit_payload(
    custom_id: str,
    values: dict[str, str],
    *,
    user: str = STAFF_USER,
    roles: tuple[str, ...] = (),
    channel: str = STAFF_CHANNEL,
    message: dict[str, Any] | None = None,
    name: str = "staff",
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a modal submit (type 5): each text input inside a Label (type 18), as
    Discord sends it now."""
    components = [
        {"type": 18, "id": i + 1, "component": {"type": 4, "id": i + 100, "custom_id": key, "value": value}}
        for i, (key, value) in enumerate(values.items())
    ]
    payload = _interaction(
        5, {"custom_id": custom_id, "components": components}, user=user, roles=roles, channel=channel, name=name
    )
    return {**payload, "message": message} if message is not None else payload
