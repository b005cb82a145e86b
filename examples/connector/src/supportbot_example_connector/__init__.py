"""An example in-process back office (a supportbot connector).

Order status comes from a table (your ERP call goes there); returns are never approved here — they go to
the returns desk as cases that need staff; billing questions are queued for Accounts. Installed with
`pip install -e examples/connector`, selected with `SUPPORTBOT_BACKOFFICE=example-orders`.
"""

from __future__ import annotations

from workflows.backoffice.base import Outcome, TaskContext, needs_staff, task_params
from workflows.types import Task

NAME = "example-orders"
ORDERS = {  # order id → (status, carrier, tracking number, expected delivery)
    "W-40001": ("held at customs", "DHL Express", "JD014600003828475621", "after customs clearance"),
    "W-40002": ("delivered", "UPS", "1Z999AA10123456784", "delivered on Monday"),
}


class ExampleOrdersBackOffice:
    name = NAME

    def __init__(self) -> None:
        self.handled: list[str] = []  # idempotency keys seen (a real connector would keep them in its system)

    async def handle(self, task: Task, ctx: TaskContext) -> Outcome:
        self.handled.append(ctx.idempotency_key)
        params = task_params(task)
        match task.kind:
            case "status":
                order_id = params["order_id"].upper()
                if order_id not in ORDERS:
                    return needs_staff(task, source=NAME, message=f"We can't find order {order_id}.")
                status, carrier, tracking, eta = ORDERS[order_id]
                return Outcome(
                    source=NAME,
                    details={
                        "order_id": order_id,
                        "current_status": status,
                        "carrier": carrier,
                        "tracking_number": tracking,
                        "expected_delivery": eta,
                    },
                )
            case "billing":
                invoice = params["invoice_number"].upper()
                return Outcome(
                    source=NAME,
                    details={
                        **params,
                        "action_taken": f"Queued invoice {invoice} for Accounts",
                        "resolution_eta": "2 business days",
                    },
                )
        return needs_staff(task, source=NAME, message="Our returns desk checks every return by hand.")
