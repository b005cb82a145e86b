"""Periodic jobs whose schedule lives in the database (the retention run, daily): however many bot
processes run, and however often they restart, a job runs once per period.

A job is taken by a conditional update — `due_at` moves one period ahead only where it was due — so
exactly one process wins each period; the time comes from the caller (an injectable clock in tests).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, Text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base
from .statements import PerDialect, affected


class ScheduledJob(Base):
    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    due_at: Mapped[datetime] = mapped_column()
    last_run_at: Mapped[datetime | None] = mapped_column()
    last_result: Mapped[str | None] = mapped_column(Text)


_jobs = ScheduledJob.__table__
_NEW_JOB = PerDialect(lambda insert: insert(_jobs).on_conflict_do_nothing())


async def take_if_due(session: AsyncSession, name: str, *, now: datetime, every: timedelta) -> bool:
    """True when job `name` is due at `now` and this caller took it (its next run is then `now + every`).
    A job seen for the first time is due at once."""
    await session.execute(_NEW_JOB(session), {"name": name, "due_at": now, "last_run_at": None, "last_result": None})
    result = await session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == name, ScheduledJob.due_at <= now)
        .values(due_at=now + every, last_run_at=now)
        .execution_options(synchronize_session=False)
    )
    return affected(result) == 1


async def record_result(session: AsyncSession, name: str, result: str) -> None:
    await session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == name)
        .values(last_result=result[:500])
        .execution_options(synchronize_session=False)
    )
