"""The "bot is on it" signals: the thread status Slack shows under a thread (bolt's `set_status`,
`assistant.threads.setStatus`) and an :eyes: reaction on the customer's message, removed when the
answer is posted. Both are courtesy: a failure is logged, never raised, and a workspace that refuses
one for good (missing scope, wrong token type) stops getting asked."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..delivery import error_reason

_log = logging.getLogger(__name__)

REACTION = "eyes"
STATUS = "is thinking…"
LOADING_MESSAGES = ["Reading your message…", "Looking up your account…", "Writing a reply…"]
# Errors that will not go away by asking again: stop using that signal in this process.
_PERMANENT = frozenset(
    {
        "missing_scope",
        "not_allowed_token_type",
        "unknown_method",
        "method_deprecated",
        "no_permission",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "feature_not_enabled",
    }
)

Signal = Literal["status", "reaction"]
SetStatus = Callable[..., Awaitable[Any]]


class Feedback:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self.disabled: set[Signal] = set()
        self._receiving: dict[tuple[str, str], asyncio.Task[bool]] = {}  # (channel, ts) → `received` under way

    def begin(self, *, channel: str, ts: str, set_status: SetStatus | None, budget_s: float) -> asyncio.Task[bool]:
        """`received` in the background, abandoned after `budget_s`: the message is stored meanwhile (a
        crash then loses nothing Slack was told is handled), and `settle` lets the answer wait for it."""

        async def signal() -> bool:
            try:
                return await asyncio.wait_for(self.received(channel=channel, ts=ts, set_status=set_status), budget_s)
            except TimeoutError:
                _log.info("feedback for %s/%s took over %.0fs; answering without it", channel, ts, budget_s)
                return False

        key = (channel, ts)
        task = asyncio.get_running_loop().create_task(signal(), name=f"slack-feedback-{channel}-{ts}")
        self._receiving[key] = task
        task.add_done_callback(
            lambda done: self._receiving.pop(key, None) if self._receiving.get(key) is done else None
        )
        return task

    async def settle(self, *, channel: str, ts: str) -> None:
        """Wait for the "on it" signals of this message, if still being sent: they go out before the answer."""
        task = self._receiving.get((channel, ts))
        if task is not None:
            await asyncio.wait({task})

    async def _try(self, signal: Signal, call: Callable[[], Awaitable[Any]], what: str) -> bool:
        if signal in self.disabled:
            return False
        try:
            await call()
            return True
        except SlackApiError as exc:
            error = error_reason(exc)
            if error in _PERMANENT:
                self.disabled.add(signal)
                _log.warning("Slack refused %s (%s); not trying it again in this process", what, error)
            else:
                _log.info("Slack refused %s: %s", what, error or exc)
        except Exception as exc:  # courtesy only: the answer matters, the signal does not
            _log.warning("%s failed: %s: %s", what, type(exc).__name__, exc)
        return False

    async def received(self, *, channel: str, ts: str, set_status: SetStatus | None) -> bool:
        """Show the customer the bot is on it (both signals at once). Returns whether the reaction was added."""
        reaction = self._try(
            "reaction",
            lambda: self.client.reactions_add(channel=channel, timestamp=ts, name=REACTION),
            f"reaction on {channel}/{ts}",
        )
        if set_status is None:
            return await reaction
        _, added = await asyncio.gather(
            self._try(
                "status",
                lambda: set_status(status=STATUS, loading_messages=LOADING_MESSAGES),
                f"thread status in {channel}/{ts}",
            ),
            reaction,
        )
        return added

    async def answered(self, *, channel: str, ts: str) -> None:
        """Take the :eyes: away (the thread status clears itself when the bot posts)."""
        await self._try(
            "reaction",
            lambda: self.client.reactions_remove(channel=channel, timestamp=ts, name=REACTION),
            f"removing the reaction on {channel}/{ts}",
        )
