"""A fake Slack on aiohttp, for driving the real slack-bolt / slack_sdk against 127.0.0.1.

It speaks just enough of Slack's wire protocol:
- the Web API, ``POST /api/{method}`` (form-encoded or JSON, token in ``Authorization``; ``GET`` with
  query parameters too): auth.test, chat.postMessage, chat.update, chat.postEphemeral, chat.getPermalink,
  reactions.add / reactions.remove, assistant.threads.setStatus, apps.connections.open (with the app token),
  views.open, conversations.history (top-level messages, newest first) and
  conversations.replies over what the app posted (``fake.posted``): oldest first, ``oldest`` /
  ``inclusive`` / ``limit`` honoured, and each message's ``metadata: {event_type, event_payload}`` (as
  chat.postMessage received it) only with ``include_all_metadata`` — Slack's shape. Any other method
  answers ``{"ok": false, "error": "unknown_method"}``. A wrong token gets ``invalid_auth``.
- response URLs, ``POST /response/{id}`` (what bolt's ``respond()`` posts to).
- Socket Mode, the websocket ``GET /link``: ``hello`` on connect; ``send_envelope()`` pushes an
  envelope; the client's ``{"envelope_id"}`` acknowledgements are recorded.

Every call is recorded (``fake.calls``) with its arrival time; ``await fake.wait_for(method, count)``
returns as soon as that many calls arrived (an event set by the server, no polling sleeps).

    async with FakeSlack() as fake:
        fake.fail("reactions.add", "missing_scope")        # the next reactions.add fails
        fake.rate_limit("chat.postMessage", retry_after=0)  # the next postMessage gets 429
        fake.server_error("chat.postMessage", status=500)   # the next postMessage gets an HTTP 500
        fake.hold("chat.postMessage"); ...; fake.release("chat.postMessage")  # calls wait in between
        await fake.drop_connections()                        # close Socket Mode websockets server-side
        ...
        [post] = await fake.wait_for("chat.postMessage")
        assert post.args["thread_ts"] == "1700000000.000100"

Helpers build what Slack sends to an app: ``message_event``, ``event_callback``, ``slash_command``,
``block_actions`` / ``view_submission`` (sent as ``interactive_body`` over HTTP, or as a Socket Mode
envelope of type ``interactive``), and ``signed_headers`` (Slack's v0 signature, computed with slack_sdk's
own ``SignatureVerifier``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

from bot.bench.fakes import LocalServer

BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"
SIGNING_SECRET = "test-signing-secret"
TEAM_ID, BOT_USER_ID, BOT_ID = "T1", "UBOT", "BBOT"
JSON_CONTENT_TYPE = "application/json"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str
    at: float  # time.monotonic()


@dataclass
class _Behaviour:
    kind: str  # "error" | "ratelimit" | "server_error" | "raw" | "reset" | "slow" | "pass" (answered normally)
    error: str = ""
    retry_after: int = 0
    status: int = 200
    body: str = "upstream error"
    content_type: str = "text/plain"
    delay_s: float = 0.0


@dataclass
class FakeSlack(LocalServer):
    bot_token: str = BOT_TOKEN
    app_token: str = APP_TOKEN
    more_bot_tokens: tuple[str, ...] = ()  # also valid bot tokens (tell several processes apart by Call.token)
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # bodies posted to response URLs
    acks: list[dict[str, Any]] = field(default_factory=list)  # Socket Mode acknowledgements
    posted: list[dict[str, Any]] = field(default_factory=list)  # messages chat.postMessage created, in order
    # Channels the bot is not in: chat.postMessage there answers `not_in_channel`, every time.
    gone_channels: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._behaviours: defaultdict[str, deque[_Behaviour]] = defaultdict(deque)
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self.connections = 0  # Socket Mode websockets opened so far
        self._gates: dict[str, asyncio.Event] = {}  # methods whose calls are held until released

    # --- lifecycle -----------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/{method}", self._api),
            web.get("/api/{method}", self._api),
            web.post("/response/{id}", self._response),
            web.get("/link", self._link),
            web.get("/link/", self._link),
        ]

    async def close_connections(self) -> None:
        for method in list(self._gates):
            self.release(method)
        for ws in list(self._sockets):
            await ws.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name or uuid.uuid4().hex[:8]}"

    # --- behaviours ------------------------------------------------------------------------------
    def fail(self, method: str, error: str, *, times: int = 1, after: int = 0) -> None:
        """The next `times` calls of `method` (after `after` normal ones) answer `{"ok": false, "error"}`."""
        self._behaviours[method].extend(_Behaviour("pass") for _ in range(after))
        self._behaviours[method].extend(_Behaviour("error", error=error) for _ in range(times))

    def rate_limit(self, method: str, *, retry_after: int = 0, times: int = 1) -> None:
        self._behaviours[method].extend(_Behaviour("ratelimit", retry_after=retry_after) for _ in range(times))

    def raw(
        self, method: str, body: str, *, status: int = 200, content_type: str = "text/plain", times: int = 1
    ) -> None:
        """The next `times` calls get `body` verbatim: a proxy's text or HTML, an empty or cut-off body."""
        self._behaviours[method].extend(
            _Behaviour("raw", status=status, body=body, content_type=content_type) for _ in range(times)
        )

    def reset(self, method: str, *, times: int = 1) -> None:
        """The next `times` calls have their connection closed without an answer."""
        self._behaviours[method].extend(_Behaviour("reset") for _ in range(times))

    def slow(self, method: str, delay_s: float, *, times: int = 1) -> None:
        """The next `times` calls are answered normally after `delay_s`."""
        self._behaviours[method].extend(_Behaviour("slow", delay_s=delay_s) for _ in range(times))

    def server_error(self, method: str, *, status: int = 500, times: int = 1, body: str = "upstream error") -> None:
        """The next `times` calls of `method` get an HTTP `status` (5xx, or a proxy's 403) with a plain-text
        body (not JSON, as a proxy in front of Slack answers)."""
        self._behaviours[method].extend(_Behaviour("server_error", status=status, body=body) for _ in range(times))

    def hold(self, method: str) -> None:
        """Calls of `method` are recorded on arrival but answered only after `release(method)`."""
        self._gates[method] = asyncio.Event()

    def release(self, method: str) -> None:
        gate = self._gates.pop(method, None)
        if gate is not None:
            gate.set()

    async def drop_connections(self) -> None:
        """Close every Socket Mode websocket from the server side (as Slack does on a refresh)."""
        for ws in list(self._sockets):
            await ws.close()

    # --- what the app did ----------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, method: str, count: int = 1, *, timeout: float = 10.0) -> list[Call]:
        """The first `count` calls of `method`, as soon as they have arrived (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(method)) >= count)
        return self.calls_to(method)[:count]

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float = 10.0) -> None:
        """Until `condition()` holds, re-checked whenever a call arrives (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(condition)

    async def wait_responses(self, count: int = 1, *, timeout: float = 10.0) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.responses) >= count)
        return self.responses[:count]

    # --- the Web API -----------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == JSON_CONTENT_TYPE:
            args: dict[str, Any] = await request.json()
        else:
            args = dict(await request.post())
        args.update({k: v for k, v in request.query.items() if k not in args})
        for key in ("blocks", "loading_messages", "view", "metadata"):  # form-encoded JSON arrives as text
            if isinstance(args.get(key), str) and args[key][:1] in ("[", "{"):
                args[key] = json.loads(args[key])
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        self.calls.append(Call(method, args, token, time.monotonic()))
        await self._notify()
        if (gate := self._gates.get(method)) is not None:
            await gate.wait()
        expected = (self.app_token,) if method == "apps.connections.open" else (self.bot_token, *self.more_bot_tokens)
        if token not in expected:
            return self._json({"ok": False, "error": "invalid_auth"})
        if method == "chat.postMessage" and args.get("channel") in self.gone_channels:
            return self._json({"ok": False, "error": "not_in_channel"})
        queued = self._behaviours.get(method)
        if queued:
            behaviour = queued.popleft()
            if behaviour.kind == "pass":
                return self._json(self._answer(method, args))
            if behaviour.kind == "slow":
                await asyncio.sleep(behaviour.delay_s)
                return self._json(self._answer(method, args))
            if behaviour.kind == "raw":
                return web.Response(
                    status=behaviour.status,
                    body=behaviour.body.encode(),
                    headers={"Content-Type": behaviour.content_type},
                )
            if behaviour.kind == "reset":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)  # never reaches the client
            if behaviour.kind == "server_error":
                return web.Response(status=behaviour.status, text=behaviour.body)
            if behaviour.kind == "ratelimit":
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(behaviour.retry_after)},
                )
            return self._json({"ok": False, "error": behaviour.error})
        return self._json(self._answer(method, args))

    @staticmethod
    def _json(body: dict[str, Any]) -> web.Response:
        return web.json_response(body, content_type=JSON_CONTENT_TYPE)

    def next_ts(self) -> str:
        return f"{1_800_000_000 + next(self._ts)}.000100"

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        match method:
            case "auth.test":
                return {
                    "ok": True,
                    "url": "https://fake.slack.test/",
                    "team": "Fake",
                    "user": "supportbot",
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                    "is_enterprise_install": False,
                }
            case "chat.postMessage":
                ts = self.next_ts()
                message = {
                    "type": "message",
                    "user": BOT_USER_ID,
                    "bot_id": BOT_ID,
                    "ts": ts,
                    "text": args.get("text", ""),
                }
                if args.get("thread_ts"):
                    message["thread_ts"] = args["thread_ts"]
                if args.get("blocks"):
                    message["blocks"] = args["blocks"]
                self.posted.append({**message, "channel": args.get("channel"), "metadata": args.get("metadata")})
                return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": message}
            case "conversations.replies":
                return self._replies(args)
            case "conversations.history":
                return self._history(args)
            case "chat.update":
                for m in self.posted:
                    if m["channel"] == args.get("channel") and m["ts"] == args.get("ts"):
                        m.update({k: args[k] for k in ("text", "blocks") if k in args})
                        break
                else:
                    return {"ok": False, "error": "message_not_found"}
                return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text")}
            case "views.open":
                if not args.get("trigger_id"):
                    return {"ok": False, "error": "invalid_trigger_id"}
                view = args.get("view") or {}
                return {"ok": True, "view": {**view, "id": f"V{next(self._ts)}"}}
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": self.next_ts()}
            case "chat.getPermalink":
                ts = str(args.get("message_ts", ""))
                return {
                    "ok": True,
                    "channel": args.get("channel"),
                    "permalink": f"https://fake.slack.test/archives/{args.get('channel')}/p{ts.replace('.', '')}",
                }
            case "reactions.add" | "reactions.remove" | "assistant.threads.setStatus":
                return {"ok": True}
            case "apps.connections.open":
                return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        return {"ok": False, "error": "unknown_method"}

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """What the app posted in a thread (a message posted with that thread_ts), oldest first."""
        return [m for m in self.posted if m["channel"] == channel and m.get("thread_ts") == thread_ts]

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        def flag(name: str) -> bool:
            return str(args.get(name, "")).lower() in ("1", "true")

        if not args.get("channel") or not args.get("ts"):
            return {"ok": False, "error": "invalid_arguments"}
        oldest = float(args.get("oldest") or 0)
        limit = int(args.get("limit") or 1000)
        found = [
            m
            for m in self.thread(str(args["channel"]), str(args["ts"]))
            if float(m["ts"]) > oldest or (flag("inclusive") and float(m["ts"]) == oldest)
        ]
        messages = []
        for m in found[:limit]:
            shown = {k: v for k, v in m.items() if k not in ("channel", "metadata")}
            if flag("include_all_metadata") and m.get("metadata"):
                shown["metadata"] = m["metadata"]
            messages.append(shown)
        return {
            "ok": True,
            "messages": messages,
            "has_more": len(found) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages of a channel (not thread replies), newest first, as conversations.history."""
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        limit = int(args.get("limit") or 100)
        top = [m for m in reversed(self.posted) if m["channel"] == args["channel"] and not m.get("thread_ts")]
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = [
            {k: v for k, v in m.items() if k != "channel" and (k != "metadata" or with_metadata)} for m in top[:limit]
        ]
        return {"ok": True, "messages": messages, "has_more": len(top) > limit}

    def in_channel(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages the app posted in a channel (cards in the staff channel), oldest first."""
        return [m for m in self.posted if m["channel"] == channel and not m.get("thread_ts")]

    async def _response(self, request: web.Request) -> web.Response:
        body = await request.json()
        body["_url"] = str(request.url)
        self.responses.append(body)
        await self._notify()
        return web.Response(text="ok")

    # --- Socket Mode -----------------------------------------------------------------------------
    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        self.connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "fake"},
                "connection_info": {"app_id": "A1"},
            }
        )
        await self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(msg.data))
                    await self._notify()
        finally:
            self._sockets.remove(ws)
            await self._notify()
        return ws

    async def wait_connected(self, *, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: bool(self._sockets))

    async def wait_connections(self, count: int, *, timeout: float = 10.0) -> None:
        """Until `count` websockets were opened in all and the newest is still open."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(
                lambda: self.connections >= count and bool(self._sockets) and not self._sockets[-1].closed
            )

    async def send_envelope(
        self,
        payload: dict[str, Any],
        *,
        type: str = "events_api",
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool = False,
    ) -> str:
        envelope_id = uuid.uuid4().hex
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": type,
                "payload": payload,
                "accepts_response_payload": accepts_response_payload,
                "retry_attempt": retry_attempt,
                "retry_reason": retry_reason,
            }
        )
        return envelope_id

    async def wait_ack(self, envelope_id: str, *, timeout: float = 10.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((a for a in self.acks if a.get("envelope_id") == envelope_id), None)

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: found() is not None)
        ack = found()
        assert ack is not None
        return ack


# --- what Slack sends to an app ----------------------------------------------------------------
_event_ids = itertools.count(1)


def message_event(
    text: str,
    *,
    user: str = "UCUST",
    channel: str = "CSUPPORT",
    ts: str = "1700000000.000100",
    thread_ts: str | None = None,
    channel_type: str = "channel",
    type: str = "message",
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": type,
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
    }
    if type == "message":
        event["channel_type"] = channel_type
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


def event_callback(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A1",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }


def slash_command(
    command: str, text: str = "", *, user: str = "UCUST", channel: str = "CSUPPORT", response_url: str = ""
) -> dict[str, str]:
    return {
        "token": "legacy",
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": channel,
        "channel_name": "support",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "response_url": response_url,
        "trigger_id": f"{uuid.uuid4().int % 10**10}.1.abc",
    }


def form_body(fields: dict[str, str]) -> str:
    return urlencode(fields)


def signed_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None, content_type: str = JSON_CONTENT_TYPE
) -> dict[str, str]:
    """Slack's request signature (v0, HMAC-SHA256 over `v0:{timestamp}:{body}`)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, "Content-Type": content_type}


