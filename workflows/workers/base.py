"""What a worker gets and gives: one task in, one case draft out. Workers are pure simulations of
back-office systems; the pipeline stores what they return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..types import Task


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
