"""The platform contract: what the bot core hands an adapter, and what every adapter offers back.

Imports point one way: `bot` (the application) wires `adapters`, `workflows` and `storage`; an adapter
imports only this module, the shared machinery next to it (`adapters.tasks`, `adapters.delivery`,
`adapters.progress`, `adapters.recent`) and its own SDK — never `bot`. The core talks to a running
platform only through `Platform`; the adapter reaches the core only through the `Handlers` it was given.

    customer/staff ──▶ adapter ──Handlers (on_message, commands.run, on_interaction …)──▶ core
    core ──Platform (deliver, post_card, update_card, notify, permalink)──▶ adapter ──▶ platform

Everything here is plain data or a Protocol: no I/O, no SDK, nothing of the core.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from aiohttp import web


# --- messages ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Inbound:
    """A customer's (or staff member's) message as every adapter hands it to the core."""

    platform: str  # slack | discord | shell
    channel_id: str
    thread_id: str  # the conversation's thread (Slack thread_ts, Discord thread id, shell thread)
    user_id: str
    text: str
    message_id: str  # unique per platform: the deduplication key
    user_name: str = ""
    is_dm: bool = False
    extras: dict[str, Any] = field(default_factory=dict)  # platform leftovers


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


class Handled(Protocol):
    """What `Handlers.on_message` tells the adapter about one message (the core's outcome)."""

    @property
    def duplicate(self) -> bool: ...  # seen before: no second answer

    @property
    def held(self) -> bool: ...  # stored, not answered: staff took the thread over

    @property
    def error(self) -> str | None: ...  # failed for now: it stays stored and is retried


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


# --- slash commands, as adapters bind and render them ------------------------------------------
@dataclass(frozen=True)
class Caller:
    platform: str
    user_id: str
    is_staff: bool
    display_name: str = ""

    @property
    def actor(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class Progress:
    """One step of a long command (/faq): shown by the adapter, throttled (`adapters.progress`)."""

    stage: str
    done: int
    total: int
    message: str = ""


ProgressFn = Callable[[Progress], Awaitable[None]]


@dataclass
class ResultItem:
    """One entry of a result: an FAQ item, a case in a list, a case's detail."""

    title: str
    body: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    footer: str = ""


@dataclass
class CommandResult:
    text: str  # a complete plain-markdown rendering, used where richer formatting is not available
    title: str = ""
    items: list[ResultItem] = field(default_factory=list)
    ephemeral: bool = False
    ok: bool = True
    data: Any = None  # JSON-ready form (for --json and tests)


@dataclass(frozen=True)
class Option:
    """One option of a command (a Discord app-command option; words of the text elsewhere)."""

    name: str
    description: str
    kind: Literal["string", "integer", "user"] = "string"
    required: bool = False
    positional: bool = True  # positional options come first, in order; others are key=value
    rest: bool = False  # takes the rest of the text (a note, a reason, a list of URLs)


class CommandSpec(Protocol):
    """What an adapter knows of a command: enough to bind it and to acknowledge it correctly."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def options(self) -> tuple[Option, ...]: ...

    @property
    def staff_only(self) -> bool: ...

    @property
    def long_running(self) -> bool: ...  # acknowledged at once, progress shown, result by follow-up


class Commands(Protocol):
    """The command dispatcher the core hands every adapter (permissions are checked there, once)."""

    def get(self, name: str) -> CommandSpec | None: ...

    def all(self) -> Sequence[CommandSpec]: ...

    async def run(
        self, name: str, text: str, caller: Caller, *, channel_id: str = "", progress: ProgressFn | None = None
    ) -> CommandResult: ...


class PermanentDeliveryError(Exception):
    """The platform refused a delivery for good — the bot is not (or no longer) in the channel, the
    channel is gone or archived, the token is no longer valid — so retrying cannot help. Adapters raise
    it (from the SDK's error) and the core gives the message up at once instead of retrying."""

    def __init__(self, platform: str, reason: str) -> None:
        super().__init__(f"{platform} refused the post: {reason}")
        self.platform = platform
        self.reason = reason


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
        """Post into the thread, resuming after a crash (`maybe_posted`); returns the platform id.
        Raises PermanentDeliveryError when the platform will never accept it."""
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

    on_message: Callable[[Inbound], Coroutine[Any, Any, Handled]]  # a customer's message → answered in its thread
    on_staff_message: Callable[[Inbound], Coroutine[Any, Any, bool]]  # staff wrote in a support thread: transcript
    on_interaction: Callable[[Interaction], Awaitable[InteractionReply]]
    is_staff: Callable[[str, str, tuple[str, ...]], bool]  # (platform, user_id, role_ids)
    commands: Commands


def card_text(card: Card) -> str:
    """A plain-text rendering of a card, for platforms (and tests) without a richer one."""
    lines = [f"{card.ref} · {card.kind} · {card.status}", card.summary]
    if card.needs_staff_reason:
        lines.append(f"Needs staff: {card.needs_staff_reason}")
    if card.language:
        lines.append(f"Language: {card.language}")
    if card.assignee:
        lines.append(f"Assigned to {card.assignee}")
    if card.closed_reason:
        lines.append(f"Closed: {card.closed_reason}")
    if card.thread_link:
        lines.append(card.thread_link)
    return "\n".join(line for line in lines if line)
