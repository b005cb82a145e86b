"""The case actions of the console's forms: claim, assign, note, close, reopen. They are the use cases
chat and the CLI run (the case lifecycle), with the signed-in staff member as the actor; this module
only maps a form to one of them and its refusal to a message for the page."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from storage import lifecycle
from storage.db import Database

_log = logging.getLogger(__name__)

ACTIONS = ("claim", "assign", "note", "close", "reopen")
MAX_TEXT = lifecycle.MAX_NOTE_CHARS


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


async def change(db: Database, action: str, ref: str, actor: str, text: str = "") -> Outcome:
    """Run one lifecycle action; a refusal (closed twice, unknown case …) is a message, not an error."""
    text = text.replace("\x00", "").strip()[:MAX_TEXT]
    try:
        async with db.write() as s:
            if action == "claim":
                case = await lifecycle.assign_case(s, ref=ref, assignee=actor, actor=actor)
                done = f"You claimed case {case.ref}."
            elif action == "assign":
                case = await lifecycle.assign_case(s, ref=ref, assignee=text, actor=actor)
                done = f"Assigned case {case.ref} to {case.assignee}."
            elif action == "note":
                await lifecycle.add_case_note(s, ref=ref, actor=actor, text=text)
                done = "Added an internal note."
            elif action == "close":
                case = await lifecycle.close_case(s, ref=ref, actor=actor, reason=text or None)
                done = f"Closed case {case.ref}."
            elif action == "reopen":
                case = await lifecycle.reopen_case(s, ref=ref, actor=actor, note=text or None)
                done = f"Reopened case {case.ref}."
            else:
                return Outcome(False, "Unknown action.")
    except lifecycle.CaseError as exc:
        _log.info("console: %s %s by %s refused: %s", action, ref[:40], actor, exc)
        text = str(exc)
        return Outcome(False, text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
    return Outcome(True, done)
