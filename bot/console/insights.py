"""The figures of the insights page over a date range, computed from what the database records:
messages and cases per day, first-response and close times, who handled cases, ratings and model
fallbacks. A figure whose source is not recorded (yet) comes back empty, and the page says "no data".

First response = the first case event by someone other than the bot (a claim, a note, a close) after
the case opened. Staff-handled = the case was flagged for staff or a person acted on it; every other
case the bot handled alone."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Date, Table, column, func, inspect, select, table
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, CaseEvent, Message

from .queries import day_start

DEFAULT_DAYS = 30
MAX_DAYS = 366
BOT_ACTORS = ("bot", "system")
_cases, _events = cast(Table, Case.__table__), cast(Table, CaseEvent.__table__)
_messages = cast(Table, Message.__table__)


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    @classmethod
    def from_params(cls, params: Any, *, today: date | None = None) -> DateRange:
        today = today or datetime.now(UTC).date()

        def parse(name: str) -> date | None:
            try:
                return day_start(str(params.get(name, ""))).date()
            except ValueError:
                return None

        end = parse("to") or today
        start = parse("from") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            start, end = end, start
        start = max(start, end - timedelta(days=MAX_DAYS - 1))
        return cls(start, end)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return (
            datetime.combine(self.start, datetime.min.time(), UTC),
            datetime.combine(self.end + timedelta(days=1), datetime.min.time(), UTC),
        )

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


@dataclass
class Durations:
    count: int = 0
    p50_min: float | None = None
    p90_min: float | None = None
    p95_min: float | None = None

    @classmethod
    def of(cls, minutes: list[float]) -> Durations:
        if not minutes:
            return cls()
        if len(minutes) == 1:
            return cls(1, minutes[0], minutes[0], minutes[0])
        cuts = statistics.quantiles(minutes, n=100, method="inclusive")
        return cls(len(minutes), round(cuts[49], 1), round(cuts[89], 1), round(cuts[94], 1))


@dataclass
class Insights:
    range: DateRange
    cases_by_day: dict[str, dict[date, int]] = field(default_factory=dict)  # kind → day → count
    messages_by_day: dict[str, dict[date, int]] = field(default_factory=dict)  # role → day → count
    first_response: Durations = field(default_factory=Durations)
    time_to_close: Durations = field(default_factory=Durations)
    handled: dict[str, int] = field(default_factory=dict)  # "bot alone" / "staff" → cases
    ratings: dict[str, int] = field(default_factory=dict)
    fallbacks_by_day: dict[date, int] = field(default_factory=dict)

    def table_rows(self) -> list[tuple[str, str, str, str]]:
        """Everything on the page as (section, series, key, value) rows: the CSV download."""
        rows: list[tuple[str, str, str, str]] = []
        for section, series in (("cases per day", self.cases_by_day), ("messages per day", self.messages_by_day)):
            for name, days in sorted(series.items()):
                rows.extend((section, name, d.isoformat(), str(n)) for d, n in sorted(days.items()))
        for section, d in (
            ("first response (minutes)", self.first_response),
            ("time to close (minutes)", self.time_to_close),
        ):
            rows.extend(
                (section, key, "", "" if value is None else str(value))
                for key, value in (("cases", d.count), ("p50", d.p50_min), ("p90", d.p90_min), ("p95", d.p95_min))
            )
        rows.extend(("handled by", k, "", str(v)) for k, v in self.handled.items())
        rows.extend(("ratings", k, "", str(v)) for k, v in sorted(self.ratings.items()))
        rows.extend(("model fallbacks", "", d.isoformat(), str(n)) for d, n in sorted(self.fallbacks_by_day.items()))
        return rows


def _day(column: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return func.date(column)
    return sql_cast(func.timezone("UTC", column), Date)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _per_day(
    session: AsyncSession, table: Any, group: Any, where: list[Any], dialect: str, lo: datetime, hi: datetime
) -> dict[str, dict[date, int]]:
    day = _day(table.c.created_at, dialect)
    rows = await session.execute(
        select(group, day, func.count())
        .where(table.c.created_at >= lo, table.c.created_at < hi, *where)
        .group_by(group, day)
    )
    out: dict[str, dict[date, int]] = defaultdict(dict)
    for name, d, n in rows:
        out[str(name)][_as_date(d)] = int(n)
    return dict(out)


async def compute(session: AsyncSession, rng: DateRange) -> Insights:
    dialect = session.get_bind().dialect.name
    lo, hi = rng.bounds
    result = Insights(range=rng)
    result.cases_by_day = await _per_day(session, _cases, _cases.c.kind, [], dialect, lo, hi)
    result.messages_by_day = await _per_day(
        session, _messages, _messages.c.role, [_messages.c.internal.is_(False)], dialect, lo, hi
    )
    in_range = select(_cases.c.id).where(_cases.c.created_at >= lo, _cases.c.created_at < hi)
    opened = dict(
        (await session.execute(select(_cases.c.id, _cases.c.created_at).where(_cases.c.id.in_(in_range)))).all()
    )
    first_human = dict(
        (
            await session.execute(
                select(_events.c.case_id, func.min(_events.c.created_at))
                .where(
                    _events.c.case_id.in_(in_range), _events.c.actor.not_in(BOT_ACTORS), _events.c.action != "created"
                )
                .group_by(_events.c.case_id)
            )
        ).all()
    )
    first_close = dict(
        (
            await session.execute(
                select(_events.c.case_id, func.min(_events.c.created_at))
                .where(_events.c.case_id.in_(in_range), _events.c.action == "closed")
                .group_by(_events.c.case_id)
            )
        ).all()
    )
    flagged = set(
        (
            await session.execute(select(_cases.c.id).where(_cases.c.id.in_(in_range), _cases.c.needs_staff.is_(True)))
        ).scalars()
    )

    def minutes(moments: dict[int, datetime]) -> list[float]:
        return [
            max(0.0, (_aware(at) - _aware(opened[cid])).total_seconds() / 60)
            for cid, at in moments.items()
            if cid in opened
        ]

    result.first_response = Durations.of(minutes(first_human))
    result.time_to_close = Durations.of(minutes(first_close))
    if opened:
        staff = len(flagged | set(first_human))
        result.handled = {"bot alone": len(opened) - staff, "staff": staff}
    result.ratings = await _ratings(session, lo, hi)
    result.fallbacks_by_day = await _fallbacks(session, dialect, lo, hi)
    return result


async def _fallbacks(session: AsyncSession, dialect: str, lo: datetime, hi: datetime) -> dict[date, int]:
    """Model fallbacks per day: each bot reply's meta counts the steps the offline engine answered."""
    day, count = _day(_messages.c.created_at, dialect), Message.meta["fallbacks"].as_integer()
    rows = await session.execute(
        select(day, func.sum(count))
        .where(_messages.c.role == "bot", _messages.c.created_at >= lo, _messages.c.created_at < hi, count > 0)
        .group_by(day)
    )
    return {_as_date(d): int(n) for d, n in rows if n}


