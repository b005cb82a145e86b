"""/console: a one-time sign-in link to the staff web console, shown privately (staff only)."""

from __future__ import annotations

import logging
from datetime import timedelta

from storage import console as console_store
from storage.console import StaffIdentity

from .registry import Args, Command, CommandContext, CommandError, CommandRegistry, CommandResult

_log = logging.getLogger(__name__)

LINK_MINUTES = 10
DEFAULT_PORT = 3000  # `supportbot run`'s; SUPPORTBOT_PUBLIC_URL is the address to set in production


async def console_command(ctx: CommandContext, args: Args) -> CommandResult:
    caller, settings = ctx.caller, ctx.services.settings
    if caller.platform not in ("slack", "discord"):
        raise CommandError("In a terminal, run `supportbot console link --user slack:ID` instead.")
    roles: tuple[str, ...] = ()
    if caller.platform == "discord" and caller.user_id not in settings.staff_discord_user_ids:
        # Staff through a Discord role, which the console cannot look up later: the session keeps the
        # staff roles configured now, and ends if they are all removed from the settings.
        roles = tuple(settings.staff_discord_role_ids)
    staff = StaffIdentity(caller.platform, caller.user_id, roles)
    async with ctx.services.db.write() as s:
        token = await console_store.create_link(s, staff, ttl=timedelta(minutes=LINK_MINUTES))
    base = (settings.public_url or f"http://127.0.0.1:{DEFAULT_PORT}").rstrip("/")
    _log.info("console: sign-in link made for %s from chat", staff.actor)
    url = f"{base}/console/signin?token={token}"
    return CommandResult(
        text=f"Your sign-in link to the staff console (works once, for {LINK_MINUTES} minutes):\n{url}",
        title="Staff console",
        ephemeral=True,
        data={"url": url},
    )


def register(registry: CommandRegistry) -> None:
    registry.add(
        Command(
            "console",
            "A one-time sign-in link to the staff web console (staff)",
            "/console",
            console_command,
            staff_only=True,
        )
    )
