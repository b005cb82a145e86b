"""/case and /cases: read the case history. Staff see every case; a customer sees only their own,
without internal notes (note events and internal transcript messages are staff-only)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from storage import cases as case_store
from storage import inbox
from storage.cases import CaseFilter
from storage.models import Case, CaseEvent, Message

from .registry import (
    Args,
    Caller,
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
STATUSES = ("open", "in_progress", "resolved", "closed")
KINDS = ("billing", "return", "status", "technical", "human")


def parse_date(value: str) -> datetime:
    """`2026-11-01` or `2026-11-01T09:30[+02:00]` → an aware datetime (naive means UTC)."""
    moment = datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def case_json(case: Case) -> dict[str, Any]:
    return {"ref": case.ref, "kind": case.kind, "status": case.status, "platform": case.platform,
            "customer_id": case.customer_id, "conversation_id": case.conversation_id, "assignee": case.assignee,
            "needs_staff": case.needs_staff, "details": case.details,
            "created_at": case.created_at.isoformat(), "updated_at": case.updated_at.isoformat()}


def event_json(event: CaseEvent) -> dict[str, Any]:
    return {"action": event.action, "actor": event.actor, "note": event.note, "at": event.created_at.isoformat()}


def message_json(message: Message) -> dict[str, Any]:
    return {"role": message.role, "author": message.author_id, "text": message.text, "internal": message.internal,
            "at": message.created_at.isoformat()}


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _summary_line(case: Case) -> str:
    d = case.details or {}
    subject = d.get("invoice_number") or d.get("product_name") or d.get("order_id") or d.get("issue") or ""
    return f"{case.kind}{' · ' + str(subject)[:60] if subject else ''}"


def can_view(caller: Caller, case: Case) -> bool:
    return caller.is_staff or (case.platform == caller.platform and case.customer_id == caller.user_id)


async def load_case_view(ctx: CommandContext, ref: str) -> dict[str, Any]:
    """A case with its events and transcript, as the caller may see it (internal notes only for staff)."""
    async with ctx.services.db.session() as s:
        case = await case_store.get_case(s, ref)
        if case is None or not can_view(ctx.caller, case):
            if case is not None:
                _log.warning("refused case=%s to %s: not their case", case.ref, ctx.caller.actor)
            # The same answer whether it does not exist or is someone else's: nothing leaks.
            raise CommandError(f"No case {ref[:40]} found among the cases you can see.")
        events = await case_store.case_events(s, case.id)
        messages = await inbox.transcript(s, case.conversation_id, include_internal=ctx.caller.is_staff)
    if not ctx.caller.is_staff:
        events = [e for e in events if e.action != "note"]
    return {"case": case_json(case), "events": [event_json(e) for e in events],
            "transcript": [message_json(m) for m in messages]}


TRANSCRIPT_LINES = 20


def _transcript_line(m: dict[str, Any]) -> str:
    who = m["role"] + (f" {m['author']}" if m["role"] == "staff" else "") + (" · internal" if m["internal"] else "")
    return f"{m['at'][:16].replace('T', ' ')} [{who}] {m['text'][:300]}"


def render_case(view: dict[str, Any]) -> CommandResult:
    case = view["case"]
    fields = [("Status", case["status"]), ("Kind", case["kind"]), ("Customer", f"{case['platform']}:{case['customer_id']}"),
              ("Opened", case["created_at"][:16].replace("T", " "))]
    if case.get("assignee"):
        fields.append(("Assignee", case["assignee"]))
    fields.extend((k.replace("_", " ").capitalize(), str(v)) for k, v in case["details"].items() if v not in ("", None, []))
    history = "\n".join(f"• {e['at'][:16].replace('T', ' ')} {e['action']} by {e['actor']}"
                        + (f": {e['note']}" if e.get("note") else "") for e in view["events"])
    transcript = "\n".join(_transcript_line(m) for m in view["transcript"][-TRANSCRIPT_LINES:])
    if len(view["transcript"]) > TRANSCRIPT_LINES:
        transcript = f"(last {TRANSCRIPT_LINES} of {len(view['transcript'])} messages)\n" + transcript
    items = [ResultItem(title=f"Case {case['ref']}", fields=fields),
             ResultItem(title="History", body=history or "—"),
             ResultItem(title="Transcript", body=transcript or "—")]
    text = "\n".join([f"**Case {case['ref']}**"] + [f"{k}: {v}" for k, v in fields]
                     + ["", "**History**", history or "—", "", "**Transcript**", transcript or "—"])
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
    if not ctx.caller.is_staff:
        if user and user != ctx.caller.user_id:
            _log.warning("refused /cases of %s to %s: not their cases", user[:40], ctx.caller.actor)
            raise CommandError("You can only list your own cases.")
        return CaseFilter(platform=ctx.caller.platform, customer_id=ctx.caller.user_id, status=status, kind=kind,
                          since=since)
    return CaseFilter(customer_id=user, status=status, kind=kind, since=since)


def render_case_list(cases: list[Case], *, total: int, page: int) -> CommandResult:
    pages = max(1, -(-total // PAGE_SIZE))
    title = f"Cases — {total} found" + (f" (page {page} of {pages})" if pages > 1 else "")
    items = [ResultItem(title=f"{c.ref} · {c.status}", body=_summary_line(c),
                        footer=f"{c.platform}:{c.customer_id} · {_when(c.created_at)}") for c in cases]
    lines = [f"**{title}**"] + [f"• `{c.ref}` {c.status} — {_summary_line(c)} — {_when(c.created_at)}" for c in cases]
    if not cases:
        lines.append("No cases match.")
    if page < pages:
        lines.append(f"More: add page={page + 1}")
    elif page > pages:
        lines.append(f"There are only {pages} page(s).")
    return CommandResult(text="\n".join(lines), title=title, items=items, ephemeral=True,
                         data={"total": total, "page": page, "pages": pages, "cases": [case_json(c) for c in cases]})


async def case_command(ctx: CommandContext, args: Args) -> CommandResult:
    if not args.positional:
        raise CommandError("Usage: /case REF — for example /case RMA-7K3Q9P2X")
    return render_case(await load_case_view(ctx, args.positional[0]))


async def cases_command(ctx: CommandContext, args: Args) -> CommandResult:
    flt = parse_filter(ctx, args)
    try:
        page = max(1, int(args.get("page", "1") or 1))
    except ValueError:
        raise CommandError("page= takes a number, for example page=2") from None
    async with ctx.services.db.session() as s:
        total = await case_store.count_cases(s, flt)
        rows = await case_store.list_cases(s, flt, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_case_list(rows, total=total, page=page)


def register(registry: CommandRegistry) -> None:
    registry.add(Command("case", "Show a case with its history and transcript", "/case REF", case_command,
                         options=(Option("ref", "Case reference, e.g. RMA-7K3Q9P2X", required=True),),
                         staff_only=False))
    registry.add(Command("cases", "List cases (yours, or any for staff)",
                         "/cases [@user] [status=…] [kind=…] [since=YYYY-MM-DD] [page=N]",
                         cases_command, staff_only=False,
                         options=(Option("user", "Whose cases (staff only)", kind="user"),
                                  Option("status", "open, in_progress, resolved or closed", positional=False),
                                  Option("kind", "billing, return, status, technical or human", positional=False),
                                  Option("since", "Opened on or after this date (YYYY-MM-DD)", positional=False),
                                  Option("page", "Page number", kind="integer", positional=False))))
