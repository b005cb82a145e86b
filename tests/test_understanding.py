"""The offline engine on messages written the way customers write: routing by meaning, confidence and the
clarifying question, world questions, through the shell adapter like a new user would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.platform import Interaction
from bot.wiring import shell_chat
from storage import cases as case_store
from storage.cases import CaseFilter
from workflows.clarify import CHOICES, clarify_choices, parse_choice
from workflows.offline import semantic
from workflows.offline.decision import route_decision

needs_encoder = pytest.mark.skipif(not semantic.available(), reason="the sentence encoder package is not installed")


@needs_encoder
@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("how is my order doing right now", "status"),
        ("has my package been sent", "status"),
        ("when will i get my order", "status"),
        ("what is the reason humans even exist", "general"),
        ("when do i next get paid", "general"),
        ("how do I know if it is time to replace my tires", "general"),
        ("there is a fee on my statement I don't understand", "billing"),
        ("I'd like my money back for the lamp, it flickers", "return"),
    ],
)
async def test_routes_follow_meaning_not_key_words(text: str, route: str) -> None:
    decision = await route_decision(text)
    assert decision.routes[0] == route
    assert 0.0 < decision.confidence <= 1.0


@needs_encoder
async def test_requests_the_rules_are_sure_of_skip_the_encoder() -> None:
    runs = semantic._guesses.runs
    assert (await route_decision("I was charged twice on invoice INV-20431, please check.")).routes == ["billing"]
    assert semantic._guesses.runs == runs
    # a technical cue as strong never skips: only the encoder tells a dead battery from a broken device
    assert (await route_decision("what do i do now that my battery is dead")).routes == ["general"]
    assert semantic._guesses.runs == runs + 1


@needs_encoder
def test_the_encoder_is_verified_and_versioned() -> None:
    assert semantic.index().meta["encoder"]["sha256"] == semantic.ENCODER_SHA256
    assert semantic.index().meta["version"]
    vectors = semantic.encoder().encode(["where is my order", "where's my parcel", "tell me a joke"])
    assert float(vectors[0] @ vectors[1]) > 0.5 > float(vectors[0] @ vectors[2]) + 0.2


@needs_encoder
def test_the_quick_loading_encoder_reads_as_the_default_one() -> None:
    texts = ["where is my order A-77777", "I was charged twice this month", "what is the weather like"]
    quick = semantic.Encoder(semantic.encoder_path(), semantic.TOKENIZER_PATH, quick_start=True).encode(texts)
    default = semantic.encoder().encode(texts)
    assert abs(quick - default).max() < 1e-3
    assert [g.route for g in semantic.index().guess(quick)] == [g.route for g in semantic.index().guess(default)]


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
    assert "outside what I can help with" in result.reply and "order" in result.reply


@needs_encoder
async def test_the_clarifying_choices_are_buttons_and_a_click_answers_in_the_thread(services: Any) -> None:
    chat = shell_chat(services, thread_id="t-buttons")
    first = (await chat.send("it's about my purchase")).result
    assert first is not None and first.clarify
    buttons = chat.delivered[-1].buttons
    assert [b.label for b in buttons] == [c.label for c in CHOICES]
    assert all(b.action == "clarify" for b in buttons)
    stranger = Interaction(
        platform="shell",
        user_id="someone-else",
        action="clarify",
        value=buttons[4].value,
        channel_id="local",
        message_id="m1",
    )
    assert not (await services.on_interaction(stranger)).ok
    click = Interaction(
        platform="shell",
        user_id=chat.user_id,
        action="clarify",
        value=buttons[4].value,
        channel_id="local",
        message_id="m1",
    )
    assert (await services.on_interaction(click)).ok
    handed_over = chat.delivered[-1]
    assert handed_over.buttons == () and "person" in handed_over.text.lower()
    async with services.db.session() as s:
        cases = await case_store.list_cases(s, CaseFilter(), limit=None)
    assert [c.kind for c in cases] == ["human"]


def test_the_shipped_index_loads_uncompressed_and_whole() -> None:
    import zipfile

    with zipfile.ZipFile(semantic.INDEX_PATH) as archive:  # stored: nothing to inflate on the first route
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    index = semantic.Index(semantic.INDEX_PATH)
    assert index.vectors.shape == (index.meta["examples"], 384) and len(index.labels) == index.meta["examples"]
    assert abs(float((index.vectors[0] ** 2).sum()) - 1.0) < 1e-2  # unit vectors
    assert index.meta["encoder"]["sha256"] == semantic.ENCODER_SHA256


@pytest.mark.slow
@needs_encoder
def test_the_shipped_index_is_what_the_tool_builds(tmp_path: Path) -> None:
    import subprocess
    import sys

    import numpy as np

    tool = Path(__file__).resolve().parents[1] / "tools" / "nlu" / "build_index.py"
    if not (tool.parents[3] / "shared" / "data" / "bitext" / "bitext-dev.csv").is_file():  # build_index's default
        pytest.skip("the Bitext file the index is built from is not here")
    rebuilt = tmp_path / "rebuilt.npz"
    subprocess.run([sys.executable, str(tool), "--output", str(rebuilt)], check=True, capture_output=True)
    with np.load(rebuilt) as new, np.load(semantic.INDEX_PATH) as shipped:
        assert np.array_equal(new["vectors"], shipped["vectors"]) and np.array_equal(new["labels"], shipped["labels"])
        assert str(new["meta"]) == str(shipped["meta"])


@pytest.mark.slow
@needs_encoder
def test_the_index_rebuilds_the_same_from_the_same_inputs(tmp_path: Path) -> None:
    import subprocess
    import sys

    examples = tmp_path / "examples.txt"
    examples.write_text("# mine\nstatus\twhere is my parcel\ngeneral\twhat's the weather\n", encoding="utf-8")
    bitext = tmp_path / "bitext.csv"
    bitext.write_text(
        "instruction,intent,category,route\ni need my invoice,get_invoice,INVOICE,billing\n"
        "cancel it,cancel_order,ORDER,\n",
        encoding="utf-8",
    )
    tool = Path(__file__).resolve().parents[1] / "tools" / "nlu" / "build_index.py"
    outputs = [tmp_path / "a.npz", tmp_path / "b.npz"]
    for out in outputs:
        subprocess.run(
            [sys.executable, str(tool), "--examples", str(examples), "--bitext", str(bitext), "--output", str(out)],
            check=True,
            capture_output=True,
        )
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    built = semantic.Index(outputs[0])
    assert built.meta["examples"] == 3 and built.meta["per_route"] == {"billing": 1, "status": 1, "general": 1}
    assert built.guess(semantic.encoder().encode(["where's my package?"]))[0].route == "status"
