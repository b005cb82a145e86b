"""Domain types shared by the router, orchestrator, workers, synthesizer and FAQ pipeline.

Structured data passes between steps as these pydantic models, never as scraped text.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

# Defined apart (no pydantic) for the offline router; re-exported here with the other domain types.
from .routes import ROUTES as ROUTES
from .routes import Route as Route

# Routes whose requests the orchestrator turns into back-office tasks.
ACTION_ROUTES: tuple[Route, ...] = ("billing", "return", "status")
_ROUTE_NAMED: dict[str, Route] = {r: r for r in ROUTES}

TaskKind = Literal["billing", "return", "status", "technical", "human"]

# Parameters each task kind needs before its worker can act.
REQUIRED_PARAMS: dict[str, tuple[str, ...]] = {
    "billing": ("invoice_number",),
    "return": ("product_name", "reason_for_return"),
    "status": ("order_id",),
    "technical": (),
    "human": (),
}


def coerce_route(value: str | None) -> Route:
    """Map any label to a known route; an unknown label falls back to `general` instead of raising."""
    label = (value or "").strip().lower()
    aliases = {
        "returns": "return",
        "refund": "return",
        "order_status": "status",
        "tech": "technical",
        "agent": "human",
        "handoff": "human",
        "invoice": "billing",
    }
    return _ROUTE_NAMED.get(aliases.get(label, label), "general")


def coerce_routes(value: object) -> object:
    """A model's route list, cleaned: known labels only, no repeats, never empty."""
    if isinstance(value, list):
        return list(dict.fromkeys(coerce_route(str(v)) for v in value)) or ["general"]
    return value


# The route list as models return it (the router's and the orchestrator's answers).
RouteList = Annotated[list[Route], BeforeValidator(coerce_routes)]


class TaskParams(BaseModel):
    """Every parameter any worker can use; a task fills the ones of its kind."""

    invoice_number: str | None = None
    concern: str | None = None
    product_name: str | None = None
    reason_for_return: str | None = None
    order_id: str | None = None
    issue: str | None = None


class Task(BaseModel):
    kind: TaskKind
    params: TaskParams = Field(default_factory=TaskParams)
    asked: int = 0  # how many replies have asked the customer for what it misses

    def missing(self) -> list[str]:
        values = self.params.model_dump()
        return [name for name in REQUIRED_PARAMS[self.kind] if not (values.get(name) or "").strip()]


class Plan(BaseModel):
    """What the orchestrator decided for one customer message."""

    routes: list[Route] = Field(default_factory=lambda: list[Route](["general"]))
    tasks: list[Task] = Field(default_factory=list)
    case_refs: dict[str, str] = Field(default_factory=dict)  # task key → its case's reference, decided before the work
    confidence: float = 1.0  # how sure the routing was (0..1)
    clarify: bool = False  # too unsure to act: nothing is opened, the reply asks what the message is about
    off_topic: bool = False  # a question about the world (weather, trivia, small talk): a short friendly answer

    @property
    def route(self) -> Route:
        return self.routes[0] if self.routes else "general"


class CaseSummary(BaseModel):
    """A case as the reply and `ask --json` show it."""

    ref: str
    kind: str
    status: str = "open"
    details: dict[str, object] = Field(default_factory=dict)
    new: bool = True  # False when an open case of the same request was found and reused
    needs_staff: bool = False  # no back office could settle it: a person follows up


class PendingSummary(BaseModel):
    kind: str
    missing: list[str]
    params: dict[str, object] = Field(default_factory=dict)
    asked: int = 1  # the reply that carries it asks for the n-th time


class GeneralAnswer(BaseModel):
    """An answer to a general question taken from a stored FAQ, with its source."""

    question: str
    answer: str
    source_title: str = ""
    source_url: str = ""