def block_actions(
    action_id: str,
    value: str,
    *,
    user: str = "UCUST",
    channel: str = "CSTAFF",
    message_ts: str = "1800000001.000100",
    response_url: str = "",
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A button click as Slack sends it (`type: block_actions`)."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A1",
        "team": {"id": TEAM_ID},
        "token": "legacy",
        "trigger_id": trigger_id or f"{uuid.uuid4().int % 10**10}.1.abc",
        "response_url": response_url,
        "channel": {"id": channel},
        "message": {"ts": message_ts, "type": "message", "text": ""},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"b:{value}",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def view_submission(
    callback_id: str, values: dict[str, dict[str, str]], *, user: str = "USTAFF", private_metadata: str = ""
) -> dict[str, Any]:
    """A modal submitted (`type: view_submission`); `values` is {block_id: {action_id: text}}."""
    state = {
        block: {action: {"type": "plain_text_input", "value": text} for action, text in actions.items()}
        for block, actions in values.items()
    }
    return {
        "type": "view_submission",
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A1",
        "team": {"id": TEAM_ID},
        "token": "legacy",
        "trigger_id": "1.2.abc",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": state},
            "hash": "h1",
        },
    }


def interactive_body(payload: dict[str, Any]) -> str:
    """The form body of an interactivity request (HTTP mode): `payload=<JSON>`."""
    return form_body({"payload": json.dumps(payload)})
