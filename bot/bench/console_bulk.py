"""A bulk case history (100k cases, 1M messages) for the console benchmark.

Rows go in with Core `executemany` inserts in batches and explicit timestamps, so a generated history
spans months; the same seed always gives the same data."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, func, insert, select

from storage.cases import REF_PREFIXES, opens_needing_staff
from storage.db import Database
from storage.models import Case, CaseEvent, Conversation, Message

from ..cases import KINDS

_conv, _msg = cast(Table, Conversation.__table__), cast(Table, Message.__table__)
_case, _event = cast(Table, Case.__table__), cast(Table, CaseEvent.__table__)
_WORDS = (
    "order",
    "refund",
    "invoice",
    "parcel",
    "delivery",
    "charged",
    "broken",
    "screen",
    "login",
    "password",
    "shipping",
    "label",
    "tracking",
    "warranty",
    "battery",
    "charger",
    "account",
    "payment",
    "card",
    "box",
    "late",
    "damaged",
    "replacement",
    "address",
    "receipt",
    "subscription",
    "upgrade",
    "cancel",
    "discount",
)
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def bulk_ref(kind: str, index: int) -> str:
    """A unique reference per index (base 32 of the index, then a fixed pattern)."""
    digits, n = [], index
    for _ in range(8):
        digits.append(_ALPHABET[n % 32])
        n //= 32
    return REF_PREFIXES[kind] + "".join(reversed(digits))


def order_id(index: int) -> str:
    return f"B-{index:07d}"


async def generate(
    db: Database,
    *,
    cases: int,
    messages_per_case: int = 10,
    days: int = 180,
    seed: int = 7,
    batch: int = 2000,
    progress: Callable[[str], None] | None = None,
) -> None:
    """`cases` cases, each in its own conversation of `messages_per_case` messages, opened over the last
    `days` days; ~10% flagged for staff (and every hand-off and technical case, as when the bot opens them),
    statuses spread as a real history would be."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    statuses = ("closed",) * 6 + ("resolved",) * 2 + ("open", "in_progress")
    async with db.engine.connect() as conn:
        base = int((await conn.execute(select(func.coalesce(func.max(_conv.c.id), 0)))).scalar_one())
        msg_base = int((await conn.execute(select(func.coalesce(func.max(_msg.c.id), 0)))).scalar_one())
        case_base = int((await conn.execute(select(func.coalesce(func.max(_case.c.id), 0)))).scalar_one())
    for start in range(0, cases, batch):
        convs, msgs, rows, events = [], [], [], []
        for i in range(start, min(cases, start + batch)):
            kind = KINDS[i % len(KINDS)]
            opened = now - timedelta(seconds=rng.uniform(0, days * 86400))
            conv_id, case_id = base + i + 1, case_base + i + 1
            customer = f"U{rng.randrange(20_000):05d}"
            platform = "slack" if i % 3 else "discord"
            convs.append(
                {
                    "id": conv_id,
                    "platform": platform,
                    "channel_id": "C-BENCH",
                    "thread_id": f"bt{i}",
                    "customer_id": customer,
                    "created_at": opened,
                    "updated_at": opened,
                }
            )
            first_msg = msg_base + i * messages_per_case + 1
            needs_staff = rng.random() < 0.1
            for j in range(messages_per_case):
                role = "customer" if j % 2 == 0 else ("staff" if j % 4 == 3 and needs_staff else "bot")
                text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 18)))
                if j == 0:
                    text = f"Order {order_id(i)}: {text}"
                msgs.append(
                    {
                        "id": first_msg + j,
                        "conversation_id": conv_id,
                        "platform": platform,
                        "platform_message_id": f"bm{i}-{j}",
                        "role": role,
                        "author_id": customer if role == "customer" else role,
                        "text": text,
                        "internal": False,
                        "status": "replied" if role == "customer" else "sent",
                        "attempts": 1,
                        "meta": {},
                        "created_at": opened + timedelta(minutes=j),
                        "updated_at": opened + timedelta(minutes=j),
                    }
                )
            status = "open" if needs_staff and rng.random() < 0.5 else rng.choice(statuses)
            assignee = (
                f"slack:U0STAFF{i % 7}" if status in ("in_progress", "resolved", "closed") and needs_staff else None
            )
            rows.append(
                {
                    "id": case_id,
                    "ref": bulk_ref(kind, i),
                    "kind": kind,
                    "status": status,
                    "platform": platform,
                    "customer_id": customer,
                    "conversation_id": conv_id,
                    "message_id": first_msg,
                    "task_key": f"{kind}:0",
                    "subject_key": None,
                    "details": {"order_id": order_id(i), "concern": rng.choice(_WORDS)},
                    "assignee": assignee,
                    "needs_staff": opens_needing_staff(kind, flagged=needs_staff),
                    "created_at": opened,
                    "updated_at": opened,
                }
            )
            events.append({"case_id": case_id, "action": "created", "actor": "bot", "note": None, "created_at": opened})
            if assignee:
                events.append(
                    {
                        "case_id": case_id,
                        "action": "assigned",
                        "actor": assignee,
                        "note": assignee,
                        "created_at": opened + timedelta(minutes=rng.uniform(2, 90)),
                    }
                )
            if status == "closed":
                events.append(
                    {
                        "case_id": case_id,
                        "action": "closed",
                        "actor": assignee or "bot",
                        "note": "done",
                        "created_at": opened + timedelta(hours=rng.uniform(0.2, 48)),
                    }
                )
        async with db.engine.begin() as conn:
            await conn.execute(insert(_conv), convs)
            await conn.execute(insert(_msg), msgs)
            await conn.execute(insert(_case), rows)
            await conn.execute(insert(_event), events)
        if progress is not None and (start // batch) % 10 == 0:
            progress(f"  {min(cases, start + batch):,} / {cases:,} cases")
    if db.engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        async with db.engine.begin() as conn:
            for table in ("conversations", "messages", "cases", "case_events"):
                await conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
