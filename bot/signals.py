"""SIGINT and SIGTERM as a stop request, for the long-running commands (`run`, `worker`)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable


def stop_on_signals(stop: asyncio.Event) -> Callable[[], None]:
    """Make SIGINT and SIGTERM set `stop`; returns what takes the handlers away again. Outside the main
    thread (tests) no handler can be set, and `stop` is the only way to end."""
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):
            pass

    def remove() -> None:
        for sig in handled:
            loop.remove_signal_handler(sig)

    return remove
