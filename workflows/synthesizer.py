"""The synthesizer: one short, chat-style reply that quotes every case reference verbatim.

The model writes it when there is one; if its text drops or alters a reference (or fails), the
template reply below is sent instead. Output is plain markdown (**bold**, `code`, bullets); each
adapter converts it to its platform's dialect.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from .llm.base import LLMRequest
from .llm.runner import StepRunner, Tally
from .text import defuse
from .types import CaseSummary, GeneralAnswer, PendingSummary, Route

MAX_REPLY_CHARS = 3500

SYNTH_SYSTEM = """You write the reply of a customer-support bot in a chat thread (Slack or Discord).
Be short, warm and concrete, like a helpful person in chat: no "Dear customer", no e-mail sign-off,
no more than a short paragraph plus one bullet per case. Use markdown: **bold** and bullets.
Quote every case reference exactly as given, in backticks, once. Say what was done and what happens
next for each case; ask for every missing piece of information listed under "missing".
Never promise what the facts do not say. Return JSON {"reply": "..."}."""

_FIELD_QUESTIONS = {
    "invoice_number": "the invoice number (e.g. INV-1234)",
    "product_name": "which product you would like to return",
    "reason_for_return": "the reason for the return",
    "order_id": "your order number (e.g. A-12345)",
}
CAPABILITIES = ("questions about invoices and charges, returns and refunds, where your order is, and technical "
                "problems — or I can connect you with a person")


@dataclass
class ReplyContext:
    text: str
    routes: list[Route]
    cases: list[CaseSummary] = field(default_factory=list)
    pending: list[PendingSummary] = field(default_factory=list)
    truncated: bool = False
    general_answer: GeneralAnswer | None = None


class ReplyAnswer(BaseModel):
    reply: str = Field(min_length=1, max_length=6000)


def _case_line(case: CaseSummary) -> str:
    d = {k: defuse(str(v)) for k, v in case.details.items() if not isinstance(v, list)}
    ref = f"`{case.ref}`"
    match case.kind:
        case "billing":
            concern = f" ({d['concern']})" if d.get("concern") else ""
            return (f"**Invoice {d.get('invoice_number', '')}**{concern}: I opened a billing investigation, case "
                    f"{ref}. Expect an answer within {d.get('resolution_eta', 'a few business days')}.")
        case "return":
            return (f"**Return of {d.get('product_name', 'your item')}**: approved, RMA number {ref}. "
                    f"{d.get('shipping_instructions', '')}")
        case "status":
            tracking = (f", {d['carrier']} tracking {d['tracking_number']}" if d.get("tracking_number") else "")
            when = d.get("expected_delivery", "")
            when_text = f"; {when}" if when and when != "already delivered" else ""
            status = d.get("current_status", "being checked")
            return f"**Order {d.get('order_id', '')}**: {status}{tracking}{when_text} (ref {ref})."
        case "technical":
            return (f"**Technical issue**: I opened case {ref} for our technicians. To speed things up, reply here "
                    "with the product or app and its version, what happened, any error message word for word, "
                    "and the steps that make it happen.")
        case "human":
            return f"**A person will take over**: I flagged this conversation for our support team, case {ref}."
    return f"Case {ref} is open."


def _pending_question(p: PendingSummary) -> str:
    about = ""
    if p.kind == "return" and p.params.get("product_name"):
        about = f" of the {defuse(str(p.params['product_name']))}"
    wanted = " and ".join(_FIELD_QUESTIONS.get(m, m.replace("_", " ")) for m in p.missing)
    label = {"return": "return", "billing": "billing question", "status": "order"}.get(p.kind, p.kind)
    return f"To go ahead with your {label}{about}, could you tell me {wanted}?"


def template_reply(ctx: ReplyContext) -> str:
    lines: list[str] = []
    if ctx.truncated:
        lines.append("_Your message was very long, so I only read the first part of it._")
    if not ctx.text.strip():
        lines.append(f"Hi! Your message looks empty. I can help with {CAPABILITIES}. What can I do for you?")
        return "\n".join(lines)
    if ctx.cases:
        lines.append("Thanks for reaching out! Here's what I've done:" if len(ctx.cases) > 1
                     else "Thanks for reaching out!")
        lines.extend(f"• {_case_line(c)}" for c in ctx.cases)
    for p in ctx.pending:
        lines.append(_pending_question(p))
    if ctx.general_answer is not None and not ctx.cases:
        ga = ctx.general_answer
        source = f"\nSource: {ga.source_title} <{ga.source_url}>" if ga.source_url else ""
        lines.append(f"{defuse(ga.answer)}{source}")
    if not lines or (not ctx.cases and not ctx.pending and ctx.general_answer is None):
        lines.append(f"Thanks for your message! I can help with {CAPABILITIES}. "
                     "Tell me a bit more — an invoice number, an order number or the product — and I'll get on it.")
    return "\n".join(lines)


def _refs(ctx: ReplyContext) -> list[str]:
    return [c.ref for c in ctx.cases]


def reply_is_usable(reply: str, ctx: ReplyContext) -> bool:
    text = reply.strip()
    if not text or len(text) > MAX_REPLY_CHARS or re.search(r"\bdear (customer|sir|madam)\b", text, re.I):
        return False
    return all(text.count(ref) >= 1 for ref in _refs(ctx))


def _facts(ctx: ReplyContext) -> str:
    facts = {
        "customer_message": ctx.text[:2000],
        "routes": ctx.routes,
        "cases": [{"reference": c.ref, "kind": c.kind, **c.details} for c in ctx.cases],
        "missing": [{"task": p.kind, "missing": p.missing, **p.params} for p in ctx.pending],
        "message_was_truncated": ctx.truncated,
    }
    if ctx.general_answer:
        facts["faq_answer"] = ctx.general_answer.model_dump()
    return json.dumps(facts, ensure_ascii=False, default=str)


async def synthesize(ctx: ReplyContext, runner: StepRunner, *, tally: Tally | None = None) -> str:
    if not ctx.text.strip():
        return template_reply(ctx)  # nothing for a model to do
    request = LLMRequest(step="synthesize", schema=ReplyAnswer, system=SYNTH_SYSTEM,
                         prompt=f"Facts (JSON):\n{_facts(ctx)}", inputs={"refs": _refs(ctx)})
    outcome = await runner.run(request, lambda: ReplyAnswer(reply=template_reply(ctx)), tally=tally,
                               accept=lambda answer: reply_is_usable(answer.reply, ctx))
    return defuse(outcome.value.reply.strip())  # a model can be talked into echoing a mention or a masked link
