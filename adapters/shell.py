"""The shell adapter: a support thread in the terminal (`supportbot chat`) and one-shot messages
(`supportbot ask`). Lines starting with `/` run slash commands with staff rights (the terminal is
the operator's). Also the test backend for pipeline tests: `await chat.send(text)` returns the core's
outcome, and `chat.delivered` holds what the core posted."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable

from .memory import MemoryPlatform
from .platform import Caller, CommandResult, Handled, Handlers, Inbound, Outbound, Progress

PLATFORM = "shell"
CHANNEL = "local"
BANNER = (
    "supportbot chat — type a customer message and press Enter. Slash commands (/case REF, /cases, "
    "/faq URL …) run as staff. /quit or Ctrl-D ends."
)
SORRY = "Sorry — I couldn't finish that just now. Your message is saved and will be answered."


class ShellChat(MemoryPlatform):
    """The terminal as a platform: replies are recorded (`delivered`) and, in the chat, printed."""

    def __init__(
        self,
        handlers: Handlers,
        *,
        user_id: str = "local",
        thread_id: str | None = None,
        out: Callable[[str], None] | None = None,
        notice: str | None = None,
    ) -> None:
        super().__init__(PLATFORM)
        self.notice = notice  # shown under the banner (the demo label when the back office is simulated)
        self.handlers = handlers
        self.user_id = user_id
        self.thread_id = thread_id or uuid.uuid4().hex[:12]
        self._out = out  # prints what is delivered (the interactive chat); None: only recorded

    async def deliver(self, out: Outbound) -> str:
        posted = await super().deliver(out)
        if self._out is not None:
            self._out(f"bot> {out.text}")
        return posted

    # --- the terminal ----------------------------------------------------------------------------
    def inbound(self, text: str, *, message_id: str | None = None) -> Inbound:
        return Inbound(
            platform=PLATFORM,
            channel_id=CHANNEL,
            thread_id=self.thread_id,
            user_id=self.user_id,
            text=text,
            message_id=message_id or uuid.uuid4().hex,
        )

    async def send(self, text: str, *, message_id: str | None = None) -> Handled:
        """One customer message through the whole pipeline."""
        return await self.handlers.on_message(self.inbound(text, message_id=message_id))

    async def command(self, line: str, *, progress: Callable[[Progress], None] | None = None) -> CommandResult:
        name, _, rest = line.strip().lstrip("/").partition(" ")

        async def report(p: Progress) -> None:
            if progress is not None:
                progress(p)

        return await self.handlers.commands.run(
            name, rest, Caller(PLATFORM, self.user_id, is_staff=True), channel_id=CHANNEL, progress=report
        )

    async def run(self, *, stdin: Callable[[str], str] = input, out: Callable[[str], None] = print) -> None:
        out(BANNER)
        self._out = out
        if self.notice is not None:
            out(self.notice)
        interactive = sys.stdin.isatty()
        while True:
            try:
                line = await asyncio.to_thread(stdin, "you> " if interactive else "")
            except EOFError:
                break
            if line.strip() in ("/quit", "/exit"):
                break
            if line.startswith("/"):
                result = await self.command(line, progress=lambda p: out(f"  … {p.stage} {p.done}/{p.total}"))
                out(result.text)
                continue
            outcome = await self.send(line)
            if outcome.error or getattr(outcome, "deferred", False):
                out(f"bot> {SORRY}")
