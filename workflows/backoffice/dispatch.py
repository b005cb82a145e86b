"""Which back office carries out each task kind, and the case draft each outcome becomes.

`SUPPORTBOT_BACKOFFICE` picks the mode for every kind; `SUPPORTBOT_BACKOFFICE_BILLING`, `_RETURN`
and `_STATUS` override it per kind. Technical problems and hand-offs open their cases as before, in every mode.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import telemetry
from ..types import Task
from ..workers import handoff, technical
from ..workers.base import CaseDraft, task_subject
from . import connectors
from .base import BACKOFFICE_KINDS, BackOffice, TaskContext, needs_staff
from .simulated import DEMO_NOTICE, SimulatedBackOffice
from .staff import StaffBackOffice

_log = logging.getLogger(__name__)

# Modes that call nothing outside this process: a retry may run them again with no one noticing.
LOCAL_MODES = ("simulated", "staff")


@dataclass(frozen=True)
class BackOfficeConfig:
    mode: str = "simulated"
    per_kind: Mapping[str, str | None] = field(default_factory=dict)  # kind → mode, None: `mode`
    url: str | None = None
    secret: str | None = None
    timeout_s: float = 10.0

    def mode_of(self, kind: str) -> str:
        return self.per_kind.get(kind) or self.mode


class BackOffices:
    """The back office of each kind (one instance per mode, shared by the kinds that use it)."""

    def __init__(self, config: BackOfficeConfig | None = None) -> None:
        self.config = config or BackOfficeConfig()
        made: dict[str, BackOffice] = {}
        self.modes = {kind: self.config.mode_of(kind) for kind in BACKOFFICE_KINDS}
        for mode in dict.fromkeys(self.modes.values()):
            made[mode] = self._make(mode)
        self._offices = {kind: made[mode] for kind, mode in self.modes.items()}
        self._made = list(made.values())

    def _make(self, mode: str) -> BackOffice:
        match mode:
            case "simulated":
                return SimulatedBackOffice()
            case "staff":
                return StaffBackOffice()
            case "webhook":
                from .webhook import WebhookBackOffice

                if not self.config.url or not self.config.secret:
                    raise connectors.ConnectorError(
                        "the webhook back office needs SUPPORTBOT_BACKOFFICE_URL and SUPPORTBOT_BACKOFFICE_SECRET"
                    )
                return WebhookBackOffice(
                    url=self.config.url, secret=self.config.secret, timeout_s=self.config.timeout_s
                )
        return connectors.load(mode)

    def office(self, kind: str) -> BackOffice:
        """The back office that carries out tasks of `kind` (billing, return, status)."""
        return self._offices[kind]

    @property
    def simulated(self) -> bool:
        """Some kind is answered by the simulation (the demo label is shown)."""
        return "simulated" in self.modes.values()

    @property
    def notice(self) -> str | None:
        """The demo label shown in the chat banner and `supportbot run`'s start line, when some kind is simulated."""
        if not self.simulated:
            return None
        kinds = [k for k, m in self.modes.items() if m == "simulated"]
        return DEMO_NOTICE if len(kinds) == len(self.modes) else f"{DEMO_NOTICE} (simulated: {', '.join(kinds)})"

    def calls_out(self, kind: str) -> bool:
        """The kind's back office acts outside this process (its case reference must be kept before the call)."""
        return self.modes.get(kind, "simulated") not in LOCAL_MODES

    def describe(self) -> str:
        """`simulated`, `webhook`, … — or `billing=webhook,return=staff,status=simulated` when mixed."""
        if len(set(self.modes.values())) == 1:
            return next(iter(self.modes.values()))
        return ",".join(f"{kind}={mode}" for kind, mode in self.modes.items())

    async def aclose(self) -> None:
        for office in self._made:
            close = getattr(office, "aclose", None)
            if close is not None:
                await close()

    async def draft(self, task: Task, ctx: TaskContext) -> CaseDraft:
        """Carry out one task; its case as the pipeline stores it."""
        if task.kind == "technical":
            return await technical.handle(task, ctx)
        if task.kind == "human":
            return await handoff.handle(task, ctx)
        office = self._offices[task.kind]
        try:
            outcome = await office.handle(task, ctx)
        except Exception as exc:  # an in-process connector's bug is a case for staff, not a lost message
            _log.exception(
                "case=%s kind=%s the %s back office raised; the case goes to staff",
                ctx.case_ref,
                task.kind,
                office.name,
            )
            telemetry.BACKOFFICE_FAILURES.labels(task.kind, "error").inc()
            outcome = needs_staff(task, source=office.name, error=f"back office error ({type(exc).__name__})")
        telemetry.BACKOFFICE_TASKS.labels(
            outcome.source, task.kind, "needs_staff" if outcome.needs_staff else "done"
        ).inc()
        details: dict[str, Any] = {**outcome.details, "source": outcome.source}
        if outcome.message:
            details["backoffice_message"] = outcome.message
        return CaseDraft(
            kind=task.kind, details=details, subject_key=task_subject(task), needs_staff=outcome.needs_staff
        )
