"""What the staff loop shows: the card of a case (with the buttons its status allows), and the words
of the messages it posts to customers and staff. Platform-neutral: adapters render `Card` and
`Button` in their own format, and escape what they post to customers (no mention is live there)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.platform import Button, Card
from storage.cases import STAFF_KINDS
from storage.models import Case, CaseEvent, Message

CARD_ACTIONS = ("case_claim", "case_close", "case_note", "case_release")
RATE = "rate"
THUMBS = (("👍", 5), ("👎", 1))
SUMMARY_CHARS = 150


def needs_staff(case: Case) -> bool:
    return bool(case.needs_staff) or case.kind in STAFF_KINDS


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
    """The card of `case` as it is now: status, assignee, the latest close reason, the reason it needs staff."""
    events = list((await session.execute(
        select(CaseEvent.action, CaseEvent.note).where(CaseEvent.case_id == case.id,
                                                       CaseEvent.action.in_(("closed", "flagged")))
        .order_by(CaseEvent.id))).all())
    closed = next((note for action, note in reversed(events) if action == "closed"), None)
    flagged = next((note for action, note in reversed(events) if action == "flagged"), None)
    text = (await session.execute(select(Message.text).where(Message.id == case.message_id))).scalar_one_or_none()
    d = case.details or {}
    subject = d.get("invoice_number") or d.get("product_name") or d.get("order_id") or ""
    summary = one_line(text or str(d.get("request") or d.get("issue") or ""))
    if subject and str(subject) not in summary:
        summary = one_line(f"{subject} · {summary}")
    return Card(ref=case.ref, kind=case.kind, status=case.status, customer_id=case.customer_id, summary=summary,
                created_at=case.created_at, thread_link=thread_link, assignee=case.assignee,
                closed_reason=(closed or "") if case.status == "closed" else None,
                needs_staff_reason=staff_reason(case, flagged), buttons=card_buttons(case))


# --- words ------------------------------------------------------------------------------------------

def rating_buttons(ref: str, scale: str) -> tuple[Button, ...]:
    if scale == "five":
        return tuple(Button(RATE, str(n), f"{ref}:{n}") for n in range(1, 6))
    return tuple(Button(RATE, label, f"{ref}:{score}") for label, score in THUMBS)


def closing_text(ref: str) -> str:
    return (f"Your case {ref} is now closed. If there is anything else, just write here. "
            "How did we do?")


def takeover_text(ref: str, staff_name: str) -> str:
    who = f"{staff_name} from our support team is" if staff_name else "A member of our support team is"
    return f"{who} looking after your request now (case {ref}). They will answer you here."


def sla_text(ref: str, minutes: float, mention: str) -> str:
    lead = f"{mention} " if mention else ""
    return f"{lead}⏰ Case {ref} has waited over {minutes:g} min for a first response and nobody has claimed it."


def pending_remind_text(kind: str, missing: list[str]) -> str:
    need = ", ".join(m.replace("_", " ") for m in missing) or "a few details"
    return (f"Just checking in on your {kind} request: I still need {need} to go ahead. "
            "Reply here whenever you're ready.")


def pending_close_text(kind: str) -> str:
    return (f"I haven't heard back, so I've closed your {kind} request for now. "
            "Write here any time and we'll pick it up again.")
