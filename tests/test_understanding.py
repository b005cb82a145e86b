"""The offline engine on messages written the way customers write: routing by meaning, confidence and the
clarifying question, world questions, through the shell adapter like a new user would."""

from __future__ import annotations

from typing import Any

import pytest

from bot.wiring import shell_chat
from workflows.clarify import CHOICES, clarify_choices, parse_choice
from workflows.offline import semantic
from workflows.offline.decision import route_decision

needs_encoder = pytest.mark.skipif(not semantic.available(), reason="the sentence encoder package is not installed")


@needs_encoder
@pytest.mark.parametrize(("text", "route"), [
    ("how is my order doing right now", "status"),
    ("has my package been sent", "status"),
    ("when will i get my order", "status"),
    ("what is the reason humans even exist", "general"),
    ("when do i next get paid", "general"),
    ("how do I know if it is time to replace my tires", "general"),
    ("there is a fee on my statement I don't understand", "billing"),
    ("I'd like my money back for the lamp, it flickers", "return"),
])
def test_routes_follow_meaning_not_key_words(text: str, route: str) -> None:
    decision = route_decision(text)
    assert decision.routes[0] == route
    assert 0.0 < decision.confidence <= 1.0


@needs_encoder
def test_the_encoder_is_verified_and_versioned() -> None:
    assert semantic.index().meta["encoder"]["sha256"] == semantic.ENCODER_SHA256
    assert semantic.index().meta["version"]
    vectors = semantic.encoder().encode(["where is my order", "where's my parcel", "tell me a joke"])
    assert float(vectors[0] @ vectors[1]) > 0.5 > float(vectors[0] @ vectors[2]) + 0.2


def test_a_choice_is_read_from_a_number_a_label_or_a_button_value() -> None:
    assert parse_choice("3") == "status"
    assert parse_choice(" Order status! ") == "status"
    assert parse_choice("a person") == "human"
    assert [parse_choice(c.route) for c in CHOICES] == [c.route for c in CHOICES]  # the buttons' values
    assert parse_choice("6") is None and parse_choice("where is my order 3") is None
    spanish = clarify_choices("es")
    assert [label for _, label in spanish][2] == "Estado del pedido"
    assert all(parse_choice(label) == value for value, label in spanish)


@needs_encoder
async def test_an_unclear_message_opens_nothing_and_the_choice_continues_the_plan(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-unclear")
    first = (await chat.send("it's about my purchase")).result
    assert first is not None
    assert first.cases == [] and first.pending == [] and first.clarify
    assert "1. Billing" in first.reply and "5. A person" in first.reply
    second = (await chat.send("3")).result  # "Order status"
    assert second is not None and second.cases == []
    assert [(p.kind, p.missing) for p in second.pending] == [("status", ["order_id"])]
    third = (await chat.send("A-12345")).result
    assert third is not None
    assert [(c.kind, c.details["order_id"]) for c in third.cases] == [("status", "A-12345")]


@needs_encoder
@pytest.mark.parametrize("text", ["what's the weather like tomorrow?", "tell me a joke", "who wrote hamlet"])
async def test_world_questions_get_a_friendly_answer_and_never_a_case(services: Any, text: str) -> None:
    result = (await shell_chat(services).send(text)).result
    assert result is not None
    assert result.cases == [] and result.pending == [] and not result.clarify
    assert "orders" in result.reply or "order" in result.reply
