"""`CaseService`: the case use cases bound to a database, the settings and the effects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from storage.cases import CaseFilter

from .access import Viewer, is_staff
from .changes import Effect, change
from .reads import list_cases, queue, view
from .results import TRANSCRIPT_PAGE, CaseList, CaseQueue, CaseView, ChangeResult

if TYPE_CHECKING:
    from storage.db import Database

    from ..settings import Settings


@dataclass
class CaseService:
    """The use cases bound to one database, the settings (staff policy, SLA) and the effects every
    change runs in its transaction (see the package docstring, `bot.cases`)."""

    db: Database
    settings: Settings
    effects: list[Effect] = field(default_factory=list)

    def is_staff(self, platform: str, user_id: str, role_ids: Sequence[str] = ()) -> bool:
        return is_staff(self.settings, platform, user_id, role_ids)

    async def view(self, ref: str, *, viewer: Viewer, page: int = 1, page_size: int = TRANSCRIPT_PAGE) -> CaseView:
        return await view(self.db, ref, viewer=viewer, page=page, page_size=page_size)

    async def list_cases(
        self, flt: CaseFilter = CaseFilter(), *, viewer: Viewer, limit: int | None = 50, offset: int = 0
    ) -> CaseList:
        return await list_cases(self.db, flt, viewer=viewer, limit=limit, offset=offset)

    async def queue(
        self, *, viewer: Viewer, limit: int | None = 50, offset: int = 0, now: datetime | None = None
    ) -> CaseQueue:
        return await queue(
            self.db,
            viewer=viewer,
            sla_minutes=self.settings.sla_first_response_min,
            limit=limit,
            offset=offset,
            now=now,
        )

    async def change(self, action: str, ref: str, actor: Viewer, text: str | None = None) -> ChangeResult:
        return await change(self.db, action, ref, actor, text, settings=self.settings, effects=self.effects)
