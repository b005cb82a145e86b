"""staff console: sign-in links, sessions, full-text search, listing indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 05:40:00

Full-text search: on SQLite, FTS5 tables with external content (`case_fts` over cases.ref/details,
`message_fts` over messages.text) kept current by triggers, and filled from the existing rows here; on
PostgreSQL, stored generated `search_vector` columns (`to_tsvector('english', …)`) with GIN indexes.
The triggers fire only on changes to the indexed columns, so the message hot path (status updates) does
not touch the index.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_QUEUE_WHERE = "needs_staff = true AND status IN ('open', 'in_progress')"
_FTS5_TOKENIZER = "porter unicode61 remove_diacritics 2"

_SQLITE_FTS = [
    f"CREATE VIRTUAL TABLE case_fts USING fts5(ref, details, content='cases', content_rowid='id', "
    f"tokenize='{_FTS5_TOKENIZER}')",
    "CREATE TRIGGER case_fts_insert AFTER INSERT ON cases BEGIN "
    "INSERT INTO case_fts(rowid, ref, details) VALUES (new.id, new.ref, new.details); END",
    "CREATE TRIGGER case_fts_delete AFTER DELETE ON cases BEGIN "
    "INSERT INTO case_fts(case_fts, rowid, ref, details) VALUES ('delete', old.id, old.ref, old.details); END",
    "CREATE TRIGGER case_fts_update AFTER UPDATE OF ref, details ON cases BEGIN "
    "INSERT INTO case_fts(case_fts, rowid, ref, details) VALUES ('delete', old.id, old.ref, old.details); "
    "INSERT INTO case_fts(rowid, ref, details) VALUES (new.id, new.ref, new.details); END",
    "INSERT INTO case_fts(case_fts) VALUES ('rebuild')",
    f"CREATE VIRTUAL TABLE message_fts USING fts5(text, content='messages', content_rowid='id', "
    f"tokenize='{_FTS5_TOKENIZER}')",
    "CREATE TRIGGER message_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER message_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER message_fts_update AFTER UPDATE OF text ON messages BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
]
_SQLITE_FTS_DOWN = [
    "DROP TRIGGER IF EXISTS case_fts_insert", "DROP TRIGGER IF EXISTS case_fts_delete",
    "DROP TRIGGER IF EXISTS case_fts_update", "DROP TABLE IF EXISTS case_fts",
    "DROP TRIGGER IF EXISTS message_fts_insert", "DROP TRIGGER IF EXISTS message_fts_delete",
    "DROP TRIGGER IF EXISTS message_fts_update", "DROP TABLE IF EXISTS message_fts",
]
# PostgreSQL: a stored tsvector per row (computed once on write, not per row on every search) with a
# GIN index. storage/console.py searches the `search_vector` columns.
_PG_FTS = [
    "ALTER TABLE messages ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED",
    "CREATE INDEX ix_messages_fts ON messages USING gin (search_vector)",
    "ALTER TABLE cases ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', ref || ' ' || details::text)) STORED",
    "CREATE INDEX ix_cases_fts ON cases USING gin (search_vector)",
]
_PG_FTS_DOWN = ["DROP INDEX IF EXISTS ix_cases_fts", "DROP INDEX IF EXISTS ix_messages_fts",
                "ALTER TABLE cases DROP COLUMN IF EXISTS search_vector",
                "ALTER TABLE messages DROP COLUMN IF EXISTS search_vector"]


def upgrade() -> None:
    op.create_table(
        'console_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('user_id', sa.String(length=128), nullable=False),
        sa.Column('roles', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_table(
        'console_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('link_id', sa.Integer(), nullable=True),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('user_id', sa.String(length=128), nullable=False),
        sa.Column('roles', sa.JSON(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['link_id'], ['console_links.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_console_sessions_expires', 'console_sessions', ['expires_at'])
    # The console's listings: a case page's siblings, the queue, the assignee filter, time ranges.
    op.create_index('ix_cases_conversation', 'cases', ['conversation_id'])
    # Partial: only the cases waiting for staff (storage/cases.py STAFF_QUEUE_WHERE, word for word).
    op.create_index('ix_cases_queue', 'cases', ['created_at'], sqlite_where=sa.text(_QUEUE_WHERE),
                    postgresql_where=sa.text(_QUEUE_WHERE))
    # Each list filter followed by the list's order, so a filtered page is read in order and stops early.
    op.create_index('ix_cases_assignee', 'cases', ['assignee', 'created_at'])
    op.create_index('ix_cases_platform_created', 'cases', ['platform', 'created_at'])
    op.create_index('ix_cases_customer_created', 'cases', ['platform', 'customer_id', 'created_at'])
    op.create_index('ix_cases_kind_created', 'cases', ['kind', 'created_at'])
    op.create_index('ix_cases_status_created', 'cases', ['status', 'created_at'])
    op.create_index('ix_cases_status_kind_created', 'cases', ['status', 'kind', 'created_at'])
    op.create_index('ix_case_events_action', 'case_events', ['action', 'created_at'])
    op.create_index('ix_messages_created', 'messages', ['created_at'])
    for statement in _SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else _PG_FTS:
        op.execute(statement)


def downgrade() -> None:
    for statement in _SQLITE_FTS_DOWN if op.get_bind().dialect.name == "sqlite" else _PG_FTS_DOWN:
        op.execute(statement)
    op.drop_index('ix_messages_created', table_name='messages')
    op.drop_index('ix_case_events_action', table_name='case_events')
    op.drop_index('ix_cases_status_kind_created', table_name='cases')
    op.drop_index('ix_cases_status_created', table_name='cases')
    op.drop_index('ix_cases_kind_created', table_name='cases')
    op.drop_index('ix_cases_customer_created', table_name='cases')
    op.drop_index('ix_cases_platform_created', table_name='cases')
    op.drop_index('ix_cases_assignee', table_name='cases')
    op.drop_index('ix_cases_queue', table_name='cases')
    op.drop_index('ix_cases_conversation', table_name='cases')
    op.drop_index('ix_console_sessions_expires', table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_table('console_links')
