"""What the core does after a failed attempt at a message: try again later, or give it up.

    failure ──permanent platform error, or the last attempt──▶ given up (status `failed`, kept)
        │                                                        └─▶ its conversation goes to staff
        └─otherwise──▶ back to the inbox, not before now + base × 2^(attempts-1) (capped)

A given-up message keeps its text and the error; `supportbot inbox failed` lists it, `inbox retry`
puts it back with a fresh set of attempts, /metrics counts it. The periodic retry never picks it up, and
a message waiting out its backoff is skipped until its time (`next_attempt_at`), so nothing spins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from adapters.platform import PermanentDeliveryError
from storage import dead_letters
from storage.db import Database
from storage.models import utcnow
from workflows import telemetry

from .staff import needs_staff

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # SUPPORTBOT_MAX_ATTEMPTS
    base_s: float = 30.0  # the wait after the first failure; doubled after each one
    max_s: float = 3600.0


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


async def after_failure(
    db: Database, message_id: int, *, attempts: int, error: str, permanent: bool, policy: RetryPolicy
) -> bool:
    """Record a failed attempt (the `attempts`-th) of a message this worker holds. Returns whether the
    message was given up."""
    give_up = permanent or attempts >= policy.max_attempts
    retry_at = None if give_up else utcnow() + dead_letters.backoff(attempts, base_s=policy.base_s, max_s=policy.max_s)
    async with db.write() as s:
        recorded = await dead_letters.record_failure(s, message_id, error=error, give_up=give_up, retry_at=retry_at)
        # Its conversation goes to staff in the same transaction: the staff loop gives the case a card.
        ref = (
            await needs_staff(s, message_id=message_id, reason=_reason(attempts, error, permanent))
            if (give_up and recorded)
            else None
        )
    if not recorded:
        _log.warning("message %s: no longer in processing; its failure (%s) was not recorded", message_id, error)
        return False
    if give_up:
        telemetry.MESSAGES.labels("given_up").inc()
        _log.error(
            "message %s given up after %d attempt(s)%s: %s; case %s needs staff (supportbot inbox failed)",
            message_id,
            attempts,
            " (permanent)" if permanent else "",
            error,
            ref,
        )
    else:
        _log.warning(
            "message %s: attempt %d of %d failed (%s); next try after %s",
            message_id,
            attempts,
            policy.max_attempts,
            error,
            retry_at,
        )
    return give_up


def _reason(attempts: int, error: str, permanent: bool) -> str:
    if permanent:
        return f"the reply could not be delivered: {error}"
    return f"the message failed {attempts} time(s) and was given up; last error: {error}"


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, PermanentDeliveryError)
