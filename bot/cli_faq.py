"""`supportbot faq URL [URL ...]`: build an FAQ from pages, print it, and store it like a /faq result.

A progress bar (rich) is drawn on stderr when it is a terminal and `--json` is not given; `--json`
prints exactly the object of docs/spec-notes.md on stdout. Pages that fail are named (stderr, or
`failed_pages` in JSON); when none can be used, or the request itself is refused, the command exits 1
with one line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from .cli_common import Failure, cli_actor, run_async, settings_from

if TYPE_CHECKING:
    from rich.console import Console

    from workflows.faq import FaqResult, ProgressCallback, ProgressEvent

# Kept literal so that `supportbot --help` does not load the FAQ pipeline (tests check them against it).
MAX_QUESTIONS = 20
CHAINS = ("grounded", "three-step")


@contextmanager
def progress_bar(enabled: bool, *, console: Console | None = None) -> Iterator[ProgressCallback | None]:
    """A progress callback drawing a rich bar (on stderr by default), or None when it is not wanted."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("Starting", total=None)

        async def on_progress(event: ProgressEvent) -> None:
            bar.update(task, description=event.message, completed=event.done, total=event.total or None)

        yield on_progress


def render_text(result: FaqResult) -> str:
    lines: list[str] = []
    for number, item in enumerate(result.items, 1):
        lines += [f"{number}. {item.question}", f"   {item.answer}"]
        for source in item.sources:
            lines += [f"   Source: {source.title} <{source.url}>", f"     “{source.quote}”"]
        lines.append("")
    how = "parallel" if result.parallel else "sequential"
    lines.append(
        f"{len(result.items)} questions · {result.chain} chain, {how}"
        f" · {result.llm_calls} model calls · {result.pages_reused} pages reused · {result.seconds:.2f} s"
    )
    return "\n".join(lines)


@click.command("faq")
@click.argument("urls", nargs=-1, required=True)
@click.option(
    "--questions", type=click.IntRange(1, MAX_QUESTIONS), default=5, show_default=True, help="How many questions."
)
@click.option(
    "--chain",
    type=click.Choice(CHAINS),
    default="grounded",
    show_default=True,
    help="grounded: answer and cite in one call per question; three-step: answer, then find sources.",
)
@click.option("--sequential", is_flag=True, help="Run the steps one after another (for comparison).")
@click.option("--json", "as_json", is_flag=True, help='Print {"items", "failed_pages", "llm_calls"} as JSON.')
@click.pass_context
def faq(ctx: click.Context, urls: tuple[str, ...], questions: int, chain: str, sequential: bool, as_json: bool) -> None:
    """Build an FAQ with cited sources from the pages at URL..., and store it."""
    from workflows.faq import MAX_URLS, FaqError

    from .faq_service import FaqRequest, build_and_store
    from .wiring import open_services

    unique = list(dict.fromkeys(urls))
    if len(unique) > MAX_URLS:
        raise click.BadParameter(f"at most {MAX_URLS} links per FAQ ({len(unique)} given)", param_hint="URL")
    request = FaqRequest(
        urls=unique,
        questions=questions,
        chain=chain,  # type: ignore[arg-type]
        parallel=not sequential,
        requested_by=cli_actor(),
        platform="cli",
    )

    async def _faq() -> FaqResult:
        async with open_services(settings_from(ctx)) as services:
            with progress_bar(not as_json and sys.stderr.isatty()) as on_progress:
                built = await build_and_store(services, request, on_progress=on_progress)
        return built.result

    try:
        result = run_async(_faq())
    except FaqError as exc:
        raise Failure(str(exc)) from None
    if as_json:
        data: dict[str, Any] = result.to_json_dict()
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for failed in result.failed_pages:
        click.echo(f"warning: not used: {failed.reason}", err=True)
    click.echo(render_text(result))
