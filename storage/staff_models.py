"""Tables of the staff loop: the staff outbox (cards, card updates, closing messages, notices and
reminders, each delivered once), the card of each case, timers, ratings, takeovers, and the marks of
the case events the loop has already turned into effects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow


class StaffOutbox(Base):
    """One post or edit the staff loop owes a platform. `key` makes enqueueing idempotent (`card:12`,
    `closing:345` …); a worker claims a row with a lease, like an inbox message, and records the
    platform's id of what it posted."""

    __tablename__ = "staff_outbox"
    __table_args__ = (Index("ix_staff_outbox_status", "status", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # card | card_update | message | staff_notice
    platform: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending → sending → done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column()
    platform_message_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()


class CaseCard(Base):
    """Where a case's card lives in the staff channel (one per case and platform)."""

    __tablename__ = "case_cards"
    __table_args__ = (UniqueConstraint("case_id", "platform", name="uq_case_card"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str] = mapped_column(String(128))
    message_id: Mapped[str] = mapped_column(String(128))
    thread_link: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffTimer(Base):
    """A timer fired once across processes: `fired_at` is set by a conditional update."""

    __tablename__ = "staff_timers"
    __table_args__ = (
        UniqueConstraint("kind", "subject_id", name="uq_staff_timer"),
        Index("ix_staff_timers_due", "fired_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # sla | pending_remind | pending_close
    subject_id: Mapped[int] = mapped_column(Integer)  # a case id (sla) or a pending task id
    due_at: Mapped[datetime] = mapped_column()
    fired_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseRating(Base):
    """The customer's rating of a case: one per case, a later click replaces it."""

    __tablename__ = "case_ratings"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    score: Mapped[int] = mapped_column(Integer)  # thumbs: 1 (down) or 5 (up); five: 1–5
    scale: Mapped[str] = mapped_column(String(8))  # thumbs | five
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Takeover(Base):
    """A conversation a staff member took over: the bot stays quiet while `active`. `episode` counts
    takeovers (the customer is told once per episode); `last_event_id` orders changes made from events."""

    __tablename__ = "takeovers"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    active: Mapped[bool] = mapped_column(default=False)
    staff_id: Mapped[str | None] = mapped_column(String(160))
    episode: Mapped[int] = mapped_column(Integer, default=0)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffApplied(Base):
    """A case event the staff loop has turned into its effects (inserted once, in the same transaction)."""

    __tablename__ = "staff_applied"

    event_id: Mapped[int] = mapped_column(primary_key=True)


class StaffCursor(Base):
    """Case events at or below `floor` are all applied (or predate the staff loop)."""

    __tablename__ = "staff_cursor"

    id: Mapped[int] = mapped_column(primary_key=True)
    floor: Mapped[int] = mapped_column(Integer, default=0)
