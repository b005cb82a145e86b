"""What a back office gets and gives: one task and its context in, one `Outcome` out.

    BackOffice.handle(task, ctx) -> Outcome

A back office carries out billing, return and order-status tasks: the simulation (a labelled demo),
the team's systems over a signed webhook, the staff (every task a case for a person), or an
in-process connector installed under the `supportbot.backoffice` entry point group. A back office
does not raise when its system fails: it returns an outcome that needs staff, so the customer is
told a person will follow up instead of being given an invented status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..types import Task
from ..workers.base import WorkContext

# Task kinds a back office handles; technical problems and hand-offs go to staff as they are.
BACKOFFICE_KINDS = ("billing", "return", "status")

# The task fields each kind sends (`params`) and the detail fields its case shows.
PARAM_FIELDS: dict[str, tuple[str, ...]] = {
    "billing": ("invoice_number", "concern"),
    "return": ("product_name", "reason_for_return"),
    "status": ("order_id",),
}


# Who a task is for and the case it will be stored as (decided before the call): the workers' context.
TaskContext = WorkContext


@dataclass(frozen=True)
class Outcome:
    """A back office's answer: the case's details, an optional text for the customer, whether a person
    must take the case, and which back office answered (`source`, also written into the details)."""

    details: dict[str, Any]
    source: str
    message: str | None = None
    needs_staff: bool = False


@runtime_checkable
class BackOffice(Protocol):
    """The interface of every mode and connector. `name` is the `source` written into case details."""

    name: str

    async def handle(self, task: Task, ctx: TaskContext) -> Outcome: ...


def task_params(task: Task) -> dict[str, str]:
    """The task's fields for its kind, as sent to a back office and kept in its case."""
    values = task.params.model_dump()
    return {name: str(values[name]).strip() for name in PARAM_FIELDS.get(task.kind, ()) if values.get(name) is not None}


def needs_staff(task: Task, *, source: str, message: str | None = None, error: str | None = None) -> Outcome:
    """The outcome of a task nobody could carry out automatically: its own fields, and a person to follow up."""
    details: dict[str, Any] = dict(task_params(task))
    if error:
        details["backoffice_error"] = error
    return Outcome(details=details, source=source, message=message, needs_staff=True)
