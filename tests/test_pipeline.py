"""The whole pipeline through the shell adapter: routing, decomposition, parallel workers, cases,
pending tasks, synthesis, idempotency and bad input — with the offline engine, a scripted model,
and the real google-genai client against the fake Gemini server."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.memory import MemoryPlatform
from bot.wiring import open_services, shell_chat
from storage import cases as case_store
from storage import inbox
from storage.cases import CaseFilter
from tests.harness import EXAMPLE
from tests.harness.gemini import gemini_respond
from workflows.llm.base import LLMUnavailable
from workflows.llm.scripted import ScriptedLLM


async def _all_cases(services: Any) -> list[Any]:
    async with services.db.session() as s:
        return await case_store.list_cases(s, CaseFilter(), limit=None)


def _check_example(result: Any) -> None:
    by_kind = {c.kind: c for c in result.cases}
    assert set(by_kind) == {"billing", "return", "status"}
    assert by_kind["billing"].details["invoice_number"] == "INV-7890"
    assert "higher" in by_kind["billing"].details["concern"].lower()
    assert by_kind["return"].details["product_name"] == "SuperWidget 5000"
    assert "not compatible with my system" in by_kind["return"].details["reason_for_return"]
    assert by_kind["return"].details["rma_number"] == by_kind["return"].ref
    assert by_kind["status"].details["order_id"] == "A-12345"
    for case in result.cases:
        assert case.ref in result.reply
    assert result.routes[:3] == ["billing", "return", "status"]


async def test_three_requests_offline(services: Any) -> None:
    chat = shell_chat(services)
    outcome = await chat.send(EXAMPLE)
    result = outcome.result
    assert result is not None
    _check_example(result)
    assert result.llm_calls == 0
    assert "dear customer" not in result.reply.lower()
    stored = await _all_cases(services)
    assert sorted(c.ref for c in stored) == sorted(c.ref for c in result.cases)
    assert len(chat.delivered) == 1 and chat.delivered[0].text == result.reply
    payload = result.as_json()
    assert set(payload) >= {"reply", "route", "cases", "pending", "llm_calls"}
    assert payload["route"] == "billing" and payload["pending"] == []


async def test_three_requests_with_gemini_takes_two_sequential_calls(make_settings: Any) -> None:
    from tests.fakes.gemini import FakeGemini

    async with FakeGemini(respond=gemini_respond, latency_s=0.05) as fake:
        settings = make_settings(
            SUPPORTBOT_LLM="gemini", GEMINI_API_KEY="test-key", SUPPORTBOT_GEMINI_BASE_URL=fake.base_url
        )
        async with open_services(settings) as services:
            assert services.runner.uses_model
            result = (await shell_chat(services).send(EXAMPLE)).result
        assert result is not None
        _check_example(result)
        assert result.llm_calls == 2
        generate = fake.generate_requests
        assert len(generate) == 2
        assert generate[0].model == settings.model and generate[1].model == settings.model
        assert generate[1].at >= generate[0].at + 0.05  # synthesis waits for the plan: two calls in sequence
        assert result.reply.startswith("All sorted!")


async def test_a_reply_that_drops_a_reference_is_replaced_by_the_template(make_settings: Any) -> None:
    from workflows.orchestrator import PlanAnswer

    plan = PlanAnswer(routes=["status"], tasks=[{"kind": "status", "order_id": "B-777"}])
    llm = ScriptedLLM({"plan": plan, "synthesize": {"reply": "Your order is on its way!"}})
    async with open_services(make_settings(), llm=llm) as services:
        result = (await shell_chat(services).send("where is order B-777")).result
    assert result is not None and len(result.cases) == 1
    assert result.cases[0].ref in result.reply
    assert "Your order is on its way!" not in result.reply
    assert llm.calls("synthesize") == 1


async def test_model_failure_falls_back_to_the_offline_engine(make_settings: Any) -> None:
    llm = ScriptedLLM({"plan": LLMUnavailable("503"), "synthesize": LLMUnavailable("503")})
    async with open_services(make_settings(), llm=llm) as services:
        result = (await shell_chat(services).send(EXAMPLE)).result
    assert result is not None
    _check_example(result)


async def test_same_order_reports_the_same_status(services: Any) -> None:
    first = (await shell_chat(services, user_id="ann").send("Where is my order #Q-4242?")).result
    second = (await shell_chat(services, user_id="bob").send("any update on order Q-4242 please")).result
    assert first is not None and second is not None
    a, b = first.cases[0].details, second.cases[0].details
    assert first.cases[0].kind == "status" and a == b


async def test_missing_reason_is_asked_then_completed_in_the_thread(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-headphones")
    first = (await chat.send("I want to return my headphones")).result
    assert first is not None
    assert first.cases == []
    assert [(p.kind, p.missing) for p in first.pending] == [("return", ["reason_for_return"])]
    assert "reason" in first.reply.lower()
    second = (await chat.send("they stopped charging")).result
    assert second is not None
    assert [c.kind for c in second.cases] == ["return"]
    details = second.cases[0].details
    assert details["product_name"].lower() == "headphones"
    assert "stopped charging" in details["reason_for_return"]
    assert second.pending == []
    assert second.cases[0].ref in second.reply
    third = (await chat.send("thanks!")).result  # the pending task is done: nothing is asked again
    assert third is not None and third.pending == [] and third.cases == []


async def test_rma_is_issued_once_per_return_request(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-rma")
    first = (await chat.send("I'd like to return the 'Blue Kettle' because it leaks")).result
    again = (await chat.send("I'd like to return the 'Blue Kettle' because it leaks, as I said")).result
    assert first is not None and again is not None
    assert first.cases[0].ref == again.cases[0].ref
    assert len(await _all_cases(services)) == 1


async def test_redelivered_message_gets_no_second_reply_or_case(services: Any) -> None:
    chat = shell_chat(services)
    first = await chat.send(EXAMPLE, message_id="evt-1")
    second = await chat.send(EXAMPLE, message_id="evt-1")
    assert first.result is not None and second.duplicate and second.result is None
    assert len(chat.delivered) == 1
    assert len(await _all_cases(services)) == 3


async def test_failed_delivery_is_retried_once_and_cases_are_not_doubled(services: Any) -> None:
    posted: list[str] = []
    failures = {"left": 1}

    async def flaky_deliver(out: Any) -> str:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("platform down")
        posted.append(out.text)
        return f"p-{out.reply_id}"

    services.add_platform(MemoryPlatform("shell", flaky_deliver))
    from adapters.platform import Inbound
    from bot.dead_letters import RetryPolicy

    services.support.retry = RetryPolicy(base_s=0.0)  # the next round may retry at once

    inbound = Inbound(
        platform="shell", channel_id="local", thread_id="t-flaky", user_id="u", text=EXAMPLE, message_id="m-flaky"
    )
    outcome = await services.support.handle(inbound)
    assert outcome.result is None and outcome.error == "ConnectionError"
    assert posted == []
    assert await services.support.resume() == 1
    assert len(posted) == 1
    assert await services.support.resume() == 0
    assert (await services.support.handle(inbound)).duplicate
    assert len(posted) == 1
    cases = await _all_cases(services)
    assert len(cases) == 3 and all(c.ref in posted[0] for c in cases)


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x01\x02", "🙂🙂🙂", "\ud800 lone surrogate"])
async def test_empty_or_odd_messages_get_a_clear_answer(services: Any, text: str) -> None:
    result = (await shell_chat(services).send(text)).result
    assert result is not None and result.reply.strip()
    assert "\x00" not in result.reply
    assert result.cases == []


async def test_huge_message_is_cut_and_the_customer_told(services: Any) -> None:
    text = "Where is my order #Z-9? " + "blah " * 20_000
    assert len(text) > 100_000
    result = (await shell_chat(services).send(text)).result
    assert result is not None
    assert result.truncated and "only read the first part" in result.reply
    assert [c.kind for c in result.cases] == ["status"]


async def test_mentions_in_customer_text_are_never_echoed_live(services: Any) -> None:
    result = (await shell_chat(services).send("return my <!channel> @everyone speaker because it hisses")).result
    assert result is not None
    assert "<!channel>" not in result.reply and "@everyone" not in result.reply


async def test_technical_general_and_human_routes(services: Any) -> None:
    chat = shell_chat(services)
    tech = (await chat.send("The app crashes with error 0x80070005 every time I open settings")).result
    assert tech is not None and tech.route == "technical"
    assert [c.kind for c in tech.cases] == ["technical"] and tech.cases[0].ref.startswith("TEC-")
    assert "error message" in tech.reply
    human = (await shell_chat(services).send("I want to talk to a real person please")).result
    assert human is not None and human.route == "human"
    assert human.cases[0].kind == "human"
    async with services.db.session() as s:
        stored = await case_store.get_case(s, human.cases[0].ref)
    assert stored is not None and stored.needs_staff
    general = (await shell_chat(services).send("How do I subscribe to your newsletter?")).result
    assert general is not None and general.route == "general" and general.cases == []
    assert "invoices" in general.reply


async def test_transcript_keeps_both_sides(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-transcript")
    result = (await chat.send("Where is my order #T-1?")).result
    assert result is not None
    async with services.db.session() as s:
        case = await case_store.get_case(s, result.cases[0].ref)
        assert case is not None
        rows = await inbox.transcript(s, case.conversation_id, include_internal=False)
    assert [r.role for r in rows] == ["customer", "bot"]
    assert rows[1].status == "sent" and rows[1].platform_message_id
