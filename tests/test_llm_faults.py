"""Model faults through the whole pipeline (docs/spec-notes.md, part 3): the real GeminiClient (google-genai) against
the fake Gemini server, driven through the support service like any customer message.

Each fault — 429 with a RetryInfo delay, 500s, a hung request (timeout), text that is not JSON, a
blocked prompt — still gets the customer a correct reply (every case opened and quoted) from the
offline engine; `supportbot_llm_fallbacks_total{step, reason}` counts it and a warning is logged.
The circuit breaker opens after its threshold, so later messages make no Gemini request at all (counted
at the fake), and closes again when the fake recovers (an injected clock instead of waiting).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.wiring import open_services, shell_chat
from tests.fakes.gemini import (
    INVALID_JSON,
    Blocked,
    Fail,
    FakeGemini,
    Hang,
    RateLimited,
)
from tests.harness import EXAMPLE
from tests.harness.gemini import gemini_respond
from workflows import telemetry
from workflows.llm.gemini import GeminiClient
from workflows.llm.runner import CircuitBreaker

API_KEY = "test-key-faults"


def fallbacks(step: str, reason: str) -> float:
    labels = {"step": step, "reason": reason}
    return telemetry.REGISTRY.get_sample_value("supportbot_llm_fallbacks_total", labels) or 0.0


def llm_errors(step: str) -> float:
    return telemetry.REGISTRY.get_sample_value("supportbot_llm_calls_total", {"step": step, "result": "error"}) or 0.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(respond=gemini_respond) as server:
        yield server


def gemini_client(fake: FakeGemini, **kwargs: Any) -> GeminiClient:
    options: dict[str, Any] = dict(
        api_key=API_KEY,
        model="gemini-main",
        router_model="gemini-router",
        base_url=fake.base_url,
        max_attempts=2,
        timeout_s=5,
        backoff_initial_s=0.001,
        backoff_max_s=1.0,
    )
    return GeminiClient(**(options | kwargs))


def assert_correct_reply(result: Any) -> None:
    """The example message's three requests, answered correctly, whoever wrote the reply."""
    assert result is not None
    by_kind = {c.kind: c for c in result.cases}
    assert set(by_kind) == {"billing", "return", "status"}
    assert by_kind["billing"].details["invoice_number"] == "INV-7890"
    assert by_kind["return"].details["product_name"] == "SuperWidget 5000"
    assert by_kind["status"].details["order_id"] == "A-12345"
    for case in result.cases:
        assert case.ref in result.reply


async def test_a_429_with_retry_info_is_honoured_and_gemini_answers(make_settings: Any, fake: FakeGemini) -> None:
    fake.push(RateLimited(retry_delay_s=0.3))  # the plan call: once rate limited, then answered
    async with open_services(make_settings(), llm=gemini_client(fake)) as services:
        result = (await shell_chat(services).send(EXAMPLE)).result
    assert_correct_reply(result)
    assert result is not None and result.reply.startswith("All sorted!")  # Gemini's reply, not the fallback
    first, second, synth = fake.generate_requests
    assert second.at - first.at >= 0.3  # the server's RetryInfo delay, not the ~1 ms backoff
    assert synth.at >= second.at


