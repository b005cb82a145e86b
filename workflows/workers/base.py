"""What a worker gets and gives: one task and its `WorkContext` in, one case draft out. Workers are
simulations of back-office systems (or calls to a team's own); the core stores what they return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..types import Task


@dataclass(frozen=True)
class WorkContext:
    """Who and what a task is for, decided before the worker runs (at plan time).

    `case_ref` is the reference the task's case gets when it is new (a task about a subject that has
    an open case joins that case instead); `idempotency_key` is the same for every attempt at this task
    of this message, so a back-office call made twice (a retry after a crash) can be recognised."""

    case_ref: str
    idempotency_key: str  # "<message id>:<task key>"
    platform: str
    customer_id: str
    conversation_id: int
    message_id: int


@dataclass(frozen=True)
class CaseDraft:
    kind: str
    details: dict[str, Any]
    subject_key: str | None = None
    needs_staff: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def norm_key(value: str) -> str:
    return " ".join(value.lower().split())


def task_subject(task: Task) -> str | None:
    p = task.params
    match task.kind:
        case "billing":
            return f"invoice:{norm_key(p.invoice_number or '')}"
        case "return":
            return f"product:{norm_key(p.product_name or '')}"
        case "status":
            return f"order:{norm_key(p.order_id or '')}"
    return None
