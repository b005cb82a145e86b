"""Staff commands that move a case through its lifecycle: /case-close, /case-reopen, /case-resolve,
/case-note, /case-assign and /case-release. The rules live in `bot.cases` (and the transitions in
`storage.lifecycle`); this module turns refusals into private, logged command errors. Confirmations are
private too: staff may run these in a customer's channel, and a close reason or note is not for the
customer's eyes."""

from __future__ import annotations

import logging

from workflows.text import storable

from .. import cases as case_use
from ..cases import ChangeResult
from .registry import (
    Args,
    Command,
    CommandContext,
    CommandError,
    CommandRegistry,
    CommandResult,
    Option,
    normalize_user,
)

_log = logging.getLogger(__name__)

REF_OPTION = Option("ref", "Case reference, e.g. RMA-7K3Q9P2X", required=True)


def _ref_and_text(args: Args, usage: str, *, text_required: bool = False) -> tuple[str, str]:
    """The reference and the free text after it, taken from the raw text so quotes and apostrophes in a
    note or reason survive."""
    ref, _, rest = (args.raw or " ".join(args.positional)).strip().partition(" ")
    ref, rest = ref.strip(), storable(rest.strip())
    if not ref or (text_required and not rest):
        raise CommandError(f"Usage: {usage}")
    return ref, rest


async def _apply(ctx: CommandContext, action: str, ref: str, text: str | None) -> ChangeResult:
    try:
        return await ctx.services.cases.change(action, ref, ctx.caller, text)
    except case_use.CaseNotFound as exc:
        raise CommandError(f"No case {exc.ref.strip()[:40]} exists.") from None
    except case_use.CaseError as exc:
        raise CommandError(_sentence(str(exc))) from None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _done(text: str, done: ChangeResult) -> CommandResult:
    return CommandResult(text=text, title=f"Case {done.case.ref}", ephemeral=True, data={"case": done.case.as_json()})


def _status(done: ChangeResult) -> str:
    return done.case.status.replace("_", " ")


async def close_command(ctx: CommandContext, args: Args) -> CommandResult:
    ref, reason = _ref_and_text(args, "/case-close REF [reason]")
    done = await _apply(ctx, "close", ref, reason)
    return _done(f"Closed case {done.case.ref}" + (f": {reason}" if reason else "."), done)


async def reopen_command(ctx: CommandContext, args: Args) -> CommandResult:
    ref, note = _ref_and_text(args, "/case-reopen REF [note]")
    done = await _apply(ctx, "reopen", ref, note)
    return _done(f"Reopened case {done.case.ref}; it is {_status(done)}.", done)


async def resolve_command(ctx: CommandContext, args: Args) -> CommandResult:
    ref, note = _ref_and_text(args, "/case-resolve REF [note]")
    done = await _apply(ctx, "resolve", ref, note)
    return _done(f"Marked case {done.case.ref} resolved.", done)


async def note_command(ctx: CommandContext, args: Args) -> CommandResult:
    ref, text = _ref_and_text(args, "/case-note REF text", text_required=True)
    done = await _apply(ctx, "note", ref, text)
    return _done(f"Added an internal note to case {done.case.ref} (staff only).", done)


async def assign_command(ctx: CommandContext, args: Args) -> CommandResult:
    ref, target = _ref_and_text(args, "/case-assign REF @staff")
    user_id = normalize_user(target.split()[0]) if target else ctx.caller.user_id  # no one named: take it
    if not user_id or len(user_id) > 100:
        raise CommandError("Usage: /case-assign REF @staff")
    # A bare id is on the caller's platform (a mention never carries a colon).
    done = await _apply(ctx, "assign", ref, f"{ctx.caller.platform}:{user_id}")
    return _done(f"Assigned case {done.case.ref} to {done.case.assignee}; it is {_status(done)}.", done)


async def release_command(ctx: CommandContext, args: Args) -> CommandResult:
    ref, note = _ref_and_text(args, "/case-release REF [note]")
    done = await _apply(ctx, "release", ref, note)
    return _done(f"Released case {done.case.ref}: the bot answers in its thread again.", done)


def register(registry: CommandRegistry) -> None:
    registry.add(
        Command(
            "case-close",
            "Close a case (staff)",
            "/case-close REF [reason]",
            close_command,
            options=(REF_OPTION, Option("reason", "Why it is closed", rest=True)),
        )
    )
    registry.add(
        Command(
            "case-reopen",
            "Reopen a resolved or closed case (staff)",
            "/case-reopen REF",
            reopen_command,
            options=(REF_OPTION, Option("note", "Why it is reopened", rest=True)),
        )
    )
    registry.add(
        Command(
            "case-resolve",
            "Mark a case resolved (staff)",
            "/case-resolve REF [note]",
            resolve_command,
            options=(REF_OPTION, Option("note", "How it was resolved", rest=True)),
        )
    )
    registry.add(
        Command(
            "case-note",
            "Add an internal note to a case (staff)",
            "/case-note REF text",
            note_command,
            options=(REF_OPTION, Option("text", "The note (never shown to the customer)", required=True, rest=True)),
        )
    )
    registry.add(
        Command(
            "case-assign",
            "Assign a case to a staff member (staff)",
            "/case-assign REF @staff",
            assign_command,
            options=(REF_OPTION, Option("staff", "Who takes the case", kind="user")),
        )
    )
    registry.add(
        Command(
            "case-release",
            "Hand a claimed case back to the bot (staff)",
            "/case-release REF",
            release_command,
            options=(REF_OPTION, Option("note", "Why it is released", rest=True)),
        )
    )
