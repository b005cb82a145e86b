"""staff loop: staff outbox, case cards, timers, ratings, takeovers, applied case events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 05:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_when = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", _when, nullable=True),
        sa.Column("platform_message_id", sa.String(length=128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _when, nullable=False),
        sa.Column("done_at", _when, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_staff_outbox_status", "staff_outbox", ["status", "platform"])
    op.create_table(
        "case_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.String(length=128), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("thread_link", sa.Text(), nullable=False),
        sa.Column("created_at", _when, nullable=False),
        sa.Column("updated_at", _when, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "platform", name="uq_case_card"),
    )
    op.create_table(
        "staff_timers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("due_at", _when, nullable=False),
        sa.Column("fired_at", _when, nullable=True),
        sa.Column("created_at", _when, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "subject_id", name="uq_staff_timer"),
    )
    op.create_index("ix_staff_timers_due", "staff_timers", ["fired_at", "due_at"])
    op.create_table(
        "case_ratings",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("scale", sa.String(length=8), nullable=False),
        sa.Column("created_at", _when, nullable=False),
        sa.Column("updated_at", _when, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "takeovers",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("staff_id", sa.String(length=160), nullable=True),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", _when, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_table("staff_applied", sa.Column("event_id", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("event_id"))
    cursor = op.create_table("staff_cursor", sa.Column("id", sa.Integer(), nullable=False),
                             sa.Column("floor", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint("id"))
    # The staff loop starts after the events that exist: no cards or closing messages for old cases.
    top = op.get_bind().execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM case_events")).scalar() or 0
    op.bulk_insert(cursor, [{"id": 1, "floor": int(top)}])


def downgrade() -> None:
    for table in ("staff_cursor", "staff_applied", "takeovers", "case_ratings", "staff_timers", "case_cards",
                  "staff_outbox"):
        op.drop_table(table)
