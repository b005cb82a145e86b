"""/faq URL [URL …] [questions=N] [chain=grounded|three-step]: an FAQ with cited sources, built from
the linked pages, posted where it was asked and stored (staff only, long-running).

Limits are applied with a note rather than a refusal: more than MAX_URLS links → the first ten;
more than MAX_QUESTIONS questions → twenty. Slack-style links (`<url|label>`, `<url>`) are unwrapped.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from workflows.faq import MAX_URLS, FaqError, FaqResult, ProgressEvent
from workflows.faq.pipeline import CHAINS, DEFAULT_QUESTIONS
from workflows.faq.schemas import MAX_QUESTIONS, Chain
from workflows.text import one_line

from ..faq_service import FaqRequest, build_and_store
from .registry import (
    Args,
    Command,
    CommandContext,
    CommandError,
    CommandRegistry,
    CommandResult,
    Option,
    Progress,
    ResultItem,
)

_log = logging.getLogger(__name__)

USAGE = "/faq URL [URL …] [questions=N] [chain=grounded|three-step]"
_WRAPPED_LINK = re.compile(r"<([^<>|\s]+)(?:\|[^<>]*)?>")  # Slack <url|label> and <url>; Discord's <url>
_OPTION = re.compile(r"^(questions|chain)=(.*)$", re.I)
_QUOTE_CHARS = 200


@dataclass
class FaqArgs:
    urls: list[str]
    questions: int = DEFAULT_QUESTIONS
    chain: Chain = "grounded"
    notes: list[str] = field(default_factory=list)  # limits applied, shown with the result


def parse_faq_args(text: str) -> FaqArgs:
    """The links and options of a /faq invocation; caps applied with a note; raises CommandError."""
    text = _WRAPPED_LINK.sub(lambda m: f" {m.group(1)} ", text or "")
    urls: list[str] = []
    questions, chain = str(DEFAULT_QUESTIONS), "grounded"
    for word in text.split():
        if m := _OPTION.match(word):
            if m.group(1).lower() == "questions":
                questions = m.group(2)
            else:
                chain = m.group(2)
            continue
        # "a.html,b.html" (a pasted list) and trailing punctuation are not part of a link
        urls.extend(u for part in re.split(r",(?=https?://)", word) if (u := part.strip(",;\"'")))
    if not urls:
        raise CommandError(f"Give at least one link to build the FAQ from. Usage: {USAGE}")
    notes: list[str] = []
    urls = list(dict.fromkeys(urls))
    if len(urls) > MAX_URLS:
        notes.append(f"Only the first {MAX_URLS} links were used ({len(urls)} given): at most {MAX_URLS} per FAQ.")
        urls = urls[:MAX_URLS]
    try:
        n = int(questions)
    except ValueError:
        raise CommandError(
            f"questions= takes a whole number from 1 to {MAX_QUESTIONS}, "
            f"for example questions=8 ({one_line(questions, 20)!r} given)."
        ) from None
    if n < 1:
        raise CommandError(f"questions= takes a whole number from 1 to {MAX_QUESTIONS} ({n} given).")
    if n > MAX_QUESTIONS:
        notes.append(f"questions={n} is more than the maximum: building {MAX_QUESTIONS} questions.")
        n = MAX_QUESTIONS
    chain = chain.strip().lower().replace("_", "-")
    if chain not in CHAINS:
        raise CommandError(f"Unknown chain {one_line(chain, 20)!r}: use chain=grounded or chain=three-step.")
    return FaqArgs(urls=urls, questions=n, chain=chain, notes=notes)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _quote(text: str) -> str:
    return f"“{one_line(text, _QUOTE_CHARS)}”"


def render_faq(
    result: FaqResult, *, notes: list[str], urls: list[str], asked: int, set_id: int | None
) -> CommandResult:
    used = len(urls) - len(result.failed_pages)
    title = f"FAQ — {_plural(len(result.items), 'question')} from {_plural(used, 'page')}"
    items: list[ResultItem] = []
    lines = [f"**{title}**", ""]
    for number, item in enumerate(result.items, 1):
        fields = [("Source", f"[{s.title}]({s.url})") for s in item.sources]
        items.append(
            ResultItem(
                title=item.question,
                body=item.answer,
                fields=fields,
                url=item.sources[0].url,
                footer=_quote(item.sources[0].quote),
            )
        )
        lines += [f"**{number}. {item.question}**", item.answer]
        lines += [f"Source: [{s.title}]({s.url}) — {_quote(s.quote)}" for s in item.sources]
        lines.append("")
    extra = list(notes)
    extra += [f"Not used: {one_line(f.reason, 300)}" for f in result.failed_pages]
    if not result.items:
        extra.append("The pages did not answer any question with a sentence that could be verified.")
    elif result.unsupported:
        extra.append(f"{_plural(result.unsupported, 'answer')} left out: no source sentence could be verified.")
    if result.questions_asked < asked:
        extra.append(f"{asked} questions were asked for; the pages gave {result.questions_asked}.")
    summary = (
        f"{result.chain} chain · {_plural(result.llm_calls, 'model call')} · "
        f"{result.pages_reused} of {used} pages reused · {result.seconds:.1f} s"
    )
    extra.append(summary + (f" · saved as FAQ set #{set_id}" if set_id is not None else " · not saved (see the log)"))
    items.append(ResultItem(title="Notes", body="\n".join(f"• {line}" for line in extra)))
    lines += extra
    return CommandResult(text="\n".join(lines).strip(), title=title, items=items, data=result.to_json_dict())


def _failure(exc: FaqError) -> str:
    if not exc.failed_pages:
        return f"Could not build the FAQ: {exc}"
    return "\n".join(
        ["Could not build the FAQ: none of the pages could be used."]
        + [f"• {one_line(f.reason, 300)}" for f in exc.failed_pages]
    )


async def faq_command(ctx: CommandContext, args: Args) -> CommandResult:
    parsed = parse_faq_args(args.raw)

    async def on_progress(event: ProgressEvent) -> None:
        await ctx.report(Progress(event.stage, event.done, event.total, event.message))

    request = FaqRequest(
        urls=parsed.urls,
        questions=parsed.questions,
        chain=parsed.chain,
        requested_by=ctx.caller.actor,
        platform=ctx.caller.platform,
        channel_id=ctx.channel_id,
    )
    try:
        built = await build_and_store(ctx.services, request, on_progress=on_progress)
    except FaqError as exc:
        raise CommandError("\n".join([_failure(exc), *parsed.notes])) from None
    return render_faq(built.result, notes=parsed.notes, urls=parsed.urls, asked=parsed.questions, set_id=built.set_id)


def register(registry: CommandRegistry) -> None:
    registry.add(
        Command(
            "faq",
            "Build an FAQ with cited sources from web pages",
            USAGE,
            faq_command,
            options=(
                Option(
                    "urls", f"Links to build the FAQ from (up to {MAX_URLS}, space-separated)", required=True, rest=True
                ),
                Option(
                    "questions",
                    f"How many questions (1–{MAX_QUESTIONS}, default {DEFAULT_QUESTIONS})",
                    kind="integer",
                    positional=False,
                ),
                Option("chain", "grounded (default) or three-step", positional=False),
            ),
            staff_only=True,
            long_running=True,
        )
    )
