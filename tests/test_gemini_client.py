"""The real google-genai client, through GeminiClient, against the local fake Gemini server."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import aiohttp
import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from tests.fakes.gemini import (
    INVALID_JSON,
    JSON_CONTENT_TYPE,
    Blocked,
    Fail,
    FakeGemini,
    Hang,
    RateLimited,
    Reply,
    SafetyStop,
    body_text,
    sample_for_schema,
)
from workflows.llm import gemini
from workflows.llm.base import (
    LLMBadOutput,
    LLMBlocked,
    LLMRateLimited,
    LLMRequest,
    LLMTimeout,
    LLMUnavailable,
    RealRequestsBlocked,
)
from workflows.llm.gemini import GeminiClient, block_real_requests, is_loopback_url
from workflows.llm.runner import CircuitBreaker, StepRunner

API_KEY = "test-key-SECRET-4242"
BIG_CONTEXT = "The return window is 30 days from delivery. " * 500  # ~22,000 chars ≈ 5,500 tokens


class Routed(BaseModel):
    route: Literal["billing", "return", "status"]
    confidence: float


def routed_request(**kwargs: Any) -> LLMRequest[Routed]:
    fields: dict[str, Any] = dict(
        step="route", schema=Routed, system="You route support messages.", prompt="Where is my invoice INV-1?"
    )
    return LLMRequest(**(fields | kwargs))


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini() as server:
        yield server


@pytest.fixture
async def make_client(fake: FakeGemini) -> AsyncIterator[Callable[..., GeminiClient]]:
    clients: list[GeminiClient] = []

    def make(**kwargs: Any) -> GeminiClient:
        options: dict[str, Any] = dict(
            api_key=API_KEY,
            model="gemini-main",
            router_model="gemini-router",
            base_url=fake.base_url,
            max_attempts=4,
            timeout_s=5,
            backoff_initial_s=0.001,
            backoff_max_s=0.01,
        )
        client = GeminiClient(**(options | kwargs))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


# --- a normal answer ----------------------------------------------------------------------------
async def test_structured_answer_is_parsed_counted_and_sent_with_system_and_schema(fake, make_client):
    fake.push(Reply({"route": "billing", "confidence": 0.9}))
    client = make_client()

    result = await client.generate(routed_request())

    assert result.value == Routed(route="billing", confidence=0.9)
    assert result.model == "gemini-main"
    sent = fake.generate_requests[0]
    assert sent.model == "gemini-main"
    assert sent.system == "You route support messages."
    assert sent.schema == Routed.model_json_schema()
    assert sent.generation_config["responseMimeType"] == "application/json"
    assert sent.text == "Where is my invoice INV-1?"
    expected_output = len(json.dumps({"route": "billing", "confidence": 0.9})) // 4
    assert result.usage.output_tokens == expected_output
    assert result.usage.prompt_tokens > 0 and result.usage.cached_tokens == 0
    assert (client.stats.calls, client.stats.requests, client.stats.retries) == (1, 1, 0)
    assert client.stats.prompt_tokens == result.usage.prompt_tokens
    assert client.stats.output_tokens == expected_output


async def test_router_role_uses_the_router_model(fake, make_client):
    client = make_client()

    result = await client.generate(routed_request(role="router"))
    await client.generate(routed_request(role="main"))

    assert result.value.route == "billing"  # the fake's default responder: first enum value
    assert [r.model for r in fake.generate_requests] == ["gemini-router", "gemini-main"]


# --- retries ------------------------------------------------------------------------------------
async def test_429_then_success_waits_the_servers_retry_delay(fake, make_client):
    fake.push(RateLimited(retry_delay_s=0.3), Reply({"route": "status", "confidence": 1}))
    client = make_client(backoff_max_s=1.0)

    result = await client.generate(routed_request())

    assert result.value.route == "status"
    first, second = fake.generate_requests
    assert second.at - first.at >= 0.3  # exponential backoff alone would have waited ~1 ms
    assert (client.stats.requests, client.stats.retries) == (2, 1)


async def test_retry_delay_is_capped_at_backoff_max(fake, make_client):
    fake.push(RateLimited(retry_delay_s=30), Reply({"route": "status", "confidence": 1}))
    client = make_client(backoff_max_s=0.05)

    await client.generate(routed_request())

    first, second = fake.generate_requests
    assert second.at - first.at < 1.0


async def test_429_until_attempts_run_out_raises_rate_limited_with_the_servers_delay(fake, make_client):
    fake.push(*[RateLimited(retry_delay_s=0.01)] * 3)
    client = make_client(max_attempts=3)

    with pytest.raises(LLMRateLimited) as caught:
        await client.generate(routed_request())

    assert caught.value.retry_after == pytest.approx(0.01)
    assert len(fake.generate_requests) == 3
    assert client.stats.failures == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_5xx_until_attempts_run_out_raises_unavailable_after_exactly_max_attempts(fake, make_client, status):
    fake.push(*[Fail(status)] * 10)
    client = make_client(max_attempts=4)

    with pytest.raises(LLMUnavailable) as caught:
        await client.generate(routed_request())

    assert not isinstance(caught.value, LLMRateLimited)
    assert len(fake.generate_requests) == 4
    assert client.stats.retries == 3


async def test_a_500_then_success_is_retried(fake, make_client):
    fake.push(Fail(500), Reply({"route": "return", "confidence": 0.5}))
    client = make_client()

    result = await client.generate(routed_request())

    assert result.value.route == "return"
    assert len(fake.generate_requests) == 2


async def test_a_400_is_not_retried(fake, make_client):
    fake.push(Fail(400, "Invalid JSON payload"), Reply())
    client = make_client()

    with pytest.raises(LLMUnavailable, match="400"):
        await client.generate(routed_request())

    assert len(fake.generate_requests) == 1


async def test_refused_connections_are_retried_quickly_then_unavailable(make_client):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}", max_attempts=3)
    loop = asyncio.get_running_loop()
    started = loop.time()

    with pytest.raises(LLMUnavailable):
        await client.generate(routed_request())

    assert (client.stats.requests, client.stats.retries) == (3, 2)
    assert loop.time() - started < 1.0  # no hidden SDK retry sleeping 1–10 s


async def test_a_hung_request_times_out_once_and_is_not_retried(fake, make_client):
    fake.push(Hang(seconds=30))
    client = make_client(timeout_s=0.2)

    with pytest.raises(LLMTimeout):
        await client.generate(routed_request())

    assert len(fake.generate_requests) == 1


# --- bad and blocked answers --------------------------------------------------------------------
@pytest.mark.parametrize(
    "behaviour, cause",
    [
        (INVALID_JSON, json.JSONDecodeError),
        (Reply({"route": "billing"}), ValidationError),  # missing field
        (Reply({"answer": "hello"}), ValidationError),  # some other object
        (Reply({"route": "refund", "confidence": 1}), ValidationError),  # not an allowed label
    ],
)
async def test_text_that_is_not_the_schemas_json_is_bad_output(fake, make_client, behaviour, cause):
    fake.push(behaviour)
    client = make_client()

    with pytest.raises(LLMBadOutput) as caught:
        await client.generate(routed_request())

    assert isinstance(caught.value.__cause__, cause)
    assert len(fake.generate_requests) == 1  # bad output is not retried here; the runner falls back


@pytest.mark.parametrize("behaviour", [Blocked("SAFETY"), Blocked("PROHIBITED_CONTENT"), SafetyStop()])
async def test_blocked_prompt_or_answer_raises_blocked(fake, make_client, behaviour):
    fake.push(behaviour)
    client = make_client()

    with pytest.raises(LLMBlocked):
        await client.generate(routed_request())


# --- budget: requests per minute and calls in flight --------------------------------------------
async def test_rpm_budget_lets_no_request_through_before_the_limiter_allows(fake, make_client):
    period = 0.9  # stands for 60 s: a leaky bucket of 3, refilling one request per period/3
    client = make_client(rpm=3, rpm_period_s=period)
    loop = asyncio.get_running_loop()
    started = loop.time()

    await asyncio.gather(*(client.generate(routed_request()) for _ in range(5)))

    offsets = sorted(r.at - started for r in fake.generate_requests)
    assert len(offsets) == 5
    assert offsets[2] < period / 3  # the first three go at once
    assert offsets[3] >= period / 3  # the fourth waits for one slot to drain
    assert offsets[4] >= 2 * period / 3


async def test_rpm_budget_counts_retries(fake, make_client):
    period = 0.6
    fake.push(Fail(500), Fail(503), Reply({"route": "billing", "confidence": 1}))
    client = make_client(rpm=2, rpm_period_s=period)
    started = asyncio.get_running_loop().time()

    await client.generate(routed_request())

    offsets = [r.at - started for r in fake.generate_requests]
    assert len(offsets) == 3
    assert offsets[2] >= period / 2  # the third attempt needed budget, even though backoff is ~1 ms


@pytest.mark.parametrize("concurrency", [2, 5])
async def test_concurrency_caps_requests_in_flight(fake, make_client, concurrency):
    fake.latency_s = 0.05
    client = make_client(concurrency=concurrency)

    await asyncio.gather(*(client.generate(routed_request()) for _ in range(5)))

    assert fake.max_in_flight == concurrency  # 5 calls: both the cap and full parallelism are visible


# --- context caching ----------------------------------------------------------------------------
async def test_large_context_is_cached_once_per_key_and_referenced(fake, make_client):
    client = make_client()
    requests = [routed_request(prompt=f"Question {i}", context=BIG_CONTEXT, context_key="faq-1") for i in range(4)]

    results = await asyncio.gather(*(client.generate(r) for r in requests))

    (create,) = fake.cache_creates
    assert create.model == "gemini-main"
    assert create.text == BIG_CONTEXT and create.system == "You route support messages."
    name = next(iter(fake.caches))
    for sent in fake.generate_requests:
        assert sent.cached_content == name
        assert sent.system is None  # lives in the cache; sending both is a 400
        assert BIG_CONTEXT not in sent.text
    assert sorted(r.text for r in fake.generate_requests) == [f"Question {i}" for i in range(4)]
    assert all(r.usage.cached_tokens > 0 for r in results)
    assert client.stats.caches_created == 1 and client.stats.cached_tokens > 0

    await client.aclose()

    assert [d.path.rsplit("/", 2)[-2:] for d in fake.cache_deletes] == [name.split("/")]
    assert fake.caches == {}


async def test_a_cache_is_per_system_instruction_and_model(fake, make_client):
    client = make_client()

    await client.generate(routed_request(context=BIG_CONTEXT, context_key="faq-1"))
    await client.generate(routed_request(context=BIG_CONTEXT, context_key="faq-1", system="Answer questions."))
    await client.generate(routed_request(context=BIG_CONTEXT, context_key="faq-1", role="router"))
    await client.generate(routed_request(context=BIG_CONTEXT, context_key="faq-1"))

    assert len(fake.cache_creates) == 3
    assert [r.cached_content for r in fake.generate_requests] == [
        "cachedContents/fake-1",
        "cachedContents/fake-2",
        "cachedContents/fake-3",
        "cachedContents/fake-1",
    ]


async def test_small_context_goes_first_in_every_call_without_an_explicit_cache(fake, make_client):
    client = make_client()
    context = "Returns are accepted within 30 days."

    for i in range(2):
        await client.generate(routed_request(prompt=f"Question {i}", context=context, context_key="faq-2"))

    assert fake.cache_creates == []
    assert [r.first_part for r in fake.generate_requests] == [context, context]
    assert all(r.system == "You route support messages." for r in fake.generate_requests)


async def test_failed_cache_creation_falls_back_once_and_for_good(fake, make_client):
    fake.fail_cache_create = 400
    client = make_client()
    requests = [routed_request(prompt=f"Q{i}", context=BIG_CONTEXT, context_key="faq-3") for i in range(3)]

    await asyncio.gather(*(client.generate(r) for r in requests[:2]))
    result = await client.generate(requests[2])

    assert result.value.route == "billing"
    assert len(fake.cache_creates) == 1  # concurrent calls shared the attempt; later calls did not retry it
    for sent in fake.generate_requests:
        assert sent.cached_content is None
        assert sent.first_part == BIG_CONTEXT
        assert sent.system == "You route support messages."
    assert client.stats.caches_created == 0


async def test_the_cache_is_deleted_when_its_last_holder_is_done(fake, make_client):
    client = make_client()
    request = routed_request(context=BIG_CONTEXT, context_key="faq-4")
    other = routed_request(context=BIG_CONTEXT + "More.", context_key="faq-5")
    first_done, second_done = asyncio.Event(), asyncio.Event()

    async def work(done: asyncio.Event, wait_for: asyncio.Event | None) -> None:
        async with client.hold_context("faq-4"):
            await client.generate(request)
            if wait_for is not None:
                await wait_for.wait()
        done.set()

    await client.generate(other)  # another context, held by nobody: kept until aclose()
    second = asyncio.create_task(work(second_done, first_done))
    await work(first_done, None)  # two holders of one key share its cache; the first one leaving keeps it
    assert len(fake.cache_creates) == 2 and len(fake.caches) == 2 and fake.cache_deletes == []
    await second
    assert [d.path.rsplit("/", 2)[-2:] for d in fake.cache_deletes] == [["cachedContents", "fake-2"]]
    assert list(fake.caches) == ["cachedContents/fake-1"]
    assert (client.stats.caches_created, client.stats.caches_deleted) == (2, 1)
    assert client.stats.cache_tokens == sum(
        len(json.dumps(c.body["contents"])) // 4 + len(json.dumps(c.body["systemInstruction"])) // 4
        for c in fake.cache_creates
    )

    async with client.hold_context("faq-4"):  # the next holder makes a fresh one
        await client.generate(request)
    assert len(fake.cache_creates) == 3 and list(fake.caches) == ["cachedContents/fake-1"]
    await client.aclose()
    assert fake.caches == {} and client.stats.caches_deleted == 3


async def test_explicit_caching_can_be_switched_off(fake, make_client):
    client = make_client(cache_min_tokens=None)
    async with client.hold_context("faq-6"):
        await client.generate(routed_request(context=BIG_CONTEXT, context_key="faq-6"))
    assert fake.cache_creates == [] and fake.generate_requests[0].first_part == BIG_CONTEXT


# --- the real-request switch --------------------------------------------------------------------
@pytest.fixture
def network_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records every socket connect and DNS lookup (wrapping conftest's loopback-only guard)."""
    seen: list[object] = []
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def recording_connect(sock: socket.socket, address: object) -> None:
        seen.append(address)
        return connect(sock, address)

    def recording_getaddrinfo(host: object, *args: Any, **kwargs: Any) -> Any:
        seen.append(host)
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    monkeypatch.setattr(gemini, "ALLOW_REAL_REQUESTS", False)
    return seen


