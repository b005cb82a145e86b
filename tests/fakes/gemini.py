"""A fake Gemini API (generativelanguage.googleapis.com) on aiohttp, for driving the real google-genai client.

It speaks just enough of the wire protocol: ``POST /{version}/models/{model}:generateContent`` (any
prefix before ``models/``), ``POST /{version}/cachedContents`` and ``GET``/``DELETE
/{version}/cachedContents/{id}``. Every request is recorded with its arrival time (event-loop clock,
the same clock aiolimiter uses), and the number of generate requests in flight is tracked, so tests
can measure rate limits and parallelism.

Example::

    from tests.fakes.gemini import FakeGemini, RateLimited, Reply

    async with FakeGemini(latency_s=0.05) as fake:
        fake.push(RateLimited(retry_delay_s=0.01), Reply({"route": "billing"}))
        client = GeminiClient(api_key="test-key", model="m", router_model="r", base_url=fake.base_url)
        result = await client.generate(request)          # retried once, then answered
        assert len(fake.generate_requests) == 2
        assert fake.generate_requests[0].model == "m"
        assert fake.generate_requests[0].system == request.system

Behaviours, consumed in order by generateContent requests (``fake.push``). With the queue empty, the
responder answers: ``respond(model, body)`` returns the JSON object to put in the text part (or a
behaviour; it may be async). The default responder builds a minimal object valid for the request's JSON
schema; `body_text(body)` gives a responder the prompt text. For example::

    def respond(model: str, body: dict) -> dict | Fail:
        if "order" in body_text(body):
            return {"route": "status", "confidence": 0.9}
        return Fail(503) if model == "flaky" else {"route": "billing", "confidence": 0.5}

    async with FakeGemini(respond=respond, latency_s=0.2) as fake: ...

    Reply(data)          a normal answer; ``data`` serialized as the text part (None → ask the responder)
    RawText(text)        the text part verbatim (``INVALID_JSON`` is a truncated object)
    RawBody(body)        the whole HTTP body verbatim (not JSON, HTML, empty, cut off), any status
    Reset()              the connection closed without an answer
    RateLimited(delay)   HTTP 429 RESOURCE_EXHAUSTED with a google.rpc.RetryInfo ``retryDelay``
    Fail(status)         an HTTP error with Google's error body (500, 503, 400, …)
    Hang(seconds, then)  waits (released early when the server stops), then does ``then``: for timeouts
    Blocked(reason)      ``promptFeedback.blockReason`` and no candidates
    SafetyStop()         one candidate, ``finishReason: SAFETY``, no content

Like the real API, a request that names an unknown ``cachedContent`` gets 404, and one that sets both
``cachedContent`` and ``systemInstruction`` gets 400. ``fail_cache_create = 400`` makes cache creation fail.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import re
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from aiohttp import web

JSON_CONTENT_TYPE = "application/json"  # exactly; some clients reject "; charset=…"


# --- behaviours ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    data: Any = None  # None: the responder decides


@dataclass(frozen=True)
class RawText:
    text: str


@dataclass(frozen=True)
class RateLimited:
    retry_delay_s: float | None = 0.0  # None: no RetryInfo in the error details


@dataclass(frozen=True)
class Fail:
    status: int = 500
    message: str = "Internal error encountered."


@dataclass(frozen=True)
class Hang:
    seconds: float = 60.0
    then: Behaviour = Reply()


@dataclass(frozen=True)
class RawBody:
    """The HTTP body verbatim: a proxy's text or HTML page, an empty or cut-off body."""

    body: str
    status: int = 200
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Reset:
    """The connection is closed without an answer."""


@dataclass(frozen=True)
class Blocked:
    reason: str = "SAFETY"


@dataclass(frozen=True)
class SafetyStop:
    pass


Behaviour: TypeAlias = "Reply | RawText | RawBody | Reset | RateLimited | Fail | Hang | Blocked | SafetyStop"
_BEHAVIOURS = (Reply, RawText, RawBody, Reset, RateLimited, Fail, Hang, Blocked, SafetyStop)
INVALID_JSON = RawText('{"route": "billing", ')

Responder = Callable[[str, dict[str, Any]], "Any | Awaitable[Any]"]

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