# The customers' ratings, kept by the staff loop (its own table; read here without importing its model).
_RATINGS = table("case_ratings", column("score"), column("scale"), column("created_at"))


def _rating_label(scale: str, score: int) -> str:
    if scale == "thumbs":
        return "thumbs up" if score >= 3 else "thumbs down"
    return f"{score} star{'s' if score != 1 else ''}"


async def _ratings(session: AsyncSession, lo: datetime, hi: datetime) -> dict[str, int]:
    """Ratings by label from the ratings table when it exists, else from `rated` case events."""
    connection = await session.connection()
    if await connection.run_sync(lambda sync: inspect(sync).has_table("case_ratings")):
        rows = await session.execute(
            select(_RATINGS.c.scale, _RATINGS.c.score, func.count())
            .where(_RATINGS.c.created_at >= lo, _RATINGS.c.created_at < hi)
            .group_by(_RATINGS.c.scale, _RATINGS.c.score)
        )
        out: dict[str, int] = defaultdict(int)
        for scale, score, n in rows:
            out[_rating_label(str(scale), int(score))] += int(n)
        return dict(out)
    rows = await session.execute(
        select(_events.c.note, func.count())
        .where(_events.c.action == "rated", _events.c.created_at >= lo, _events.c.created_at < hi)
        .group_by(_events.c.note)
    )
    return {str(note or "?"): int(n) for note, n in rows}
