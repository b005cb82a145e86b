"""Button clicks and modal submits from every platform (`Interaction`) → case changes and ratings.

Staff buttons (Claim, Close, Note, Release) are for staff only: anyone else gets a private refusal and
nothing changes (the attempt is logged). A feedback button is for the case's customer only; their
click is stored as a `rated` case event and the case's one rating (a later click replaces it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from adapters.platform import Interaction, InteractionReply
from storage import cases as case_store
from storage import staff as staff_store
from storage.db import Database
from storage.models import CaseEvent
from workflows import telemetry

from .. import cases as case_use
from ..cases import CaseService
from .cards import CARD_ACTIONS, RATE

_log = logging.getLogger(__name__)

IsStaff = Callable[[str, str, tuple[str, ...]], bool]
REFUSED = "Sorry, only the support team can use these buttons."
NOT_YOURS = "Only the customer of this case can rate it."
THANKS = "Thanks for your feedback!"
DONE = {
    "case_claim": "You claimed {ref}; the bot stays quiet in that thread until you close or release it.",
    "case_close": "Closed {ref}. The customer gets a closing message.",
    "case_note": "Added an internal note to {ref}.",
    "case_release": "Released {ref}; the bot answers in that thread again.",
}


async def handle_interaction(
    db: Database, cases: CaseService, interaction: Interaction, *, is_staff: IsStaff, rating_scale: str
) -> InteractionReply:
    """Carry out one click or submit; the reply is shown privately to the person who clicked."""
    if interaction.action == RATE:
        return await _rate(db, interaction, rating_scale)
    if interaction.action not in CARD_ACTIONS:
        _log.warning("unknown interaction %r from %s:%s", interaction.action, interaction.platform, interaction.user_id)
        return InteractionReply("That button is no longer supported.", ok=False)
    ref = interaction.value
    actor = f"{interaction.platform}:{interaction.user_id}"
    if not is_staff(interaction.platform, interaction.user_id, interaction.role_ids):
        _log.warning("refused %s of case %s to %s: not staff", interaction.action, ref[:40], actor)
        return InteractionReply(REFUSED, ok=False)
    verb = interaction.action.removeprefix("case_")
    who = case_use.Actor(interaction.platform, interaction.user_id, is_staff=True)
    try:
        done = await cases.change(verb, ref, who, interaction.text or None)
    except case_use.CaseError as exc:
        text = str(exc).rstrip(".")
        _log.info("%s of case %s by %s refused: %s", verb, ref[:40], actor, text)
        return InteractionReply(text[:1].upper() + text[1:] + ".", ok=False)
    _log.info("case=%s %s by %s (button)", done.case.ref, verb, actor)
    return InteractionReply(DONE[interaction.action].format(ref=done.case.ref))


async def _rate(db: Database, interaction: Interaction, scale: str) -> InteractionReply:
    ref, _, score_text = interaction.value.rpartition(":")
    if not score_text.isdigit() or not 1 <= int(score_text) <= 5:
        return InteractionReply("That rating is not valid.", ok=False)
    score = int(score_text)
    async with db.write() as s:
        case = await case_store.get_case(s, ref)
        if case is None or case.platform != interaction.platform or case.customer_id != interaction.user_id:
            _log.warning(
                "refused a rating of case %s by %s:%s: not the case's customer",
                ref[:40],
                interaction.platform,
                interaction.user_id,
            )
            return InteractionReply(NOT_YOURS, ok=False)
        await staff_store.rate(s, case_id=case.id, customer_id=case.customer_id, score=score, scale=scale)
        s.add(
            CaseEvent(case_id=case.id, action="rated", actor=f"{case.platform}:{case.customer_id}", note=f"{score}/5")
        )
    telemetry.RATINGS.labels(str(score)).inc()
    _log.info("case=%s rated %d/5 by its customer", ref, score)
    return InteractionReply(THANKS)
