"""/case and /cases: read the case history. Staff see every case; a customer sees only their own,
without internal notes (note events and internal transcript messages are staff-only). `/cases queue`:
the cases waiting for staff. The rules live in `bot.cases`; this module parses and renders."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from .. import cases as case_use
from ..cases import KINDS, STATUSES, CaseFilter, CaseInfo, CaseQueue
from .registry import (
    Args,
    Command,
    CommandContext,
    CommandError,
    CommandRegistry,
    CommandResult,
    Option,
    ResultItem,
    normalize_user,
)

_log = logging.getLogger(__name__)

PAGE_SIZE = 10


def parse_date(value: str) -> datetime:
    """`2026-11-01` or `2026-11-01T09:30[+02:00]` → an aware datetime (naive means UTC)."""
    moment = datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _summary_line(case: CaseInfo) -> str:
    subject = case.subject
    return f"{case.kind}{' · ' + subject[:60] if subject else ''}"


async def load_case_view(ctx: CommandContext, ref: str, *, page: int = 1) -> dict[str, Any]:
    """A case with its events and one page of its transcript, as the caller may see it."""
    try:
        return (await ctx.services.cases.view(ref, viewer=ctx.caller, page=page)).as_json()
    except case_use.CaseError as exc:
        raise CommandError(str(exc)) from None


def _transcript_line(m: dict[str, Any]) -> str:
    who = m["role"] + (f" {m['author']}" if m["role"] == "staff" else "") + (" · internal" if m["internal"] else "")
    return f"{m['at'][:16].replace('T', ' ')} [{who}] {m['text'][:300]}"


def render_case(view: dict[str, Any]) -> CommandResult:
    case = view["case"]
    fields = [
        ("Status", case["status"]),
        ("Kind", case["kind"]),
        ("Customer", f"{case['platform']}:{case['customer_id']}"),
        ("Opened", case["created_at"][:16].replace("T", " ")),
    ]
    if case.get("assignee"):
        fields.append(("Assignee", case["assignee"]))
    fields.extend(
        (k.replace("_", " ").capitalize(), str(v)) for k, v in case["details"].items() if v not in ("", None, [])
    )
    history = "\n".join(
        f"• {e['at'][:16].replace('T', ' ')} {e['action']} by {e['actor']}"
        + (f": {e['note']}" if e.get("note") else "")
        for e in view["events"]
    )
    transcript = "\n".join(_transcript_line(m) for m in view["transcript"])
    paging = view.get("transcript_page") or {}
    if paging.get("pages", 1) > 1:
        first = (paging["page"] - 1) * paging["page_size"]
        transcript = (
            f"(messages {first + 1}–{first + len(view['transcript'])} of {paging['total']}, "
            f"page {paging['page']} of {paging['pages']})\n" + transcript
        )
    items = [
        ResultItem(title=f"Case {case['ref']}", fields=fields),
        ResultItem(title="History", body=history or "—"),
        ResultItem(title="Transcript", body=transcript or "—"),
    ]
    text = "\n".join(
        [f"**Case {case['ref']}**"]
        + [f"{k}: {v}" for k, v in fields]
        + ["", "**History**", history or "—", "", "**Transcript**", transcript or "—"]
    )
    return CommandResult(text=text, title=f"Case {case['ref']}", items=items, data=view, ephemeral=True)


def parse_filter(ctx: CommandContext, args: Args) -> CaseFilter:
    status = (args.get("status") or "").lower() or None
    kind = (args.get("kind") or "").lower() or None
    # `/cases closed`, `/cases return @U123`: a bare status or kind word filters too.
    words: list[str] = []
    for word in args.positional:
        if word.lower() in STATUSES and not status:
            status = word.lower()
        elif word.lower() in KINDS and not kind:
            kind = word.lower()
        else:
            words.append(word)
    since = None
    if args.get("since"):
        try:
            since = parse_date(args.get("since") or "")
        except ValueError:
            raise CommandError("since= takes a date, for example since=2026-11-01") from None
    if status and status not in STATUSES:
        raise CommandError(f"Unknown status {status[:20]!r}; use one of: {', '.join(STATUSES)}.")
    if kind and kind not in KINDS:
        raise CommandError(f"Unknown kind {kind[:20]!r}; use one of: {', '.join(KINDS)}.")
    # A mention (`@U123`, `<@123>`) or, as Discord's user option delivers it, a bare id.
    user = args.get("user") or (words[0] if words else None)
    user = normalize_user(user) if user else None
    return CaseFilter(customer_id=user, status=status, kind=kind, since=since)


def render_case_list(cases: list[CaseInfo], *, total: int, page: int) -> CommandResult:
    pages = max(1, -(-total // PAGE_SIZE))
    title = f"Cases — {total} found" + (f" (page {page} of {pages})" if pages > 1 else "")
    items = [
        ResultItem(
            title=f"{c.ref} · {c.status}",
            body=_summary_line(c),
            footer=f"{c.platform}:{c.customer_id} · {_when(c.created_at)}",
        )
        for c in cases
    ]
    lines = [f"**{title}**"] + [f"• `{c.ref}` {c.status} — {_summary_line(c)} — {_when(c.created_at)}" for c in cases]
    if not cases:
        lines.append("No cases match.")
    if page < pages:
        lines.append(f"More: add page={page + 1}")
    elif page > pages:
        lines.append(f"There are only {pages} page(s).")
    return CommandResult(
        text="\n".join(lines),
        title=title,
        items=items,
        ephemeral=True,
        data={"total": total, "page": page, "pages": pages, "cases": [c.as_json() for c in cases]},
    )


def _page(args: Args) -> int:
    try:
        return max(1, int(args.get("page", "1") or 1))
    except ValueError:
        raise CommandError("page= takes a number, for example page=2") from None


def _age(minutes: int) -> str:
    return f"{minutes // 1440}d {minutes % 1440 // 60}h" if minutes >= 1440 else f"{minutes // 60}h {minutes % 60}m"


def render_queue(found: CaseQueue, *, page: int) -> CommandResult:
    pages = max(1, -(-found.total // PAGE_SIZE))
    title = f"Queue — {found.total} case(s) need staff" + (f" (page {page} of {pages})" if pages > 1 else "")
    rows = [e.as_json() for e in found.entries]
    lines = [f"**{title}**"]
    items = []
    for entry, row in zip(found.entries, rows, strict=True):
        c = entry.case
        state = f"claimed by {c.assignee}" if c.assignee else "unclaimed" + (" · past SLA" if entry.overdue else "")
        lines.append(f"• `{c.ref}` {state} — {_summary_line(c)} — waiting {_age(row['age_min'])}")
        items.append(
            ResultItem(
                title=f"{c.ref} · {state}",
                body=_summary_line(c),
                footer=f"{c.customer} · waiting {_age(row['age_min'])}",
            )
        )
    if not found.entries:
        lines.append("No case is waiting for staff.")
    if page < pages:
        lines.append(f"More: add page={page + 1}")
    return CommandResult(
        text="\n".join(lines),
        title=title,
        items=items,
        ephemeral=True,
        data={"total": found.total, "page": page, "pages": pages, "cases": rows},
    )


async def case_command(ctx: CommandContext, args: Args) -> CommandResult:
    if not args.positional:
        raise CommandError("Usage: /case REF [page=N] — for example /case RMA-7K3Q9P2X")
    return render_case(await load_case_view(ctx, args.positional[0], page=_page(args)))


async def cases_command(ctx: CommandContext, args: Args) -> CommandResult:
    page = _page(args)
    try:
        if [w.lower() for w in args.positional] == ["queue"]:
            found = await ctx.services.cases.queue(viewer=ctx.caller, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
            return render_queue(found, page=page)
        listed = await ctx.services.cases.list_cases(
            parse_filter(ctx, args), viewer=ctx.caller, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
    except case_use.CaseError as exc:
        raise CommandError(str(exc)) from None
    return render_case_list(listed.cases, total=listed.total, page=page)


def register(registry: CommandRegistry) -> None:
    registry.add(
        Command(
            "case",
            "Show a case with its history and transcript",
            "/case REF [page=N]",
            case_command,
            options=(
                Option("ref", "Case reference, e.g. RMA-7K3Q9P2X", required=True),
                Option("page", "Transcript page", kind="integer", positional=False),
            ),
            staff_only=False,
        )
    )
    registry.add(
        Command(
            "cases",
            "List cases (yours, or any for staff)",
            "/cases [@user] [status=…] [kind=…] [since=YYYY-MM-DD] [page=N] · /cases queue",
            cases_command,
            staff_only=False,
            options=(
                Option("user", "Whose cases (staff only)", kind="user"),
                Option("status", "open, in_progress, resolved or closed", positional=False),
                Option("kind", "billing, return, status, technical or human", positional=False),
                Option("since", "Opened on or after this date (YYYY-MM-DD)", positional=False),
                Option("page", "Page number", kind="integer", positional=False),
            ),
        )
    )
