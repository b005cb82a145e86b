"""The case actions of the console's forms: claim, assign, note, close, reopen. Each is the use case chat
and the CLI run (`bot.cases.CaseService.change`, with every case-change effect), done by the signed-in
staff member; this module only maps a form to it and a refusal to a message for the page."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from storage.console import StaffIdentity

from ..cases import Actor, CaseError, CaseService

_log = logging.getLogger(__name__)

ACTIONS = ("claim", "assign", "note", "close", "reopen")
MAX_TEXT = 4000


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


async def change(cases: CaseService, action: str, ref: str, staff: StaffIdentity, text: str = "") -> Outcome:
    """Run one case action; a refusal (closed twice, unknown case, not staff …) is a message, not an error."""
    if action not in ACTIONS:
        return Outcome(False, "Unknown action.")
    text = text.replace("\x00", "").strip()[:MAX_TEXT]
    actor = Actor(staff.platform, staff.user_id, is_staff=True)  # the session was checked against the policy
    try:
        result = await cases.change(action, ref, actor, text or None)
    except CaseError as exc:
        _log.info("console: %s %s by %s refused: %s", action, ref[:40], staff.actor, exc)
        message = str(exc)
        return Outcome(False, message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."))
    return Outcome(True, f"{action} of case {result.case.ref} recorded.")
