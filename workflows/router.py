"""The router: which routes a message asks for (the router model, or the offline rules)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from .llm.base import LLMRequest
from .llm.runner import StepRunner, Tally
from .offline.decision import classify
from .types import Route, RouteList

ROUTER_SYSTEM = """You route customer-support messages. Routes:
- billing: invoices, charges, payments, payment problems
- return: returning a product, a refund for a product
- status: where an order is, tracking, delivery time of an order
- technical: a product, device, app or site that does not work as it should
- human: the customer asks to talk to a person, an agent or customer service
- general: anything else (accounts, passwords, newsletters, shipping options, placing orders, reviews)
List every route the message asks for, in the order the message asks them. Return only JSON."""


class RouteAnswer(BaseModel):
    routes: RouteList = Field(min_length=1, max_length=6)


async def route(text: str, runner: StepRunner, *, tally: Tally | None = None) -> list[Route]:
    request = LLMRequest(
        step="route",
        schema=RouteAnswer,
        system=ROUTER_SYSTEM,
        role="router",
        prompt=f"Customer message:\n<<<\n{text}\n>>>",
        inputs={"text": text},
    )

    async def offline() -> RouteAnswer:
        return RouteAnswer(routes=await classify(text))

    outcome = await runner.run(request, offline, tally=tally)
    return outcome.value.routes
