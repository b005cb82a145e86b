"""Throttled progress of a long command (/faq), once for every platform: the adapter says how to show
a text (post then edit one message; edit a deferred interaction response); this decides when — the
first report and the last at once, the ones between at most once per `interval_s` — and stops trying
after the first failure (progress is a courtesy; the result still goes out)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .platform import CommandResult, Progress

_log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 1.0  # edits are rate-limited on every platform: at most one a second

Show = Callable[[str], Awaitable[None]]


def progress_text(command: str, progress: Progress, *, note_max: int = 300) -> str:
    count = f" {progress.done}/{progress.total}" if progress.total else ""
    message = progress.message.strip()
    if len(message) > note_max:
        message = message[: note_max - 1].rstrip() + "…"
    note = f" — {message}" if message else ""
    return f"⏳ /{command}: {progress.stage}{count}{note}"


def finish_text(command: str, result: CommandResult) -> str:
    mark = "✅" if result.ok else "⚠️"
    summary = "done — the result is below" if result.ok and not result.ephemeral else "finished"
    return f"{mark} /{command}: {summary}"


class ThrottledProgress:
    def __init__(
        self,
        command: str,
        show: Show,
        *,
        interval_s: float = PROGRESS_INTERVAL_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.command = command
        self._show_text = show
        self.interval_s = interval_s
        self._clock = clock
        self.shown = 0  # texts shown so far
        self._last = 0.0
        self._lock = asyncio.Lock()
        self._broken = False

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def show(self, text: str, *, force: bool = False) -> None:
        async with self._lock:
            if self._broken or not (force or not self.shown or self._now() - self._last >= self.interval_s):
                return
            try:
                await self._show_text(text)
            except Exception as exc:  # progress is a courtesy; the result still goes out
                self._broken = True
                _log.warning("progress for /%s failed: %s", self.command, exc)
                return
            self.shown += 1
            self._last = self._now()

    async def report(self, progress: Progress) -> None:
        done = bool(progress.total) and progress.done >= progress.total
        await self.show(progress_text(self.command, progress), force=done)

    async def finish(self, result: CommandResult) -> None:
        await self.show(finish_text(self.command, result), force=True)
