"""The platform contract: what the bot core hands an adapter, and what every adapter offers back.

Imports point one way: `bot` (the application) wires `adapters`, `workflows` and `storage`; an adapter
imports only this module (and its own SDK), never `bot`. The core talks to a running platform only
through `Platform`; the adapter reaches the core only through the `Handlers` it was given.

    customer/staff ──▶ adapter ──Handlers──▶ core (store, plan, work, reply, cases, staff loop)
    core ──Platform (deliver, post_card, update_card, notify, permalink)──▶ adapter ──▶ platform
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from aiohttp import web


# --- messages ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Button:
    """A button under a message or card. `action` routes the click; `value` carries its subject
    (a case ref, `REF:5` for a rating, a clarify choice). Both travel in the platform's custom id."""

    action: str  # case_claim | case_close | case_note | case_release | rate | clarify
    label: str
    value: str
    style: Literal["primary", "danger", ""] = ""


@dataclass(frozen=True)
class Outbound:
    """A message to post into a conversation's thread."""

    platform: str
    channel_id: str
    thread_id: str
    text: str
    reply_id: int  # our database id of the message: the idempotency key for every retry
    in_reply_to: str = ""  # platform id of the customer message answered
    customer_id: str = ""
    # An earlier attempt may have posted it before a crash: the adapter looks for it before posting again.
    maybe_posted: bool = False
    buttons: tuple[Button, ...] = ()  # feedback (rating) or clarifying choices


# --- staff cards -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Card:
    """The staff channel's view of one case, rendered by each platform (Block Kit, embed + view)."""

    ref: str
    kind: str
    status: str
    customer_id: str  # the platform user id: rendered as a mention that does not ping
    summary: str  # one line
    created_at: datetime
    thread_link: str = ""  # permalink / jump URL to the customer's thread
    assignee: str | None = None
    closed_reason: str | None = None
    language: str | None = None
    needs_staff_reason: str = ""  # hand-off, technical, flagged, waited past reminder, given up: …
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Interaction:
    """A button click or a modal submit, as every adapter hands it to the core."""

    platform: str
    user_id: str
    action: str  # the Button.action clicked, or the modal's action (case_close / case_note)
    value: str  # the Button.value
    text: str = ""  # what was typed into a modal
    role_ids: tuple[str, ...] = ()
    user_name: str = ""
    channel_id: str = ""
    message_id: str = ""  # the message the button sits under


@dataclass(frozen=True)
class InteractionReply:
    """What the clicker sees privately (refusals, confirmations); empty text: nothing."""

    text: str = ""
    ok: bool = True


# --- the two directions ------------------------------------------------------------------------
class Platform(Protocol):
    """One chat platform as the core sees it. Every method is safe to retry with the same ids."""

    name: str

    @property
    def connected(self) -> bool: ...

    def routes(self) -> list[web.RouteDef]: ...  # HTTP endpoints on the bot's server (Slack HTTP mode)

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def deliver(self, out: Outbound) -> str:
        """Post into the thread, resuming after a crash (`maybe_posted`); returns the platform id."""
        ...

    async def post_card(self, card: Card, *, channel_id: str, key: int) -> str:
        """Post a case card in the staff channel (a forum post on Discord forums); `key` is the
        outbox id, for finding a card posted before a crash. Returns the card's message id."""
        ...

    async def update_card(self, card: Card, *, channel_id: str, message_id: str) -> None: ...

    async def notify(self, text: str, *, channel_id: str, thread_id: str = "", key: int = 0) -> str:
        """A plain notice (SLA reminder mentioning the staff group/role) in a channel or thread."""
        ...

    async def permalink(self, channel_id: str, thread_id: str) -> str: ...


@dataclass(frozen=True)
class Handlers:
    """What the core gives an adapter: narrow callables, no service objects to reach through."""

    on_message: Callable[[Any], Awaitable[Any]]  # a customer's Inbound → stored, answered in the thread
    on_staff_message: Callable[[Any], Awaitable[Any]]  # staff wrote in a support thread: transcript + takeover
    on_interaction: Callable[[Interaction], Awaitable[InteractionReply]]
    is_staff: Callable[[str, str, tuple[str, ...]], bool]  # (platform, user_id, role_ids)
    extras: dict[str, Any] = field(default_factory=dict)  # command registry, task group … (see bot.wiring)
