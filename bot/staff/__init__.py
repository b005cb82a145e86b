"""The staff loop: case cards in the staff channel, the buttons on them, human takeover, closing
messages with feedback, and timers (first-response SLA, pending-task reminders and auto-close).

    case events (any process: bot, CLI, console) ──effects──▶ staff outbox + timers (one transaction)
    StaffLoop.tick(): apply new events · schedule/fire timers · deliver the outbox through each Platform
    Platform ──Interaction──▶ interactions.handle_interaction ──▶ case change ──▶ a case event ──▶ …

Hook points for other parts of the bot: `flags.needs_staff` (a message given up after failures, or any
reason to bring a conversation to staff), `StaffLoop.quiet` (is the bot quiet in a conversation) and
`StaffLoop.staff_wrote` (a staff member wrote in a customer's thread).
"""

from .flags import flag_case, needs_staff
from .loop import StaffLoop

__all__ = ["StaffLoop", "flag_case", "needs_staff"]