FAULTS: dict[str, tuple[Callable[[], Any], str, dict[str, Any]]] = {
    # name: (behaviour of every request, the fallback reason counted, client options)
    "429-until-attempts-run-out": (lambda: RateLimited(retry_delay_s=0.01), "LLMRateLimited", {}),
    "500s": (lambda: Fail(500), "LLMUnavailable", {}),
    "503s": (lambda: Fail(503, "The model is overloaded."), "LLMUnavailable", {}),
    "slow-timeout": (lambda: Hang(30), "LLMTimeout", {"timeout_s": 0.2}),
    "garbage-json": (lambda: INVALID_JSON, "LLMBadOutput", {}),
    "blocked-prompt": (lambda: Blocked("SAFETY"), "LLMBlocked", {}),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_every_fault_falls_back_and_the_customer_gets_a_correct_reply(
    make_settings: Any, fake: FakeGemini, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    behaviour, reason, options = FAULTS[fault]
    fake.respond = lambda _model, _body: behaviour()
    before = {step: (fallbacks(step, reason), llm_errors(step)) for step in ("plan", "synthesize")}
    caplog.set_level(logging.WARNING)
    async with open_services(make_settings(), llm=gemini_client(fake, **options)) as services:
        outcome = await shell_chat(services).send(EXAMPLE)
    assert outcome.error is None
    assert_correct_reply(outcome.result)
    for step in ("plan", "synthesize"):  # each step fell back once, counted with its reason
        assert fallbacks(step, reason) - before[step][0] == 1, step
        assert llm_errors(step) - before[step][1] == 1, step
    degraded = [r.getMessage() for r in caplog.records if "using the offline engine" in r.getMessage()]
    assert len(degraded) == 2 and all(reason in m for m in degraded)
    retried = reason in ("LLMRateLimited", "LLMUnavailable")  # transient: retried once (max_attempts=2)
    assert len(fake.generate_requests) == (4 if retried else 2)


async def test_the_circuit_opens_after_the_threshold_and_closes_when_gemini_recovers(
    make_settings: Any, fake: FakeGemini, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    fake.respond = lambda _model, _body: Fail(500)
    caplog.set_level(logging.INFO)
    open_before = fallbacks("synthesize", "circuit_open") + fallbacks("plan", "circuit_open")
    async with open_services(make_settings(), llm=gemini_client(fake, max_attempts=1)) as services:
        services.runner.breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=30, clock=lambda: now[0])

        for _ in range(2):  # failures 1–2, then 3: the circuit opens before the second synthesis
            assert_correct_reply((await shell_chat(services).send(EXAMPLE)).result)
        assert len(fake.generate_requests) == 3
        assert services.runner.breaker.state == "open"

        for _ in range(3):  # open: no request reaches Gemini, every customer still gets the right answer
            assert_correct_reply((await shell_chat(services).send(EXAMPLE)).result)
        assert len(fake.generate_requests) == 3
        assert fallbacks("synthesize", "circuit_open") + fallbacks("plan", "circuit_open") - open_before == 7

        fake.respond = gemini_respond  # the provider recovers; the cool-down passes (no real waiting)
        now[0] += 31
        assert services.runner.breaker.state == "half-open"
        result = (await shell_chat(services).send(EXAMPLE)).result
        assert_correct_reply(result)
        assert result is not None and result.reply.startswith("All sorted!") and result.llm_calls == 2
        assert services.runner.breaker.state == "closed"
        assert len(fake.generate_requests) == 5  # the trial call (plan) and the synthesis
    logged = [r.getMessage() for r in caplog.records]
    assert any("circuit opened after 3 consecutive failures" in m for m in logged)
    assert any("circuit closed again" in m for m in logged)


async def test_a_failed_trial_call_keeps_the_circuit_open(make_settings: Any, fake: FakeGemini) -> None:
    now = [0.0]
    fake.respond = lambda _model, _body: Fail(503)
    async with open_services(make_settings(), llm=gemini_client(fake, max_attempts=1)) as services:
        breaker = services.runner.breaker = CircuitBreaker(
            failure_threshold=2, reset_timeout_s=10, clock=lambda: now[0]
        )
        assert_correct_reply((await shell_chat(services).send(EXAMPLE)).result)
        assert breaker.state == "open" and len(fake.generate_requests) == 2
        now[0] += 11  # half-open: one trial, it fails, open again for another cool-down
        assert_correct_reply((await shell_chat(services).send(EXAMPLE)).result)
        assert len(fake.generate_requests) == 3 and breaker.state == "open"
        now[0] += 5
        assert_correct_reply((await shell_chat(services).send(EXAMPLE)).result)
        assert len(fake.generate_requests) == 3
