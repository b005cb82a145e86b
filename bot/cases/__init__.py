"""The case use cases, once for every entry point (CLI, chat commands, web console, staff-channel buttons):
view a case, list cases, the staff queue, and change a case. Entry points parse and render; the rules
(who may see or do what) and the transactions live here.

    STATUSES, KINDS, ACTIONS          the one definition of each
    is_staff(settings, platform, user_id, role_ids)   the staff policy
    view(db, ref, viewer=…)           -> CaseView (fields, events, the case's own transcript, paged)
    list_cases(db, flt, viewer=…)     -> CaseList (newest first, paged, with the total)
    queue(db, viewer=…)               -> CaseQueue (cases needing staff: unclaimed first, then oldest)
    change(db, action, ref, actor, text)  -> ChangeResult (claim assign release note close reopen resolve)
    CaseService(db, settings, effects=…)  the same, bound to a database, settings and effects

The modules: `access` (who: viewers, the staff policy, the refusals), `results` (what the use cases
return), `reads` (view, list, queue), `changes` (change and its effects), `service` (CaseService).
Import from the package: it is the interface.

Who: a `Viewer` is anything with `platform`, `user_id`, `is_staff` and `actor` ("platform:user_id", the
name recorded in case events); the chat commands' `Caller` is one, `Actor` builds one. Staff see and
change every case; a customer sees only their own cases, without internal notes, and changes none.

Effects in the same transaction: `change()` runs the lifecycle change, its case event and then every
effect, in order, in ONE write transaction. An effect is an async callable `(session, case, event)`:
the refreshed ORM case and the event just recorded (`event.action` is created/note/assigned/released/
closed/reopened/resolved). Use effects for what must happen if and only if the change is committed —
outbox rows (update the case card, post the closing message to the customer). The bot and the CLI
build their `CaseService` with `bot.case_effects.case_service`, whose `effects()` lists them: add an
effect there and every entry point runs it. (`change(effects=…)` takes a list directly.) An effect
that raises rolls the whole change back and the error reaches the caller; effects must not talk to
the network (write an outbox row; a worker delivers it after the commit).

Errors (all `CaseError`: the message is safe to show to the person who asked)::

    CaseError                 storage.lifecycle: a request that cannot be carried out
     ├── CaseNotFound         no case has this reference (staff)
     ├── TransitionRefused    the case's status does not allow the change
     ├── CaseNotVisible       not found or not the viewer's (the same words: nothing leaks)
     └── NotAllowed           staff only, or a customer asking for someone else's cases
"""

from __future__ import annotations

from storage.cases import STATUSES, CaseFilter
from storage.lifecycle import CaseError, CaseNotFound, TransitionRefused

from .access import Actor, CaseNotVisible, NotAllowed, Viewer, is_staff, may_be_staff
from .changes import ACTIONS, Action, Effect, change
from .reads import list_cases, queue, view
from .results import (
    KINDS,
    TRANSCRIPT_PAGE,
    CaseInfo,
    CaseList,
    CaseQueue,
    CaseView,
    ChangeResult,
    EventInfo,
    MessageInfo,
    QueueEntry,
)
from .service import CaseService

__all__ = [
    "ACTIONS",
    "KINDS",
    "STATUSES",
    "TRANSCRIPT_PAGE",
    "Action",
    "Actor",
    "CaseError",
    "CaseFilter",
    "CaseInfo",
    "CaseList",
    "CaseNotFound",
    "CaseNotVisible",
    "CaseQueue",
    "CaseService",
    "CaseView",
    "ChangeResult",
    "Effect",
    "EventInfo",
    "MessageInfo",
    "NotAllowed",
    "QueueEntry",
    "TransitionRefused",
    "Viewer",
    "change",
    "is_staff",
    "list_cases",
    "may_be_staff",
    "queue",
    "view",
]
