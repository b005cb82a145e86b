"""Staff commands that move a case through its lifecycle: /case-close, /case-reopen, /case-resolve,
/case-note and /case-assign. The transitions and their rules live in `storage.lifecycle`; this module
turns its refusals into private, logged command errors. Confirmations are private too: staff may run
these in a customer's channel, and a close reason or note is not for the customer's eyes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases as case_store
from storage import lifecycle
from storage.models import Case
from workflows.text import storable

from .cases import case_json
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


async def _apply(ctx: CommandContext, change: Callable[[AsyncSession], Awaitable[Case]]) -> Case:
    try:
        async with ctx.services.db.write() as s:
            return await change(s)
    except lifecycle.CaseNotFound as exc:
        raise CommandError(f"No case {exc.ref.strip()[:40]} exists.") from None
    except lifecycle.CaseError as exc:
        raise CommandError(_sentence(str(exc))) from None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _done(text: str, case: Case) -> CommandResult:
    return CommandResult(text=text, title=f"Case {case.ref}", ephemeral=True, data={"case": case_json(case)})


async def close_command(ctx: CommandContext, args: Args) -> CommandResult:
    ref, reason = _ref_and_text(args, "/case-close REF [reason]")
    case = await _apply(ctx, lambda s: lifecycle.close_case(s, ref=ref, actor=ctx.caller.actor, reason=reason))
    return _done(f"Closed case {case.ref}" + (f": {reason}" if reason else "."), case)


async def reopen_command(ctx: CommandContext, args: Args) -> CommandResult:
    ref, note = _ref_and_text(args, "/case-reopen REF [note]")
    case = await _apply(ctx, lambda s: lifecycle.reopen_case(s, ref=ref, actor=ctx.caller.actor, note=note))
    return _done(f"Reopened case {case.ref}; it is {case.status.replace('_', ' ')}.", case)


async def resolve_command(ctx: CommandContext, args: Args) -> CommandResult:
    ref, note = _ref_and_text(args, "/case-resolve REF [note]")
    case = await _apply(ctx, lambda s: lifecycle.resolve_case(s, ref=ref, actor=ctx.caller.actor, note=note))
    return _done(f"Marked case {case.ref} resolved.", case)


async def note_command(ctx: CommandContext, args: Args) -> CommandResult:
    ref, text = _ref_and_text(args, "/case-note REF text", text_required=True)

    async def add(s: AsyncSession) -> Case:
        await lifecycle.add_case_note(s, ref=ref, actor=ctx.caller.actor, text=text)
        case = await case_store.get_case(s, ref)
        assert case is not None
        return case

    case = await _apply(ctx, add)
    return _done(f"Added an internal note to case {case.ref} (staff only).", case)


def _may_be_staff(ctx: CommandContext, user_id: str) -> bool:
    """False only when the settings say for certain that this user is not staff (a Discord member may
    be staff through a role we cannot see from an id alone)."""
    settings, platform = ctx.services.settings, ctx.caller.platform
    if platform == "slack":
        return user_id in settings.staff_slack_user_ids
    if platform == "discord":
        return user_id in settings.staff_discord_user_ids or bool(settings.staff_discord_role_ids)
    return True


async def assign_command(ctx: CommandContext, args: Args) -> CommandResult:
    ref, target = _ref_and_text(args, "/case-assign REF @staff")
    user_id = normalize_user(target.split()[0]) if target else ctx.caller.user_id  # no one named: take it
    if not user_id or len(user_id) > 100:
        raise CommandError("Usage: /case-assign REF @staff")
    if not _may_be_staff(ctx, user_id):
        _log.warning("refused assigning %s to %s by %s: not staff", ref[:40], user_id[:40], ctx.caller.actor)
        raise CommandError(f"{user_id} is not on the support staff list, so cases cannot be assigned to them.")
    assignee = f"{ctx.caller.platform}:{user_id}"
    case = await _apply(ctx, lambda s: lifecycle.assign_case(s, ref=ref, assignee=assignee, actor=ctx.caller.actor))
    return _done(f"Assigned case {case.ref} to {assignee}; it is {case.status.replace('_', ' ')}.", case)


def register(registry: CommandRegistry) -> None:
    registry.add(Command("case-close", "Close a case (staff)", "/case-close REF [reason]", close_command,
                         options=(REF_OPTION, Option("reason", "Why it is closed", rest=True))))
    registry.add(Command("case-reopen", "Reopen a resolved or closed case (staff)", "/case-reopen REF",
                         reopen_command, options=(REF_OPTION, Option("note", "Why it is reopened", rest=True))))
    registry.add(Command("case-resolve", "Mark a case resolved (staff)", "/case-resolve REF [note]",
                         resolve_command, options=(REF_OPTION, Option("note", "How it was resolved", rest=True))))
    registry.add(Command("case-note", "Add an internal note to a case (staff)", "/case-note REF text", note_command,
                         options=(REF_OPTION, Option("text", "The note (never shown to the customer)",
                                                     required=True, rest=True))))
    registry.add(Command("case-assign", "Assign a case to a staff member (staff)", "/case-assign REF @staff",
                         assign_command, options=(REF_OPTION, Option("staff", "Who takes the case", kind="user"))))
