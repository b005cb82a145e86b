"""/customer-erase PLATFORM:ID: a staff member erases a customer's data (right to erasure).

Erasing cannot be undone, so the first call only says what would be erased and gives a confirmation
code; the erasure runs when the same staff member repeats the command with `confirm=CODE` on the same
day. The code binds the caller, the customer and the day, so it cannot be typed ahead blindly or reused
for someone else. Every answer is private."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from ..customers import CustomerId, erase_customer, erasure_preview
from .registry import Args, Command, CommandContext, CommandError, CommandRegistry, CommandResult, Option

_log = logging.getLogger(__name__)

USAGE = "/customer-erase PLATFORM:ID (e.g. slack:U0123ABCD)"


def confirmation_code(actor: str, who: CustomerId, *, today: str | None = None) -> str:
    day = today or datetime.now(UTC).date().isoformat()
    return hashlib.sha256(f"{actor}|{who}|{day}".encode()).hexdigest()[:6]


async def erase_command(ctx: CommandContext, args: Args) -> CommandResult:
    if not args.positional:
        raise CommandError(f"Usage: {USAGE}")
    try:
        who = CustomerId.parse(args.positional[0])
    except ValueError as exc:
        raise CommandError(f"{exc}. Usage: {USAGE}") from None
    db, actor = ctx.services.db, ctx.caller.actor
    code = confirmation_code(actor, who)
    given = (args.get("confirm") or "").strip().lower()
    if given != code:
        messages, cases = await erasure_preview(db, who)
        wrong = "That confirmation code is not valid (codes last one day). " if given else ""
        return CommandResult(
            text=f"{wrong}Erasing {who} removes the text of {messages} message(s) and the details of {cases} "
            f"case(s); references, statuses and times stay. This cannot be undone. To erase, run: "
            f"`/customer-erase {who} confirm={code}`",
            title="Confirm erasure",
            ephemeral=True,
            ok=not given,
            data={"customer": str(who), "messages": messages, "cases": cases, "confirm": code},
        )
    erased = await erase_customer(db, who, actor=actor)
    return CommandResult(
        text=f"Erased {who}: {erased.messages} message(s), {erased.cases} case(s). An `erased` event records "
        f"that you did it.",
        title="Customer erased",
        ephemeral=True,
        data={"customer": str(who), "messages": erased.messages, "cases": erased.cases},
    )


def register(registry: CommandRegistry) -> None:
    registry.add(
        Command(
            "customer-erase",
            "Erase a customer's data (staff; asks to confirm)",
            USAGE,
            erase_command,
            options=(
                Option("customer", "PLATFORM:ID, e.g. slack:U0123ABCD", required=True),
                Option("confirm", "The code the first call gave", positional=False),
            ),
        )
    )