# --- recorded requests -----------------------------------------------------------------------
@dataclass
class RecordedRequest:
    kind: Literal["generate", "cache_create", "cache_get", "cache_delete"]
    method: str
    path: str
    model: str | None
    body: dict[str, Any]
    at: float  # event-loop time of arrival

    @property
    def text(self) -> str:
        """All text parts of `contents`, joined by newlines."""
        return body_text(self.body)

    @property
    def first_part(self) -> str | None:
        contents = self.body.get("contents") or []
        parts = contents[0].get("parts", []) if contents else []
        return parts[0].get("text") if parts else None

    @property
    def system(self) -> str | None:
        instruction = self.body.get("systemInstruction")
        if not instruction:
            return None
        return "\n".join(p.get("text", "") for p in instruction.get("parts", []))

    @property
    def generation_config(self) -> dict[str, Any]:
        return self.body.get("generationConfig") or {}

    @property
    def schema(self) -> dict[str, Any] | None:
        """The requested output schema (JSON Schema or the OpenAPI-style `responseSchema`)."""
        config = self.generation_config
        return config.get("responseJsonSchema") or config.get("responseSchema")

    @property
    def cached_content(self) -> str | None:
        return self.body.get("cachedContent")


# --- the server ------------------------------------------------------------------------------
_GENERATE = re.compile(r"^/(?:.*/)?models/(?P<model>[^/:]+):generateContent$")
_CACHES = re.compile(r"^/(?:[^/]+/)?cachedContents$")
_CACHE = re.compile(r"^/(?:[^/]+/)?(?P<name>cachedContents/[^/]+)$")


