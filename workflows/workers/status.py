"""Order-status back office: a simulated order book. The same order id always reports the same
status, carrier, tracking number and estimate (derived from a stable hash of the id)."""

from __future__ import annotations

import hashlib

from ..types import Task
from .base import CaseDraft, WorkContext, task_subject

_CARRIERS = ("UPS", "FedEx", "DHL Express", "USPS")


def _tracking_number(carrier: str, digest: bytes) -> str:
    """A number in the carrier's own format (UPS 1Z + 16, FedEx 12 digits, DHL 10 digits, USPS 22 digits)."""
    digits = str(int.from_bytes(digest[2:14], "big")).zfill(29)
    match carrier:
        case "UPS":
            return "1Z" + digest[2:10].hex().upper()
        case "FedEx":
            return digits[:12]
        case "DHL Express":
            return digits[:10]
        case _:
            return "92" + digits[:20]


_STATES = (
    ("processing", "ships within 1 business day; delivery in 4–6 business days"),
    ("shipped", "in 3–4 business days"),
    ("in transit", "in 2–3 business days"),
    ("out for delivery", "today by 8 pm"),
    ("delivered", "already delivered"),
)


def lookup(order_id: str) -> dict[str, str]:
    order = order_id.strip().upper()
    digest = hashlib.sha256(order.encode()).digest()
    status, eta = _STATES[digest[0] % len(_STATES)]
    carrier = _CARRIERS[digest[1] % len(_CARRIERS)]
    tracking = "" if status == "processing" else _tracking_number(carrier, digest)
    return {
        "order_id": order,
        "current_status": status,
        "carrier": carrier if tracking else "",
        "tracking_number": tracking,
        "expected_delivery": eta,
    }


async def handle(task: Task, ctx: WorkContext) -> CaseDraft:
    return CaseDraft(kind="status", subject_key=task_subject(task), details=lookup(task.params.order_id or ""))
