"""Conversation state with the offline engine, tried the way a new customer writes: nothing asked twice,
what the thread already said is reused, follow-ups about a case answer with that case, a way out after
two unanswered questions, every request of a message kept, and a reply that fits the customer's tone."""

from __future__ import annotations

from typing import Any

from bot.wiring import shell_chat
from storage import cases as case_store


def _pending(result: Any) -> list[tuple[str, list[str]]]:
    return [(p.kind, p.missing) for p in result.pending]


async def test_a_missing_invoice_number_is_asked_once_then_a_person_takes_over(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-twice")
    first = (await chat.send("I was charged twice this month")).result
    assert first is not None and _pending(first) == [("billing", ["invoice_number"])]
    second = (await chat.send("I don't have an invoice, it was on my visa card")).result
    assert second is not None
    assert _pending(second) == [("billing", ["invoice_number"])]  # one question, not two
    assert second.reply.lower().count("invoice number") == 1
    assert "date and amount" in second.reply  # a way out
    third = (await chat.send("I really don't know it")).result
    assert third is not None
    assert _pending(third) == []
    assert [c.kind for c in third.cases] == ["human"]  # two unanswered asks: a person takes over
    assert third.cases[0].ref in third.reply


async def test_store_credit_after_product_and_reason_does_not_ask_them_again(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-credit")
    first = (await chat.send("I want to return the blue kettle because it leaks")).result
    assert first is not None and [c.kind for c in first.cases] == ["return"]
    second = (await chat.send("can I get store credit instead of a refund?")).result
    assert second is not None
    assert _pending(second) == [] and "which product" not in second.reply
    assert first.cases[0].ref in second.reply  # answered about the return already open


async def test_an_update_question_answers_with_the_existing_case(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-update")
    first = (await chat.send("I want a refund for the lamp, it arrived broken")).result
    assert first is not None and [c.kind for c in first.cases] == ["return"]
    ref = first.cases[0].ref
    second = (await chat.send("any update on my refund?")).result
    assert second is not None
    assert [c.ref for c in second.cases] == [ref] and not second.cases[0].new
    assert _pending(second) == []
    assert ref in second.reply and "already open — status: open" in second.reply


async def test_an_order_number_given_earlier_in_the_thread_is_reused(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-delivered")
    first = (await chat.send("where is my order A-55555?")).result
    assert first is not None and first.cases[0].details["order_id"] == "A-55555"
    second = (await chat.send("It says delivered but I never got it. I want to talk to a real person")).result
    assert second is not None
    assert _pending(second) == []
    assert "order number" not in second.reply.lower()
    assert "human" in {c.kind for c in second.cases}


async def test_every_request_of_a_message_is_kept(services: Any) -> None:
    result = (
        await shell_chat(services).send("where is my order A-77777? Also my invoice INV-1111 has a wrong address")
    ).result
    assert result is not None
    assert {(c.kind, c.details.get("order_id") or c.details.get("invoice_number")) for c in result.cases} == {
        ("status", "A-77777"),
        ("billing", "INV-1111"),
    }


async def test_a_connective_in_a_long_message_is_not_a_product_name(services: Any) -> None:
    text = (
        "Hello, I have been a customer for years and I am really disappointed this time. " * 8
        + "On top of that, I would like to return the espresso machine because it leaks water everywhere. "
        + "It has made a mess of my kitchen counter twice already and I do not want it anymore. " * 2
    )
    assert len(text) > 900
    result = (await shell_chat(services).send(text)).result
    assert result is not None
    returns = [c for c in result.cases if c.kind == "return"] or []
    names = [c.details["product_name"] for c in returns] + [p.params.get("product_name") for p in result.pending]
    assert "On top of that" not in names
    assert any(n and "espresso machine" in str(n) for n in names)


async def test_an_angry_or_repeated_message_is_acknowledged_and_openings_vary(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-tone")
    first = (await chat.send("Where is my order A-24680?")).result
    second = (await chat.send("WHERE IS MY ORDER A-24680??? This is ridiculous, I've asked already!")).result
    assert first is not None and second is not None
    assert first.reply.splitlines()[0] != second.reply.splitlines()[0]
    assert "sorry" in second.reply.lower()


async def test_a_long_story_answering_an_open_return_does_not_become_its_product(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-story")
    first = (await chat.send("I want to return something")).result
    assert first is not None and first.pending
    story = (
        "On top of that, the delivery guy was rude and left the box in the rain. "
        + "Nobody has answered my emails for a week, which is frustrating. " * 14
    )
    assert len(story) > 900
    second = (await chat.send(story)).result
    assert second is not None
    assert all(p.params.get("product_name") != "On top of that" for p in second.pending)
    assert all(c.details.get("product_name") != "On top of that" for c in second.cases)


async def test_a_follow_up_finds_a_request_completed_over_two_messages(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-two-step")
    assert _pending((await chat.send("I want to return my shoes")).result) == [("return", ["reason_for_return"])]
    done = (await chat.send("they're too small")).result
    assert done is not None and [c.kind for c in done.cases] == ["return"]
    follow_up = (await chat.send("any update on my refund?")).result
    assert follow_up is not None and _pending(follow_up) == []
    assert [c.ref for c in follow_up.cases] == [done.cases[0].ref] and not follow_up.cases[0].new


async def test_in_a_shared_thread_each_writer_gets_only_their_own_cases(services: Any) -> None:
    """Two customers in one thread: the second one's follow-up neither reads nor reuses the first one's
    request, and each case belongs to whoever asked."""
    first_customer = shell_chat(services, user_id="U-ANNA", thread_id="t-shared")
    second_customer = shell_chat(services, user_id="U-BRUNO", thread_id="t-shared")
    first = (await first_customer.send("I want a refund for the lamp, it arrived broken")).result
    assert first is not None and [c.kind for c in first.cases] == ["return"]
    ref = first.cases[0].ref
    second = (await second_customer.send("any update on my refund?")).result
    assert second is not None
    assert ref not in second.reply and all(c.ref != ref for c in second.cases)
    assert "lamp" not in second.reply.lower()
    async with services.db.session() as s:
        rows = await case_store.list_cases(s, case_store.CaseFilter(), limit=None)
    owners = {row.ref: row.customer_id for row in rows}
    assert owners[ref] == "U-ANNA"
    assert all(owner == "U-BRUNO" for r, owner in owners.items() if r != ref)
