"""The shell adapter: a support thread in the terminal (`supportbot chat`) and one-shot messages
(`supportbot ask`). Lines starting with `/` run slash commands with staff rights (the terminal is
the operator's). Also the test backend for pipeline tests: `await chat.send(text)` returns the reply."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable

from bot.commands.registry import Caller, CommandContext, CommandResult, Progress
from bot.messages import Inbound, Outbound
from bot.service import HandleOutcome
from bot.wiring import Services

PLATFORM = "shell"
CHANNEL = "local"
BANNER = ("supportbot chat — type a customer message and press Enter. Slash commands (/case REF, /cases, "
          "/faq URL …) run as staff. /quit or Ctrl-D ends.")


class ShellChat:
    def __init__(self, services: Services, *, user_id: str = "local", thread_id: str | None = None) -> None:
        self.services = services
        self.user_id = user_id
        self.thread_id = thread_id or uuid.uuid4().hex[:12]
        self.delivered: list[Outbound] = []
        services.support.register_deliverer(PLATFORM, self._deliver)

    async def _deliver(self, out: Outbound) -> str:
        self.delivered.append(out)
        return f"shell-{out.reply_id}"

    async def send(self, text: str, *, message_id: str | None = None) -> HandleOutcome:
        """One customer message through the whole pipeline."""
        inbound = Inbound(platform=PLATFORM, channel_id=CHANNEL, thread_id=self.thread_id, user_id=self.user_id,
                          text=text, message_id=message_id or uuid.uuid4().hex)
        return await self.services.support.handle(inbound)

    async def command(self, line: str, *, progress: Callable[[Progress], None] | None = None) -> CommandResult:
        name, _, rest = line.strip().lstrip("/").partition(" ")

        async def report(p: Progress) -> None:
            if progress is not None:
                progress(p)

        ctx = CommandContext(caller=Caller(PLATFORM, self.user_id, is_staff=True), services=self.services,
                             channel_id=CHANNEL, progress=report)
        return await self.services.registry.dispatch(name, rest, ctx)

    async def run(self, *, stdin: Callable[[str], str] = input, out: Callable[[str], None] = print) -> None:
        out(BANNER)
        if (notice := self.services.backoffices.notice) is not None:
            out(notice)
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
            if outcome.result is not None:
                out(f"bot> {outcome.result.reply}")
            else:
                out("bot> Sorry — I couldn't finish that just now. Your message is saved and will be answered.")
