"""The routes a customer message can take, with no other dependency: the offline router (and
`supportbot route`, which must start fast) needs them without loading the pydantic models of
`workflows.types`."""

from __future__ import annotations

from typing import Literal

Route = Literal["billing", "return", "status", "technical", "general", "human"]
ROUTES: tuple[Route, ...] = ("billing", "return", "status", "technical", "general", "human")
