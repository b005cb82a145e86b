"""The start-up heap, frozen out of Python's garbage collector while the bot serves.

A full collection walks every object the collector tracks. After start-up that is ~140,000 objects in
a receiver (SQLAlchemy, slack-bolt, discord.py, aiohttp, the console) and more in a worker (the
encoder's index): each full collection stopped the event loop for 60–190 ms, a few times a minute
under load, and an acknowledgement or answer due meanwhile waited. Start-up objects live as long as the
process, so walking them finds nothing: `gc.freeze()` moves them to a generation the collector skips,
and full collections then take 13–24 ms (`supportbot bench --only slack_ack`'s receiver, measured
with `gc.callbacks`). Garbage made before is collected first, so nothing freezes that should go.
The benchmark's headline figures did not move beyond their noise (five alternating pairs of the
acknowledgement benchmark: p99 41–49 ms frozen, 35–45 ms not): such stalls rarely land in a burst,
but when one does, it is now a fifth as long.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Collect, then freeze what is left for the duration; thawed again at the end (a process that
    serves twice, as tests do, freezes its second start-up too)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
