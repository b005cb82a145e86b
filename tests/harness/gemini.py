"""Scripted answers for the fake Gemini server (tests/fakes/gemini.py): the example message's plan and
reply, and the FAQ steps answered from the pages' own sentences."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.gemini import Fail
from workflows.faq.offline import OfflineFaq
from workflows.orchestrator import PLAN_SYSTEM
from workflows.synthesizer import SYNTH_SYSTEM


def gemini_respond(model: str, body: dict[str, Any]) -> Any:
    """The plan and the reply of the example message (tests.harness.EXAMPLE), as the model would give them."""
    system = "\n".join(p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts", []))
    prompt = "\n".join(p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", []))
    if system.startswith(PLAN_SYSTEM[:40]):
        return {
            "routes": ["billing", "return", "status"],
            "tasks": [
                {"kind": "billing", "invoice_number": "INV-7890", "concern": "invoice seems higher than expected"},
                {
                    "kind": "return",
                    "product_name": "SuperWidget 5000",
                    "reason_for_return": "not compatible with my system",
                },
                {"kind": "status", "order_id": "A-12345"},
            ],
        }
    if system.startswith(SYNTH_SYSTEM[:40]):
        facts = json.loads(prompt.split("Facts (JSON):\n", 1)[1])
        refs = ", ".join(f"`{c['reference']}`" for c in facts["cases"])
        return {"reply": f"All sorted! Your cases: {refs}."}
    raise AssertionError(f"unexpected request: {system[:60]}")


def gemini_responder(offline: OfflineFaq) -> Any:
    """Answers the FAQ steps as a model would (from the pages' own sentences), plus one made-up citation
    per answer, which grounding must drop."""

    def respond(model: str, body: dict[str, Any]) -> Any:
        prompt = body["contents"][-1]["parts"][-1]["text"]  # the pages (when not cached) come first
        if m := re.search(r"Write exactly (\d+) distinct questions", prompt):
            return offline.questions(int(m.group(1))).model_dump()
        question = prompt.split("\n", 1)[0].removeprefix("Question: ")
        fabricated = {"url": "https://evil.example/faq", "quote": "Everything is free forever."}
        if "Then cite your sources" in prompt:  # grounded: answer and citations in one call
            answer = offline.answer(question).model_dump()
            return {**answer, "citations": [*answer["citations"], fabricated]}
        if "Find where the pages above support" in prompt:  # three-step, step 3
            answer = prompt.split("\nAnswer: ", 1)[1].split("\n", 1)[0]
            return {"citations": [*offline.sources(answer).model_dump()["citations"], fabricated]}
        if prompt.startswith("Question: "):  # three-step, step 2
            return offline.draft(question).model_dump()
        return Fail(400, "unexpected request")

    return respond
