"""What the staff loop shows: the card of a case (with the buttons its status allows), and the words
of the messages it posts to customers and staff. Platform-neutral: adapters render `Card` and
`Button` in their own format, and escape what they post to customers (no mention is live there)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.platform import Button, Card
from storage.languages import conversation_language
from storage.models import Case, CaseEvent, Message
from workflows.phrasebook import phrases

from .words import words

CARD_ACTIONS = ("case_claim", "case_close", "case_note", "case_release")
RATE = "rate"
THUMBS = (("👍", 5), ("👎", 1))
SUMMARY_CHARS = 150


def needs_staff(case: Case) -> bool:
    """The case is for staff: flagged (a case of a staff kind is flagged when it opens, see
    `storage.cases.opens_needing_staff`)."""
    return bool(case.needs_staff)


def card_buttons(case: Case) -> tuple[Button, ...]:
    ref = case.ref
    close, note = Button("case_close", "Close", ref, "danger"), Button("case_note", "Note", ref)
    if case.status == "open":
        return (Button("case_claim", "Claim", ref, "primary"), close, note)
    if case.status == "in_progress":
        return (close, note, Button("case_release", "Release", ref))
    if case.status == "resolved":
        return (close, note)
    return ()  # closed: nothing to click (reopen with /case-reopen)


def staff_reason(case: Case, flagged: str | None) -> str:
    reason = flagged or (case.details or {}).get("reason")
    if reason:
        return str(reason)
    return {"human": "asked for a person", "technical": "technical problem"}.get(case.kind, "flagged for staff")


def one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


async def build_card(session: AsyncSession, case: Case, *, thread_link: str = "") -> Card:
    """The card of `case` as it is now: status, assignee, the latest close reason, the reason it needs staff,
    the conversation's language."""
    events = list(
        (
            await session.execute(
                select(CaseEvent.action, CaseEvent.note)
                .where(CaseEvent.case_id == case.id, CaseEvent.action.in_(("closed", "flagged")))
                .order_by(CaseEvent.id)
            )
        ).all()
    )
    closed = next((note for action, note in reversed(events) if action == "closed"), None)
    flagged = next((note for action, note in reversed(events) if action == "flagged"), None)
    text = (await session.execute(select(Message.text).where(Message.id == case.message_id))).scalar_one_or_none()
    d = case.details or {}
    subject = d.get("invoice_number") or d.get("product_name") or d.get("order_id") or ""
    summary = one_line(text or str(d.get("request") or d.get("issue") or ""))
    if subject and str(subject) not in summary:
        summary = one_line(f"{subject} · {summary}")
    return Card(
        ref=case.ref,
        kind=case.kind,
        status=case.status,
        customer_id=case.customer_id,
        summary=summary,
        created_at=case.created_at,
        thread_link=thread_link,
        assignee=case.assignee,
        closed_reason=(closed or "") if case.status == "closed" else None,
        language=await conversation_language(session, case.conversation_id),
        needs_staff_reason=staff_reason(case, flagged),
        buttons=card_buttons(case),
    )


# --- words ------------------------------------------------------------------------------------------


def rating_buttons(ref: str, scale: str) -> tuple[Button, ...]:
    if scale == "five":
        return tuple(Button(RATE, str(n), f"{ref}:{n}") for n in range(1, 6))
    return tuple(Button(RATE, label, f"{ref}:{score}") for label, score in THUMBS)


def closing_text(ref: str, language: str | None = None) -> str:
    return words(language)["closing"].format(ref=ref)


def takeover_text(ref: str, staff_name: str, language: str | None = None) -> str:
    book = words(language)
    return book["takeover_named" if staff_name else "takeover"].format(ref=ref, name=staff_name)


def sla_text(ref: str, minutes: float, mention: str) -> str:
    lead = f"{mention} " if mention else ""
    return f"{lead}⏰ Case {ref} has waited over {minutes:g} min for a first response and nobody has claimed it."


def _kind(kind: str, language: str | None) -> str:
    return kind if language in (None, "en") else phrases(language).get(f"label_{kind}", kind)


def pending_remind_text(kind: str, missing: list[str], language: str | None = None) -> str:
    book, fields = words(language), phrases(language)
    english = language in (None, "en")
    need = (", " if english else fields["and"]).join(
        m.replace("_", " ") if english else fields.get(m, m.replace("_", " ")) for m in missing
    ) or book["few"]
    return book["remind"].format(kind=_kind(kind, language), need=need)


def pending_close_text(kind: str, language: str | None = None) -> str:
    return words(language)["expired"].format(kind=_kind(kind, language))
