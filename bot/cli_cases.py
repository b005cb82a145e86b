"""`supportbot cases …`: the case history from the terminal. The operator counts as staff; lifecycle
changes are recorded with the actor `cli:<os user>`. `export` writes the rows of `bot.case_export`.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from .cases import KINDS, STATUSES
from .cli_common import Failure, cli_actor, open_database, run_async

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.cases import CaseFilter

    from .cases import Actor, CaseInfo, ChangeResult

T = TypeVar("T")


def _run_case(coro: Coroutine[Any, Any, T]) -> T:
    """Run a use case; its refusals are one line (exit 1)."""
    from .cases import CaseError

    try:
        return run_async(coro)
    except CaseError as exc:
        raise Failure(str(exc)) from None


def operator() -> Actor:
    """The person at the terminal: staff, recorded as `cli:<os user>`."""
    from .cases import Actor

    return Actor("cli", cli_actor().partition(":")[2], is_staff=True)


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    from .commands.cases import parse_date

    try:
        return parse_date(value)
    except ValueError:
        raise click.BadParameter("use a date like 2026-11-01 or 2026-11-01T09:30", param_hint="--since") from None


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--user --status --kind --assignee --since, shared by `list` and `export`."""
    for decorator in reversed(
        (
            click.option("--user", default=None, help="Only this customer's cases (their platform user id)."),
            click.option("--status", type=click.Choice(STATUSES), default=None),
            click.option("--kind", type=click.Choice(KINDS), default=None),
            click.option("--assignee", default=None, help="Only cases assigned to this staff member."),
            click.option("--since", default=None, help="Only cases opened on or after this date (ISO 8601, UTC)."),
        )
    ):
        command = decorator(command)
    return command


def _filter(
    user: str | None, status: str | None, kind: str | None, assignee: str | None, since: str | None
) -> CaseFilter:
    from storage.cases import CaseFilter

    return CaseFilter(customer_id=user, status=status, kind=kind, assignee=assignee, since=_since(since))


@click.group()
def cases() -> None:
    """Review and manage the stored cases."""


def _row(c: CaseInfo, extra: str = "") -> str:
    return (
        f"{c.ref:<18} {c.status:<12} {c.kind:<10} {c.platform}:{c.customer_id:<14} "
        f"{c.created_at.isoformat()[:16].replace('T', ' ')}  {(c.assignee or '-'):<16} {c.subject[:40]}{extra}"
    )


def _header(extra: str = "") -> str:
    """The column names above `_row`s (customer ids are padded to 14 after a platform of about 5)."""
    return (
        f"{'REF':<18} {'STATUS':<12} {'KIND':<10} {'CUSTOMER':<20} {'OPENED (UTC)':<17} {'ASSIGNEE':<16} SUBJECT{extra}"
    )


