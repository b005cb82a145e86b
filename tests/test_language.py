"""The customer's language, offline: detected per message, kept on the conversation, routed through a
word gloss, and answered with translated templates (English, said so, for languages without them)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.wiring import shell_chat
from storage.languages import conversation_language
from storage.models import Conversation
from workflows.offline import language
from workflows.offline.language import detect_language, gloss


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("¿dónde está mi pedido 4456?", "es"),
        ("où est ma commande 4456 ?", "fr"),
        ("Wo ist meine Bestellung 4456?", "de"),
        ("Onde está o meu pedido 4456?", "pt"),
        ("where is my order 4456?", "en"),
        ("A-12345", None),
        ("3", None),
    ],
)
def test_language_is_detected_only_when_there_is_enough_to_tell(text: str, language: str | None) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("donde esta mi pedido 4456", "es"),
        ("je veux retourner la lampe", "fr"),
        ("wo ist meine Bestellung 4456", "de"),
        ("onde esta o meu pedido 4456", "pt"),
    ],
)
def test_a_message_without_accents_is_still_heard_in_its_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_plain_english_is_told_without_loading_the_detector() -> None:
    language._detector.cache_clear()
    assert detect_language("I was charged twice for my order") == "en"
    assert language._detector.cache_info().currsize == 0  # its model was not loaded
    assert detect_language("where is mi pedido 4456") == "es"  # a Spanish word: the detector decides


def test_the_gloss_keeps_identifiers_and_unknown_words() -> None:
    assert gloss("¿dónde está mi pedido A-4456?", "es") == "where is my order A-4456?"
    assert gloss("Meine Rechnung INV-7 wurde doppelt abgebucht", "de") == "my invoice INV-7 wurde charged twice"
    assert gloss("where is my order", "en") == "where is my order"


async def _stored_language(services: Any, thread_id: str) -> str | None:
    async with services.db.session() as s:
        conversation_id = (await s.execute(select(Conversation.id).where(Conversation.thread_id == thread_id))).scalar()
        return await conversation_language(s, conversation_id)


async def test_a_spanish_status_question_opens_a_case_and_is_answered_in_spanish(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-es")
    result = (await chat.send("¿dónde está mi pedido 4456?")).result
    assert result is not None
    assert [(c.kind, c.details["order_id"]) for c in result.cases] == [("status", "4456")]
    assert result.language == "es" and result.as_json()["language"] == "es"
    assert "Pedido 4456" in result.reply and "Gracias" in result.reply
    assert result.cases[0].ref in result.reply
    assert await _stored_language(services, "t-es") == "es"  # kept on the conversation for the staff card


async def test_a_short_answer_keeps_the_threads_language(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-fr")
    first = (await chat.send("Je voudrais retourner la lampe")).result
    assert first is not None and first.language == "fr"
    assert [(p.kind, p.missing) for p in first.pending] == [("return", ["reason_for_return"])]
    assert "la raison du retour" in first.reply
    second = (await chat.send("cassée")).result  # one word: too short to detect, French still
    assert second is not None and second.language == "fr"
    assert [c.kind for c in second.cases] == ["return"] and "Retour de" in second.reply


async def test_another_language_gets_english_and_is_told_so(services: Any) -> None:
    result = (await shell_chat(services).send("dov'è il mio ordine? non è ancora arrivato")).result
    assert result is not None and result.language == "it"
    assert "only answer in English" in result.reply


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Quiero devolver los zapatos porque son pequeños", "return", "zapatos"),
        ("Je voudrais un remboursement pour la lampe cassée", "return", "lampe"),
        ("Ich möchte die Schuhe zurückgeben, weil sie zu klein sind", "return", "Schuhe"),
        ("Quero devolver o casaco porque está rasgado", "return", "casaco"),
        ("Me cobraron dos veces la factura INV-3321", "billing", "INV-3321"),
        ("On m'a facturé deux fois, facture INV-555", "billing", "INV-555"),
        ("Wann kommt meine Bestellung A-1234?", "status", "A-1234"),
        ("Fui cobrado duas vezes na fatura INV-9", "billing", "INV-9"),
    ],
)
async def test_each_glossed_language_is_routed_and_read(text: str, kind: str, value: str) -> None:
    from workflows.offline.planner import plan

    language = detect_language(text)
    assert language in ("es", "fr", "de", "pt")
    tasks = (await plan(text, language=language)).tasks
    assert [t.kind for t in tasks] == [kind]
    assert value in (tasks[0].params.product_name or tasks[0].params.invoice_number or tasks[0].params.order_id or "")
