"""dead letters (when a failed message may be tried again) and periodic jobs scheduled in the database

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 06:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('messages', sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('scheduled_jobs',
                    sa.Column('name', sa.String(length=40), nullable=False),
                    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('last_result', sa.Text(), nullable=True),
                    sa.PrimaryKeyConstraint('name'))


def downgrade() -> None:
    op.drop_table('scheduled_jobs')
    with op.batch_alter_table('messages') as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column('next_attempt_at')
