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

from .backoffice.simulated_words import return_steps, value
from .clarify import CHOICES
from .llm.base import LLMRequest
from .llm.runner import StepRunner, Tally
from .phrasebook import LANGUAGES, choice_label, phrases, variant
from .text import defuse
from .types import CaseSummary, GeneralAnswer, PendingSummary, Route

MAX_REPLY_CHARS = 3500

SYNTH_SYSTEM = """You write the reply of a customer-support bot in a chat thread (Slack or Discord).
Be short, warm and concrete, like a helpful person in chat: no "Dear customer", no e-mail sign-off,
no more than a short paragraph plus one bullet per case. Use markdown: **bold** and bullets.
Quote every case reference exactly as given, in backticks, once. Say what was done and what happens
next for each case; ask for every missing piece of information listed under "missing".
Never promise what the facts do not say. A case with "needs_staff": true has no answer yet: say that a
person from the team will follow up in this thread, and state no status, approval, number or date for it.
When a case has a "backoffice_message", pass it on.
If "clarify" is true, the request was unclear: open nothing, say so in one short sentence and ask which
of the listed choices the message is about, listing them numbered. A question about the world (weather,
trivia, small talk) gets one short friendly sentence and what the bot can help with — never a case.
If "customer_tone" is angry or repeated, acknowledge it in a few words first; don't open every reply alike.
Write in the language named by "language" (an ISO code; English when absent), but copy case references,
order and invoice numbers unchanged. Return JSON {"reply": "..."}."""

CAPABILITIES = phrases("en")["capabilities"]


@dataclass
class ReplyContext:
    text: str
    routes: list[Route]
    cases: list[CaseSummary] = field(default_factory=list)
    pending: list[PendingSummary] = field(default_factory=list)
    truncated: bool = False
    general_answer: GeneralAnswer | None = None
    clarify: bool = False  # routing was unsure: ask which choice the message is about
    off_topic: bool = False  # a question about the world: a short friendly answer and what the bot can do
    language: str = "en"  # the customer's (ISO 639-1); the template answers in it when it has its sentences
    tone: str = ""  # "angry" or "repeated": acknowledged first
    turn: int = 0  # earlier customer messages in the thread: varies the opening


def clarify_question(language: str | None = None) -> str:
    book = phrases(language)
    options = "\n".join(f"{i}. {choice_label(c.route, language)}" for i, c in enumerate(CHOICES, 1))
    return f"{book['clarify']}\n{options}\n{book['clarify_tail']}"


class ReplyAnswer(BaseModel):
    reply: str = Field(min_length=1, max_length=6000)


_SUBJECT_FIELDS = {"billing": "invoice_number", "return": "product_name", "status": "order_id"}


def _staff_line(case: CaseSummary, d: dict[str, str], ref: str, book: dict[str, str]) -> str:
    """A case no back office settled: what the back office said (if anything), never an invented status."""
    said = f" {d['backoffice_message'].rstrip('.')}." if d.get("backoffice_message") else ""
    subject = book[f"subject_{case.kind}"].format(id=d.get(_SUBJECT_FIELDS[case.kind], ""))
    return book["staff_case"].format(subject=subject, said=said, team=book[f"team_{case.kind}"], ref=ref)


def _case_line(case: CaseSummary, book: dict[str, str], language: str) -> str:
    d = {k: defuse(value(str(v), language)) for k, v in case.details.items() if not isinstance(v, (list, dict))}
    ref = f"`{case.ref}`"
    if case.needs_staff and case.kind in _SUBJECT_FIELDS:
        return _staff_line(case, d, ref, book)
    said = f" {d['backoffice_message']}" if d.get("backoffice_message") else ""
    match case.kind:
        case "billing":
            concern = f" ({d['concern']})" if d.get("concern") else ""
            eta = d.get("resolution_eta", "a few business days")
            if d.get("source") not in (None, "simulated") and d.get("action_taken"):  # what the back office did
                return (
                    book["billing_action"].format(
                        invoice=d.get("invoice_number", ""),
                        concern=concern,
                        ref=ref,
                        action=d["action_taken"].rstrip("."),
                        eta=eta,
                    )
                    + said
                )
            return book["billing"].format(invoice=d.get("invoice_number", ""), concern=concern, ref=ref, eta=eta) + said
        case "return":
            steps = return_steps(d.get("shipping_instructions", ""), language)
            rma = d.get("rma_number") or case.ref
            line = (
                book["return"].format(product=d.get("product_name", "your item"), ref=ref, instructions=steps)
                if rma == case.ref
                else book["return_rma"].format(
                    product=d.get("product_name", "your item"), rma=rma, ref=ref, instructions=steps
                )
            )
            return line.rstrip() + said
        case "status":
            carrier = f"{d['carrier']} " if d.get("carrier") else ""
            tracking = f", {carrier}tracking {d['tracking_number']}" if d.get("tracking_number") else ""
            when = case.details.get("expected_delivery", "")
            when_text = f"; {d['expected_delivery']}" if when and when != "already delivered" else ""
            return (
                book["status"].format(
                    order=d.get("order_id", ""),
                    status=d.get("current_status", "being checked"),
                    tracking=tracking,
                    when=when_text,
                    ref=ref,
                )
                + said
            )
        case "technical" | "human":
            return book[case.kind].format(ref=ref)
    return f"Case {ref} is open."