@cases.command("list")
@filter_options
@click.option(
    "--queue",
    is_flag=True,
    help="The cases waiting for staff: unclaimed first, then oldest, with "
    "their age (SLA: SUPPORTBOT_SLA_FIRST_RESPONSE_MIN).",
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_cases(
    ctx: click.Context,
    user: str | None,
    status: str | None,
    kind: str | None,
    assignee: str | None,
    since: str | None,
    queue: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Case history, newest first (or, with --queue, the cases waiting for staff)."""
    from . import cases as case_use
    from .cli_common import settings_from

    if queue:
        if any((user, status, kind, assignee, since)):
            raise click.UsageError("--queue takes no filter options")
        sla = settings_from(ctx).sla_first_response_min

        async def _queue() -> case_use.CaseQueue:
            async with open_database(ctx) as db:
                return await case_use.queue(db, viewer=operator(), sla_minutes=sla, limit=limit)

        found = _run_case(_queue())
        if as_json:
            click.echo(json.dumps([e.as_json() for e in found.entries], ensure_ascii=False, indent=2))
            return
        if not found.entries:
            click.echo("No case is waiting for staff.")
        else:
            click.echo(_header("  WAITING"))
        for e in found.entries:
            minutes = int(e.age.total_seconds() // 60)
            late = "  PAST SLA" if e.overdue else ""
            click.echo(_row(e.case, f"  waiting {minutes // 60}h{minutes % 60:02d}m{late}"))
        if found.total > len(found.entries):
            click.echo(f"({len(found.entries)} of {found.total}; raise --limit for more)")
        return

    flt = _filter(user, status, kind, assignee, since)

    async def _list() -> list[CaseInfo]:
        async with open_database(ctx) as db:
            return (await case_use.list_cases(db, flt, viewer=operator(), limit=limit, count=False)).cases

    rows = _run_case(_list())
    if as_json:
        click.echo(json.dumps([c.as_json() for c in rows], ensure_ascii=False, indent=2))
        return
    click.echo(_header() if rows else "No cases match.")
    for c in rows:
        click.echo(_row(c))


@cases.command("show")
@click.argument("ref")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True, help="Page of the transcript.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show_case(ctx: click.Context, ref: str, page: int, as_json: bool) -> None:
    """One case: fields, event history and its transcript, a page at a time (internal notes included)."""
    from . import cases as case_use

    async def _show() -> dict[str, Any]:
        async with open_database(ctx) as db:
            return (await case_use.view(db, ref, viewer=operator(), page=page)).as_json()

    view = _run_case(_show())
    if as_json:
        click.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    from .commands.cases import render_case

    click.echo(render_case(view).text)


# --- lifecycle -----------------------------------------------------------------------------------


def _change(ctx: click.Context, action: str, ref: str, text: str | None = None) -> ChangeResult:
    from .case_effects import case_service
    from .cli_common import settings_from

    async def _run() -> ChangeResult:
        async with open_database(ctx) as db:
            return await case_service(db, settings_from(ctx)).change(action, ref, operator(), text)

    return _run_case(_run())


@cases.command("close")
@click.argument("ref")
@click.option("--reason", default=None, help="Why the case is closed (kept in its history).")
@click.pass_context
def close_case(ctx: click.Context, ref: str, reason: str | None) -> None:
    """Close a case."""
    click.echo(f"closed {_change(ctx, 'close', ref, reason).case.ref}")


@cases.command("reopen")
@click.argument("ref")
@click.option("--note", default=None, help="Why the case is reopened.")
@click.pass_context
def reopen_case(ctx: click.Context, ref: str, note: str | None) -> None:
    """Reopen a resolved or closed case."""
    case = _change(ctx, "reopen", ref, note).case
    click.echo(f"reopened {case.ref} ({case.status})")


@cases.command("resolve")
@click.argument("ref")
@click.option("--note", default=None, help="How it was resolved.")
@click.pass_context
def resolve_case(ctx: click.Context, ref: str, note: str | None) -> None:
    """Mark an open or in-progress case resolved."""
    click.echo(f"resolved {_change(ctx, 'resolve', ref, note).case.ref}")


@cases.command("note")
@click.argument("ref")
@click.argument("text")
@click.pass_context
def note_case(ctx: click.Context, ref: str, text: str) -> None:
    """Add an internal note (staff only, never shown to the customer)."""
    click.echo(f"noted {_change(ctx, 'note', ref, text).case.ref}")


@cases.command("assign")
@click.argument("ref")
@click.argument("staff_id")
@click.pass_context
def assign_case(ctx: click.Context, ref: str, staff_id: str) -> None:
    """Assign a case to a staff member (e.g. slack:U0123ABCD, as chat assignments record it)."""
    case = _change(ctx, "assign", ref, staff_id).case
    click.echo(f"assigned {case.ref} to {case.assignee} ({case.status})")


@cases.command("release")
@click.argument("ref")
@click.option("--note", default=None, help="Why it is handed back.")
@click.pass_context
def release_case(ctx: click.Context, ref: str, note: str | None) -> None:
    """Hand a claimed case back to the bot (no assignee; the bot answers in its thread again)."""
    click.echo(f"released {_change(ctx, 'release', ref, note).case.ref}")


# --- export --------------------------------------------------------------------------------------


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """stdout, or a file written beside its destination and moved into place only when complete."""
    if path is None:
        sys.stdout.flush()
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")  # UTF-8 whatever the locale
        try:
            yield stream
        finally:
            stream.flush()
            stream.detach()  # leave stdout open
        return
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    try:
        stream = partial.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise Failure(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with stream:
            yield stream
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@cases.command("export")
@filter_options
@click.option("--limit", type=click.IntRange(1), default=None, help="At most this many cases (default: all).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to this file instead of stdout.",
)
@click.pass_context
def export_cases(
    ctx: click.Context,
    user: str | None,
    status: str | None,
    kind: str | None,
    assignee: str | None,
    since: str | None,
    limit: int | None,
    fmt: str,
    output: str | None,
) -> None:
    """Export cases, newest first, one row per case (CSV: UTF-8 with BOM; JSON: a list of objects)."""
    flt = _filter(user, status, kind, assignee, since)

    async def work(s: AsyncSession) -> int:
        with _output(output) as stream:
            from .case_export import write_export

            return await write_export(s, stream, fmt=fmt, flt=flt, limit=limit)

    async def _export() -> int:
        async with open_database(ctx) as db, db.session() as s:
            return await work(s)

    count = run_async(_export())
    if output is not None:
        click.echo(f"exported {count} case(s) to {output}", err=True)
