"""The Gemini path carries the same behaviour as the offline engine: the plan and synthesis prompts
state the clarify-when-unsure and language rules, a plan that asks to clarify opens nothing, and a
Spanish message is planned and answered knowing its language. Real google-genai client, fake server."""

from __future__ import annotations

import json
from typing import Any

from bot.wiring import open_services, shell_chat
from tests.fakes.gemini import FakeGemini
from workflows.orchestrator import PLAN_SYSTEM
from workflows.synthesizer import SYNTH_SYSTEM


def _texts(body: dict[str, Any]) -> tuple[str, str]:
    system = "\n".join(p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts", []))
    prompt = "\n".join(p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", []))
    return system, prompt


class _Model:
    """A fake model that asks to clarify "it's about my purchase" and plans a Spanish status request."""

    def __init__(self) -> None:
        self.plans: list[str] = []
        self.facts: list[dict[str, Any]] = []

    def __call__(self, model: str, body: dict[str, Any]) -> Any:
        system, prompt = _texts(body)
        if system.startswith(PLAN_SYSTEM[:40]):
            self.plans.append(prompt)
            if "4456" in prompt:
                return {"routes": ["status"], "tasks": [{"kind": "status", "order_id": "4456"}], "confidence": 0.9}
            return {"routes": ["general"], "tasks": [], "confidence": 0.3, "clarify": True}
        assert system.startswith(SYNTH_SYSTEM[:40])
        facts = json.loads(prompt.split("Facts (JSON):\n", 1)[1])
        self.facts.append(facts)
        refs = " ".join(f"`{c['reference']}`" for c in facts["cases"])
        if facts.get("clarify"):
            return {"reply": "¿Sobre qué es? " + " / ".join(facts["choices"])}
        return {"reply": f"Tu pedido está en camino {refs}".strip()}


def test_the_prompts_state_the_clarify_and_language_rules() -> None:
    assert "clarify" in PLAN_SYSTEM and "any language" in PLAN_SYSTEM
    assert '"clarify"' in SYNTH_SYSTEM and '"language"' in SYNTH_SYSTEM and "unchanged" in SYNTH_SYSTEM


async def test_gemini_clarifies_when_unsure_and_answers_in_the_customers_language(make_settings: Any) -> None:
    model = _Model()
    async with FakeGemini(respond=model) as fake:
        settings = make_settings(
            SUPPORTBOT_LLM="gemini", GEMINI_API_KEY="test-key", SUPPORTBOT_GEMINI_BASE_URL=fake.base_url
        )
        async with open_services(settings) as services:
            unclear = (await shell_chat(services).send("it's about my purchase")).result
            spanish = (await shell_chat(services).send("¿dónde está mi pedido 4456?")).result
    assert unclear is not None and spanish is not None
    assert unclear.cases == [] and unclear.pending == [] and unclear.clarify
    assert model.facts[0]["clarify"] is True and "Order status" in model.facts[0]["choices"]
    assert "language with ISO code es" in model.plans[1]
    assert model.facts[1]["language"] == "es"
    assert [(c.kind, c.details["order_id"]) for c in spanish.cases] == [("status", "4456")]
    assert spanish.language == "es" and spanish.cases[0].ref in spanish.reply
