"""cases of a staff kind (hand-off, technical) carry the needs_staff flag

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00

A case needs staff when its `needs_staff` flag is set; opening a hand-off or technical case now sets it
(storage/case_open.py). Earlier such cases were in the staff queue by their kind alone: this sets their
flag, so that every queue (and the partial index ix_cases_queue) reads the flag only. No case event is
written: the staff loop carded these cases when they opened.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("UPDATE cases SET needs_staff = true WHERE kind IN ('human', 'technical') AND NOT needs_staff"))


def downgrade() -> None:
    # Nothing to undo: which flags this set cannot be told from those set by a flag, and the code before
    # this revision counts every case of these kinds as needing staff anyway.
    pass
