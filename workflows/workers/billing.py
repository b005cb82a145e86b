"""Billing back office: opens an investigation of an invoice with a resolution estimate."""

from __future__ import annotations

import re

from ..types import Task
from .base import CaseDraft, WorkContext, task_subject

# Concerns that need a refund decision take longer than an explanation of the charges.
_SLOW = re.compile(r"twice|double|duplicate|refund|fraud|unauthori[sz]ed|not recogni[sz]e", re.I)


async def handle(task: Task, ctx: WorkContext) -> CaseDraft:
    invoice = (task.params.invoice_number or "").strip().upper()
    concern = (task.params.concern or "").strip() or "question about the invoice"
    eta = "5 business days" if _SLOW.search(concern) else "2 business days"
    return CaseDraft(
        kind="billing",
        subject_key=task_subject(task),
        details={
            "invoice_number": invoice,
            "concern": concern,
            "action_taken": f"Opened a billing investigation into invoice {invoice}; a billing specialist "
            "will review the charges line by line.",
            "resolution_eta": eta,
        },
    )
