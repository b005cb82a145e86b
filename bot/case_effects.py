"""The effects every case change runs in its own transaction (see `bot.cases`): one list for the bot
(`bot.wiring`) and the command line (`supportbot cases …`) alike, so a change made anywhere has the same
consequences. Add an effect by appending it in `effects()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cases import CaseService, Effect

if TYPE_CHECKING:
    from storage.db import Database

    from .settings import Settings


def effects(settings: Settings) -> list[Effect]:
    """The effects of a case change, in the order they run (none yet)."""
    return []


def case_service(db: Database, settings: Settings) -> CaseService:
    """The case use cases with the settings' staff policy and SLA, and every effect."""
    return CaseService(db, settings, effects=effects(settings))
