"""Fail points for crash tests: `SUPPORTBOT_FAILPOINTS=after_claim,after_post` makes the process kill
itself with a real SIGKILL (no cleanup, no `finally`, no flushing) when it reaches one of the named
points. The names are read once, at import; when the variable is unset, `failpoint()` is one set
lookup on an empty frozenset.

Points in the message path, in order (see docs/reliability.md):
`after_store` (message stored, not yet claimed), `after_claim`, `after_backoffice` (back offices
answered, cases not written), `after_cases` (cases written, reply not stored), `after_reply_stored`
(reply stored, not posted), `after_post` (posted on the platform, not yet marked sent), `after_mark_sent`.
"""

from __future__ import annotations

import logging
import os
import signal

ARMED: frozenset[str] = frozenset(
    name.strip() for name in os.environ.get("SUPPORTBOT_FAILPOINTS", "").split(",") if name.strip()
)

if ARMED:
    logging.getLogger(__name__).warning(
        "fail points armed: %s (the process kills itself there)", ",".join(sorted(ARMED))
    )


def failpoint(name: str) -> None:
    """SIGKILL the own process if `name` is armed."""
    if name in ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
