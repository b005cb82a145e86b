"""Case history for the console: a small demo set (realistic cases plus one hostile transcript, for
screenshots and tests). The bulk history of the console benchmark is `console_bulk`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select

from storage.db import Database
from storage.models import Case, CaseEvent, Conversation, FaqItem, FaqSet, Message

_conv, _msg = cast(Table, Conversation.__table__), cast(Table, Message.__table__)
_case, _event = cast(Table, Case.__table__), cast(Table, CaseEvent.__table__)
_faq_sets, _faq_items = cast(Table, FaqSet.__table__), cast(Table, FaqItem.__table__)

HOSTILE_TEXT = (
    '<script>alert("xss")</script> <img src=x onerror=alert(1)> '
    "[click me](javascript:alert(2)) <javascript:alert(3)|open this> "
    '<a href="javascript:alert(4)">link</a> " onmouseover="alert(5)'
)
HOSTILE_DETAIL = "<img src=x onerror=alert(6)><svg onload=alert(7)>"


@dataclass(frozen=True)
class DemoMessage:
    role: str
    text: str
    minutes: float  # after the conversation started
    author: str = ""
    internal: bool = False


@dataclass(frozen=True)
class DemoCase:
    ref: str
    kind: str
    platform: str
    customer: str
    started_min_ago: float
    details: dict[str, Any]
    messages: tuple[DemoMessage, ...]
    needs_staff: bool = False
    status: str = "open"
    assignee: str | None = None
    events: tuple[tuple[str, str, str | None, float], ...] = ()  # (action, actor, note, minutes after start)


DEMO_CASES = (
    DemoCase(
        "INV_CASE_7K3Q9P2X",
        "billing",
        "slack",
        "U0ALICE",
        55,
        {
            "invoice_number": "INV-2024-0042",
            "concern": "charged twice",
            "action_taken": "refund requested",
            "resolution_eta": "3-5 business days",
        },
        (
            DemoMessage("customer", "Hi, I was charged twice for invoice INV-2024-0042. Can I get a refund?", 0),
            DemoMessage(
                "bot",
                "Sorry about that! I opened billing case INV_CASE_7K3Q9P2X; a person will check the double charge.",
                0.1,
            ),
        ),
        needs_staff=True,
    ),
    DemoCase(
        "RMA-4HD2M8QW",
        "return",
        "discord",
        "400000000000000001",
        200,
        {
            "product_name": "SuperWidget 5000",
            "reason_for_return": "arrived cracked",
            "rma_number": "RMA-4HD2M8QW",
            "shipping_instructions": "Print the label and drop the parcel at any post office.",
        },
        (
            DemoMessage("customer", "My SuperWidget 5000 arrived cracked, I want to return it.", 0),
            DemoMessage(
                "bot", "I issued return RMA-4HD2M8QW. Print the label and drop the parcel at any post office.", 0.1
            ),
            DemoMessage(
                "staff",
                "Hi, I'm Sam from support: I've asked the warehouse to send a new unit too.",
                30,
                author="U0SAM",
            ),
            DemoMessage("staff", "Warehouse confirmed stock; ship tomorrow.", 32, author="U0SAM", internal=True),
        ),
        needs_staff=True,
        status="in_progress",
        assignee="slack:U0SAM",
        events=(("assigned", "slack:U0SAM", "slack:U0SAM", 25), ("note", "slack:U0SAM", "Replacement unit ok'd", 33)),
    ),
    DemoCase(
        "TEC-9XW3RTB1",
        "technical",
        "slack",
        "U0MALLORY",
        15,
        {"issue": HOSTILE_DETAIL, "needed_from_customer": "screenshot"},
        (
            DemoMessage("customer", HOSTILE_TEXT, 0),
            DemoMessage(
                "customer",
                "Also see *bold* _italics_ <https://evil.example/phish|your account> and "
                "[docs](https://example.com/docs).",
                1,
            ),
            DemoMessage("bot", "I opened technical case TEC-9XW3RTB1 and flagged it for a person.", 1.1),
        ),
        needs_staff=True,
    ),
    DemoCase(
        "STS-2PQ8ZK4N",
        "status",
        "slack",
        "U0ALICE",
        60 * 26,
        {
            "order_id": "A-12345",
            "current_status": "delivered",
            "carrier": "USPS",
            "tracking_number": "9400111899223856920011",
            "expected_delivery": "delivered yesterday",
        },
        (
            DemoMessage("customer", "Where is my order A-12345?", 0),
            DemoMessage("bot", "Order A-12345 was delivered yesterday (USPS 9400111899223856920011).", 0.1),
            DemoMessage("customer", "Found it, thanks!", 40),
        ),
        status="closed",
        events=(("closed", "slack:U0SAM", "Customer confirmed delivery", 45), ("rated", "slack:U0ALICE", "👍", 50)),
    ),
    DemoCase(
        "HUM-5TR7YB2C",
        "human",
        "discord",
        "400000000000000002",
        5,
        {"request": "talk to a person about a damaged delivery"},
        (
            DemoMessage("customer", "Can I talk to a human please? The box was soaked.", 0),
            DemoMessage("bot", "I've asked a member of the team to join this thread.", 0.1),
        ),
        needs_staff=True,
    ),
)


def demo_channel(index: int) -> str:
    return f"CDEMO{index}"


def demo_thread(index: int) -> str:
    """A Slack-like thread timestamp for demo conversation `index`."""
    return f"17000000{index:02d}.000100"


async def seed_demo(db: Database, *, now: datetime | None = None) -> list[str]:
    """The demo cases (idempotent: skipped when present) and one FAQ set; returns the refs."""
    now = now or datetime.now(UTC)
    async with db.write() as s:
        if (
            await s.execute(select(func.count()).select_from(_case).where(_case.c.ref.in_([c.ref for c in DEMO_CASES])))
        ).scalar_one():
            return [c.ref for c in DEMO_CASES]
        for n, demo in enumerate(DEMO_CASES):
            start = now - timedelta(minutes=demo.started_min_ago)
            conversation_id = (
                await s.execute(
                    insert(_conv).returning(_conv.c.id),
                    {
                        "platform": demo.platform,
                        "channel_id": demo_channel(n),
                        "thread_id": demo_thread(n),
                        "customer_id": demo.customer,
                        "created_at": start,
                        "updated_at": start,
                    },
                )
            ).scalar_one()
            first_id = None
            for i, m in enumerate(demo.messages):
                at = start + timedelta(minutes=m.minutes)
                message_id = (
                    await s.execute(
                        insert(_msg).returning(_msg.c.id),
                        {
                            "conversation_id": conversation_id,
                            "platform": demo.platform,
                            "platform_message_id": f"demo-{n}-{i}",
                            "role": m.role,
                            "author_id": m.author or ("bot" if m.role == "bot" else demo.customer),
                            "text": m.text,
                            "internal": m.internal,
                            "status": "replied" if m.role == "customer" else "sent",
                            "attempts": 1,
                            "meta": {},
                            "created_at": at,
                            "updated_at": at,
                        },
                    )
                ).scalar_one()
                first_id = first_id or message_id
            case_id = (
                await s.execute(
                    insert(_case).returning(_case.c.id),
                    {
                        "ref": demo.ref,
                        "kind": demo.kind,
                        "status": demo.status,
                        "platform": demo.platform,
                        "customer_id": demo.customer,
                        "conversation_id": conversation_id,
                        "message_id": first_id,
                        "task_key": f"{demo.kind}:0",
                        "subject_key": None,
                        "details": demo.details,
                        "assignee": demo.assignee,
                        "needs_staff": demo.needs_staff,
                        "created_at": start,
                        "updated_at": start,
                    },
                )
            ).scalar_one()
            events = [("created", "bot", "flagged for staff" if demo.needs_staff else None, 0.05), *demo.events]
            await s.execute(
                insert(_event),
                [
                    {
                        "case_id": case_id,
                        "action": a,
                        "actor": actor,
                        "note": note,
                        "created_at": start + timedelta(minutes=mins),
                    }
                    for a, actor, note, mins in events
                ],
            )
        faq_id = (
            await s.execute(
                insert(_faq_sets).returning(_faq_sets.c.id),
                {
                    "requested_by": "slack:U0SAM",
                    "platform": "slack",
                    "channel_id": "C-DEMO",
                    "chain": "grounded",
                    "urls": ["https://docs.example.com/returns", "javascript:alert(8)"],
                    "llm_calls": 3,
                    "failed_pages": [],
                    "created_at": now - timedelta(days=2),
                },
            )
        ).scalar_one()
        await s.execute(
            insert(_faq_items),
            [
                {
                    "faq_set_id": faq_id,
                    "position": 1,
                    "question": "How long do I have to return a product?",
                    "answer": "30 days from delivery, in its original packaging.",
                    "sources": [
                        {
                            "title": "Returns",
                            "url": "https://docs.example.com/returns",
                            "quote": "Products can be returned within 30 days.",
                        }
                    ],
                },
                {
                    "faq_set_id": faq_id,
                    "position": 2,
                    "question": "<b>Who pays</b> return shipping?",
                    "answer": "We do, for damaged items.",
                    "sources": [{"title": "<script>alert(9)</script>", "url": "javascript:alert(10)", "quote": ""}],
                },
            ],
        )
    return [c.ref for c in DEMO_CASES]
