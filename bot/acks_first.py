"""Acknowledgements first: background work waits while HTTP requests are being answered.

Slack wants an event acknowledged within 3 s and retries it otherwise; the work an event starts (store
it, :eyes:, answer it) can wait a few milliseconds. asyncio has no priorities, so a burst of events
would interleave each request with the work of the ones before it. Here the HTTP server counts the
requests in flight (`middleware`) and an adapter's background tasks start with `wait()`: once no
request is in flight, or after `max_wait_s` at the latest, so steady traffic never starves the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AcksFirst:
    def __init__(self, *, max_wait_s: float = 0.5) -> None:
        self.max_wait_s = max_wait_s
        self._in_flight = 0
        self._quiet: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._quiet is None:  # made on first use, inside the running loop
            self._quiet = asyncio.Event()
            self._quiet.set()
        return self._quiet

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self._in_flight += 1
        self._event().clear()
        try:
            return await handler(request)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._event().set()

    async def wait(self) -> None:
        """Until no request is in flight (at most `max_wait_s`)."""
        if self._in_flight:
            try:
                await asyncio.wait_for(self._event().wait(), self.max_wait_s)
            except TimeoutError:
                pass
