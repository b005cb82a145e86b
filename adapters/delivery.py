"""Delivering a reply with resume, once for every platform.

A reply is posted in pieces (the platform's length limit). Each adapter supplies two small functions:
`post(index, piece)` → the platform id of the posted piece, and `look_up()` → the pieces of this reply
already in the thread (piece index → platform id). The loop here does the rest:
- a reply that may have been posted before a crash (`Outbound.maybe_posted`) is looked up first, and
  the pieces found are not posted again; a failed look-up (any error, whatever the body) posts anyway —
  at least once beats never;
- the pieces posted so far are remembered per reply id in this process, so a retry after a failed
  piece posts only the missing ones;
- one log line per reply says where it went and how many pieces were already there.

`hand_over` is the other direction: a customer's message to the core, with the outcome logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from .platform import Handled, Handlers, Inbound, Outbound

_log = logging.getLogger(__name__)

P = TypeVar("P")


def error_reason(exc: BaseException) -> str:
    """A short reason for a failed platform call, safe for any error shape: an API error code when the
    response carried one, else an HTTP status, else the exception's type. A response body that is not
    JSON (a proxy's plain-text `403: Forbidden`) must not raise here."""
    response: Any = getattr(exc, "response", None)
    code = None
    try:
        code = response.get("error") if response is not None else None
    except Exception:  # the body was text or bytes, not a JSON object
        code = None
    if isinstance(code, str) and code:
        return code
    status = getattr(exc, "status", None) or getattr(response, "status_code", None) or getattr(response, "status", None)
    return f"HTTP {status}" if isinstance(status, int) else type(exc).__name__


class Delivery:
    """The delivery-with-resume loop of one adapter (it keeps the per-reply memory of posted pieces)."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self._posted: dict[int, list[str]] = {}  # reply id → ids of pieces already posted (a retry skips them)

    async def deliver(
        self,
        out: Outbound,
        pieces: Sequence[P],
        *,
        post: Callable[[int, P], Awaitable[str]],
        look_up: Callable[[], Awaitable[dict[int, str]]],
    ) -> str:
        """Post the pieces not yet in the thread; returns the id of the first piece."""
        posted = self._posted.setdefault(out.reply_id, [])
        found = await self._look_up(out, look_up) if out.maybe_posted and not posted else {}
        for index in range(len(posted), len(pieces)):
            message_id = found.get(index)
            if message_id is None:
                message_id = await post(index, pieces[index])
            posted.append(message_id)
        del self._posted[out.reply_id]
        if found:
            _log.info(
                "%s reply %s: %d of %d pieces were already in the thread (posted before a restart); not posted again",
                self.platform,
                out.reply_id,
                len(found),
                len(pieces),
            )
        _log.info(
            "%s reply %s posted in %s thread %s (%d message%s)",
            self.platform,
            out.reply_id,
            out.channel_id,
            out.thread_id,
            len(posted),
            "" if len(posted) == 1 else "s",
        )
        return posted[0]

    async def _look_up(self, out: Outbound, look_up: Callable[[], Awaitable[dict[int, str]]]) -> dict[int, str]:
        try:
            return await look_up()
        except Exception as exc:  # a missing scope, a proxy's text body, the platform unreachable: post
            _log.warning(
                "%s reply %s: could not look for it in the thread (%s); posting it",
                self.platform,
                out.reply_id,
                error_reason(exc),
            )
            return {}


async def hand_over(handlers: Handlers, inbound: Inbound) -> Handled | None:
    """Give a customer's message to the core and log what came of it; None when even storing it failed
    (the database is down: the platform has its acknowledgement, so this is said loudly)."""
    try:
        outcome = await handlers.on_message(inbound)
    except Exception:
        _log.exception("message %s could not be stored or processed", inbound.message_id)
        return None
    if outcome.duplicate:
        _log.info("message %s was answered before; no second reply", inbound.message_id)
    elif outcome.held:
        _log.info("message %s is for the staff member who took the thread over; not answered", inbound.message_id)
    elif outcome.error:
        _log.warning("message %s failed (%s); it stays in the inbox and is retried", inbound.message_id, outcome.error)
    return outcome