@pytest.mark.parametrize(
    "base_url", [None, "https://generativelanguage.googleapis.com", "http://192.0.2.1:8080", "http://0.0.0.0:8080"]
)
async def test_blocked_switch_refuses_non_loopback_endpoints_before_any_network_io(
    make_client, network_calls, base_url
):
    client = make_client(base_url=base_url)

    with pytest.raises(RealRequestsBlocked):
        await client.generate(routed_request())
    with pytest.raises(RealRequestsBlocked):  # cache creation is behind the same check
        await client.generate(routed_request(context=BIG_CONTEXT, context_key="k"))

    assert network_calls == []
    assert client.stats.requests == 0


async def test_blocked_switch_is_read_at_call_time(make_client, network_calls, monkeypatch):
    client = make_client(base_url="http://192.0.2.1:8080", max_attempts=1)
    with pytest.raises(RealRequestsBlocked):
        await client.generate(routed_request())
    assert network_calls == []

    monkeypatch.setattr(gemini, "ALLOW_REAL_REQUESTS", True)
    with pytest.raises(LLMUnavailable) as caught:  # now it tries; conftest's guard refuses the connection
        await client.generate(routed_request())

    assert not isinstance(caught.value, RealRequestsBlocked)
    assert network_calls  # the recorder does see connection attempts


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_loopback_endpoints_are_allowed_while_blocked(fake, make_client, network_calls, host):
    client = make_client(base_url=f"http://{host}:{fake.port}")

    result = await client.generate(routed_request())

    assert result.value.route == "billing"
    assert len(fake.generate_requests) == 1