def _pending_question(p: PendingSummary, book: dict[str, str]) -> str:
    about = ""
    if p.kind == "return" and p.params.get("product_name"):
        about = book["of_product"].format(product=defuse(str(p.params["product_name"])))
    wanted = book["and"].join(book.get(m, m.replace("_", " ")) for m in p.missing)
    question = book["ask"].format(label=book.get(f"label_{p.kind}", p.kind), about=about, wanted=wanted)
    if p.asked >= 2:  # asked before and still missing: offer a way out (a third time, a person takes over)
        question += " " + book.get(f"way_out_{p.kind}", book["way_out"])
    return question


def template_reply(ctx: ReplyContext) -> str:
    book = phrases(ctx.language)
    capabilities = book["capabilities"]
    lines: list[str] = []
    if ctx.language not in LANGUAGES:
        lines.append(book["english_only"])
    if ctx.truncated:
        lines.append("_Your message was very long, so I only read the first part of it._")
    if not ctx.text.strip():
        lines.append(book["empty"].format(capabilities=capabilities))
        return "\n".join(lines)
    if ctx.tone:
        lines.append(book[ctx.tone])
    if ctx.cases:
        if not ctx.tone:
            lines.append(variant(book["thanks_many"] if len(ctx.cases) > 1 else book["thanks"], ctx.turn))
        lines.extend(
            f"• {_case_line(c, book, ctx.language)}"
            + ("" if c.new else " " + book["reused"].format(status=c.status.replace("_", " ")))
            for c in ctx.cases
        )
    for p in ctx.pending:
        lines.append(_pending_question(p, book))
    if ctx.clarify and not ctx.cases and not ctx.pending:
        lines.append(clarify_question(ctx.language))
        return "\n".join(lines)
    if ctx.general_answer is not None and not ctx.cases:
        ga = ctx.general_answer
        source = f"\nSource: {ga.source_title} <{ga.source_url}>" if ga.source_url else ""
        lines.append(f"{defuse(ga.answer)}{source}")
    if not ctx.cases and not ctx.pending and ctx.general_answer is None:
        lines.append(book["world" if ctx.off_topic else "general"].format(capabilities=capabilities))
    return "\n".join(lines)


def _refs(ctx: ReplyContext) -> list[str]:
    return [c.ref for c in ctx.cases]


# Promises a model may add on its own: each must be backed by the facts (a back office's details or
# message, the customer's own words, an FAQ answer). "approved" needs a return a back office approved.
_PROMISES = (
    "prepaid",
    "shipping label",
    "return label",
    "tracking",
    "refund",
    "delivered",
    "in transit",
    "shipped",
    "out for delivery",
)


def invents_promises(reply: str, ctx: ReplyContext) -> bool:
    """True if the reply states an approval, a label, a status or a refund the facts do not contain."""
    text = reply.lower()
    facts = _facts(ctx).lower()
    if any(p in text and p not in facts for p in _PROMISES):
        return True
    approved = any(c.kind == "return" and not c.needs_staff and c.details.get("rma_number") for c in ctx.cases)
    return bool(re.search(r"\bapprov", text)) and not approved and "approv" not in facts


def reply_is_usable(reply: str, ctx: ReplyContext) -> bool:
    text = reply.strip()
    if not text or len(text) > MAX_REPLY_CHARS or re.search(r"\bdear (customer|sir|madam)\b", text, re.I):
        return False
    return all(text.count(ref) >= 1 for ref in _refs(ctx)) and not invents_promises(text, ctx)


def _facts(ctx: ReplyContext) -> str:
    facts = {
        "customer_message": ctx.text[:2000],
        "routes": ctx.routes,
        "cases": [{"reference": c.ref, "kind": c.kind, **c.details, "needs_staff": c.needs_staff} for c in ctx.cases],
        "missing": [{"task": p.kind, "missing": p.missing, **p.params} for p in ctx.pending],
        "message_was_truncated": ctx.truncated,
    }
    if ctx.off_topic:
        facts["off_topic"] = True
    if ctx.clarify:
        facts["clarify"] = True
        facts["choices"] = [choice_label(c.route, ctx.language) for c in CHOICES]
    if ctx.language != "en":
        facts["language"] = ctx.language
    if ctx.tone:
        facts["customer_tone"] = ctx.tone
    if ctx.general_answer:
        facts["faq_answer"] = ctx.general_answer.model_dump()
    return json.dumps(facts, ensure_ascii=False, default=str)


async def synthesize(ctx: ReplyContext, runner: StepRunner, *, tally: Tally | None = None) -> str:
    if not ctx.text.strip():
        return template_reply(ctx)  # nothing for a model to do
    request = LLMRequest(
        step="synthesize",
        schema=ReplyAnswer,
        system=SYNTH_SYSTEM,
        prompt=f"Facts (JSON):\n{_facts(ctx)}",
        inputs={"refs": _refs(ctx)},
    )
    outcome = await runner.run(
        request,
        lambda: ReplyAnswer(reply=template_reply(ctx)),
        tally=tally,
        accept=lambda answer: reply_is_usable(answer.reply, ctx),
    )
    return defuse(outcome.value.reply.strip())  # a model can be talked into echoing a mention or a masked link