class FakeGemini:
    """The fake server; an async context manager listening on 127.0.0.1 on an ephemeral port."""

    def __init__(self, *, respond: Responder | None = None, latency_s: float = 0.0) -> None:
        self.respond: Responder = respond or default_respond
        self.latency_s = latency_s
        self.requests: list[RecordedRequest] = []
        self.caches: dict[str, dict[str, Any]] = {}  # name → the create body
        self.fail_cache_create: int | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self._queue: deque[Behaviour] = deque()
        self._cache_ids = itertools.count(1)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- lifecycle
    async def __aenter__(self) -> FakeGemini:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.port: int = port
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()  # release hanging handlers so cleanup does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()

    # -- scripting
    def push(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next generateContent requests, in order."""
        self._queue.extend(behaviours)

    @property
    def pending(self) -> int:
        """Behaviours still queued."""
        return len(self._queue)

    # -- views
    @property
    def generate_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == "generate"]

    @property
    def cache_creates(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == "cache_create"]

    @property
    def cache_deletes(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == "cache_delete"]

    # -- handlers
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        body = await request.json() if request.can_read_body else {}
        now = asyncio.get_running_loop().time()
        if request.method == "POST" and (m := _GENERATE.match(path)):
            self.requests.append(RecordedRequest("generate", "POST", path, m["model"], body, now))
            try:
                return await self._generate(m["model"], body)
            except ConnectionResetError:  # the Reset behaviour: close the connection without an answer
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)
        if request.method == "POST" and _CACHES.match(path):
            model = str(body.get("model") or "").removeprefix("models/") or None
            self.requests.append(RecordedRequest("cache_create", "POST", path, model, body, now))
            return self._create_cache(body)
        if request.method in ("GET", "DELETE") and (m := _CACHE.match(path)):
            kind = "cache_get" if request.method == "GET" else "cache_delete"
            self.requests.append(RecordedRequest(kind, request.method, path, None, body, now))
            cache = self.caches.get(m["name"]) if kind == "cache_get" else self.caches.pop(m["name"], None)
            if cache is None:
                return _error(404, f"CachedContent not found: {m['name']}")
            return _json({} if kind == "cache_delete" else {"name": m["name"], "model": cache.get("model")})
        return _error(404, f"fake Gemini has no route for {request.method} {path}")

    async def _generate(self, model: str, body: dict[str, Any]) -> web.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            behaviour: Any = self._queue.popleft() if self._queue else Reply()
            return await self._perform(behaviour, model, body)
        finally:
            self.in_flight -= 1

    async def _perform(self, behaviour: Any, model: str, body: dict[str, Any]) -> web.Response:
        if isinstance(behaviour, Hang):
            try:
                await asyncio.wait_for(self._closing.wait(), behaviour.seconds)
            except TimeoutError:
                pass
            return await self._perform(behaviour.then, model, body)
        if isinstance(behaviour, RawBody):
            return web.Response(
                status=behaviour.status, body=behaviour.body.encode(), headers={"Content-Type": behaviour.content_type}
            )
        if isinstance(behaviour, Reset):
            raise ConnectionResetError  # handled in _dispatch: the transport is closed
        if isinstance(behaviour, RateLimited):
            details = []
            if behaviour.retry_delay_s is not None:
                details.append(
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{behaviour.retry_delay_s:g}s"}
                )
            return _error(429, "You exceeded your current quota.", details)
        if isinstance(behaviour, Fail):
            return _error(behaviour.status, behaviour.message)
        if isinstance(behaviour, Blocked):
            return _json({"promptFeedback": {"blockReason": behaviour.reason}, "usageMetadata": self._usage(body, "")})
        if isinstance(behaviour, SafetyStop):
            return _json(
                {"candidates": [{"finishReason": "SAFETY", "index": 0}], "usageMetadata": self._usage(body, "")}
            )
        if isinstance(behaviour, RawText):
            return self._answer(model, body, behaviour.text)
        if isinstance(behaviour, Reply):
            data = behaviour.data
            if data is None:
                data = self.respond(model, body)
                if inspect.isawaitable(data):
                    data = await data
                if isinstance(data, _BEHAVIOURS):
                    return await self._perform(data, model, body)
            return self._answer(model, body, json.dumps(data))
        raise TypeError(f"not a fake Gemini behaviour: {behaviour!r}")

    def _answer(self, model: str, body: dict[str, Any], text: str) -> web.Response:
        cache_name = body.get("cachedContent")
        if cache_name is not None:
            if cache_name not in self.caches:
                return _error(404, f"CachedContent not found (or permission denied): {cache_name}")
            if body.get("systemInstruction"):
                return _error(
                    400,
                    "CachedContent can not be used with GenerateContent request setting "
                    "system_instruction, tools or tool_config.",
                )
        return _json(
            {
                "candidates": [
                    {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
                ],
                "usageMetadata": self._usage(body, text),
                "modelVersion": model,
            }
        )

    def _usage(self, body: dict[str, Any], text: str) -> dict[str, int]:
        # Token counts as chars/4, like the client's own estimate; cached tokens count in the prompt too.
        prompt = _tokens(body.get("contents")) + _tokens(body.get("systemInstruction"))
        cached = 0
        if (cache := self.caches.get(body.get("cachedContent") or "")) is not None:
            cached = _tokens(cache.get("contents")) + _tokens(cache.get("systemInstruction"))
        output = len(text) // 4
        usage = {
            "promptTokenCount": prompt + cached,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt + cached + output,
        }
        if cached:
            usage["cachedContentTokenCount"] = cached
        return usage

    def _create_cache(self, body: dict[str, Any]) -> web.Response:
        if self.fail_cache_create is not None:
            return _error(
                self.fail_cache_create, "Cached content is too small. total_token_count=0, min_total_token_count=4096"
            )
        name = f"cachedContents/fake-{next(self._cache_ids)}"
        self.caches[name] = body
        tokens = _tokens(body.get("contents")) + _tokens(body.get("systemInstruction"))
        return _json(
            {
                "name": name,
                "model": body.get("model"),
                "displayName": body.get("displayName", ""),
                "createTime": "2025-01-01T00:00:00Z",
                "updateTime": "2025-01-01T00:00:00Z",
                "expireTime": "2025-01-01T00:10:00Z",
                "usageMetadata": {"totalTokenCount": tokens},
            }
        )


# --- helpers ---------------------------------------------------------------------------------
def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(payload).encode(), headers={"Content-Type": JSON_CONTENT_TYPE})


def _error(status: int, message: str, details: list[dict[str, Any]] | None = None) -> web.Response:
    error: dict[str, Any] = {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}
    if details:
        error["details"] = details
    return _json({"error": error}, status)


def _tokens(value: Any) -> int:
    return len(json.dumps(value)) // 4 if value else 0


def body_text(body: dict[str, Any]) -> str:
    """All text parts of a request body's `contents`, joined by newlines (for responders)."""
    return "\n".join(p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", []))


def default_respond(model: str, body: dict[str, Any]) -> Any:
    """A minimal object valid for the request's schema (`{}` when the request has none)."""
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    return sample_for_schema(schema) if schema else {}


def sample_for_schema(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A small value satisfying a JSON Schema (or Gemini's OpenAPI-style schema with upper-case types)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return sample_for_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if options := schema.get(key):
            concrete = [o for o in options if str(o.get("type", "")).lower() != "null"] or options
            return sample_for_schema(concrete[0], defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    kind = str(kind or "object").lower()
    if kind == "object":
        return {name: sample_for_schema(sub, defs) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        count = schema.get("minItems", 0) or 0
        return [sample_for_schema(schema.get("items", {}), defs) for _ in range(count)]
    return {"string": "sample", "integer": 0, "number": 0, "boolean": False, "null": None}.get(kind, "sample")


__all__ = [
    "INVALID_JSON",
    "Behaviour",
    "Blocked",
    "Fail",
    "FakeGemini",
    "Hang",
    "RateLimited",
    "RawText",
    "RecordedRequest",
    "Reply",
    "SafetyStop",
    "body_text",
    "default_respond",
    "sample_for_schema",
]