def test_block_real_requests_toggles_the_switch(monkeypatch):
    monkeypatch.setattr(gemini, "ALLOW_REAL_REQUESTS", True)
    block_real_requests()
    assert gemini.ALLOW_REAL_REQUESTS is False
    block_real_requests(False)
    assert gemini.ALLOW_REAL_REQUESTS is True


@pytest.mark.parametrize(
    "url, loopback",
    [
        ("http://127.0.0.1:8080", True),
        ("http://127.3.4.5", True),
        ("http://[::1]:9000/x", True),
        ("http://localhost:1", True),
        ("https://generativelanguage.googleapis.com", False),
        ("http://0.0.0.0:80", False),
        ("http://10.0.0.1", False),
        ("http://localhost.example.com", False),
    ],
)
def test_loopback_hosts(url, loopback):
    assert is_loopback_url(url) is loopback


# --- secrets and settings -----------------------------------------------------------------------
async def test_the_api_key_never_reaches_the_logs(fake, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    fake.push(RateLimited(0.0), Fail(500), Reply(), Fail(400))
    client = make_client()

    await client.generate(routed_request())
    with pytest.raises(LLMUnavailable):
        await client.generate(routed_request())

    assert "retry" in caplog.text  # the retries were logged…
    assert API_KEY not in caplog.text  # …without the key
    assert API_KEY not in repr(client)


def test_from_settings_reads_the_llm_settings():
    class Settings:
        gemini_api_key = SecretStr("k-123")
        gemini_base_url = "http://127.0.0.1:9"
        model = "m-main"
        router_model = "m-router"
        llm_rpm = 7
        llm_concurrency = 3
        llm_timeout_s = 12.5

    client = GeminiClient.from_settings(Settings(), max_attempts=2)

    assert (client.model, client.router_model, client.base_url) == ("m-main", "m-router", "http://127.0.0.1:9")
    assert (client.rpm, client.concurrency, client.timeout_s, client.max_attempts) == (7, 3, 12.5, 2)


# --- the runner falls back on model failure -----------------------------------------------------
async def test_step_runner_falls_back_to_the_offline_engine_on_500s(fake, make_client):
    fake.push(*[Fail(500)] * 4)
    runner = StepRunner(make_client(max_attempts=4), breaker=CircuitBreaker(failure_threshold=5))
    offline = Routed(route="status", confidence=0.0)

    outcome = await runner.run(routed_request(), lambda: offline)
    assert (outcome.source, outcome.value) == ("offline", offline)
    assert len(fake.generate_requests) == 4

    outcome = await runner.run(routed_request(), lambda: offline)  # the fake answers again
    assert outcome.source == "llm" and outcome.value.route == "billing"


# --- the fake's default responder ---------------------------------------------------------------
def test_sample_for_schema_fits_nested_pydantic_models():
    class Item(BaseModel):
        name: str
        tags: list[str] = []
        kind: Literal["a", "b"]

    class Doc(BaseModel):
        items: list[Item]
        lead: Item
        note: str | None
        count: int

    sample = sample_for_schema(Doc.model_json_schema())

    assert Doc.model_validate(sample).lead.kind == "a"


async def test_fake_responder_hook_sees_model_and_body_and_may_be_async():
    async def respond(model: str, body: dict[str, Any]) -> Any:
        if model == "flaky":
            return Fail(400)
        return {"route": "status" if "order" in body_text(body) else "billing", "confidence": 1}

    async with FakeGemini(respond=respond) as fake:
        client = GeminiClient(api_key=API_KEY, model="m", router_model="flaky", base_url=fake.base_url, max_attempts=1)
        try:
            status = await client.generate(routed_request(prompt="Where is my order 42?"))
            billing = await client.generate(routed_request(prompt="My invoice is wrong"))
            with pytest.raises(LLMUnavailable):
                await client.generate(routed_request(role="router"))
        finally:
            await client.aclose()

    assert (status.value.route, billing.value.route) == ("status", "billing")


async def test_fake_speaks_exact_json_content_type(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.base_url}/v1/models/x:generateContent", json={"contents": []}) as ok:
            assert ok.headers["Content-Type"] == JSON_CONTENT_TYPE
        fake.push(Fail(503))
        async with session.post(f"{fake.base_url}/v9/models/x:generateContent", json={}) as failed:
            assert failed.status == 503 and failed.headers["Content-Type"] == JSON_CONTENT_TYPE
            assert (await failed.json())["error"]["status"] == "UNAVAILABLE"
