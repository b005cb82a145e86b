"""Returns back office: authorises a return and issues shipping instructions. The RMA number is the
case reference, issued once per return request (the storage layer reuses an open return of the same
product)."""

from __future__ import annotations

from ..types import Task
from .base import CaseDraft, WorkContext, task_subject

RMA_PLACEHOLDER = "{ref}"


async def handle(task: Task, ctx: WorkContext) -> CaseDraft:
    product = (task.params.product_name or "").strip().strip("'\"")
    reason = (task.params.reason_for_return or "").strip()
    return CaseDraft(
        kind="return",
        subject_key=task_subject(task),
        details={
            "product_name": product,
            "reason_for_return": reason,
            "rma_number": RMA_PLACEHOLDER,  # filled with the case reference once it is allocated
            "shipping_instructions": (
                f"Pack the {product} with all accessories, write the RMA number on the parcel, and drop the "
                "parcel at any carrier location within 14 days using the prepaid label we e-mail you. The "
                "refund is issued within 5 business days of its arrival."
            ),
        },
    )
