"""`build_faq`: links in, a cited FAQ out — fetch, extract, ask, answer, verify.

    urls ─┬─ fetch + extract (page cache: unchanged pages are not extracted again) ─┐
          └─ a failing page goes to failed_pages; the others go on                   │
    pages → context (cut to a token budget) → questions → answers with citations → grounding
          → FaqResult (answers without a verified citation are counted and left out)

Storage and chat adapters are not here: the caller passes the runner, the fetcher, an optional page
cache and an optional progress callback, and stores or posts the result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ..llm.runner import StepRunner
from .cache import CachedPage, PageCache, content_hash
from .chains import FaqSteps, ask_questions, each, run_chain
from .context import DEFAULT_MAX_CONTEXT_TOKENS, render_context
from .extract import Extracted, extract_html, extract_plain
from .fetch import FetchedPage, FetchError, PageFetcher
from .grounding import Grounding
from .offline import OfflineFaq
from .pages import Page, build_page
from .progress import ProgressCallback, ProgressReporter
from .schemas import MAX_QUESTIONS, Chain, FailedPage, FaqItem, FaqResult

_log = logging.getLogger(__name__)

MAX_URLS = 10
# Pages are parsed off the event loop, one at a time: trafilatura parses every page with one module-level lxml
# parser, and lxml parsers must not be used by two threads at once (two concurrent parses aborted the process).
_EXTRACTION = ThreadPoolExecutor(max_workers=1, thread_name_prefix="supportbot-extract")
DEFAULT_QUESTIONS = 5
CHAINS: tuple[Chain, ...] = ("grounded", "three-step")


class FaqError(Exception):
    """The FAQ could not be built at all. `str(err)` is one line, safe to show a customer."""

    def __init__(self, message: str, failed_pages: Sequence[FailedPage] = ()) -> None:
        super().__init__(message)
        self.failed_pages = list(failed_pages)


def _check_request(urls: Sequence[str], questions: int, chain: str) -> list[str]:
    cleaned = list(dict.fromkeys(u.strip() for u in urls if u and u.strip()))
    if not cleaned:
        raise FaqError("Give at least one link (http:// or https://) to build an FAQ from.")
    if len(cleaned) > MAX_URLS:
        raise FaqError(f"At most {MAX_URLS} links per FAQ ({len(cleaned)} given): split them over several FAQs.")
    if not 1 <= questions <= MAX_QUESTIONS:
        raise FaqError(f"The number of questions must be between 1 and {MAX_QUESTIONS} ({questions} given).")
    if chain not in CHAINS:
        raise FaqError(f"Unknown chain {chain!r}: use one of {', '.join(CHAINS)}.")
    return cleaned


def _extract(fetched: FetchedPage) -> Extracted:
    if fetched.is_html:
        # Bytes without a declared charset: trafilatura reads the page's own <meta charset>.
        html: str | bytes = fetched.text() if fetched.charset else fetched.body
        return extract_html(html, url=fetched.final_url)
    return extract_plain(fetched.text())


async def load_page(url: str, fetcher: PageFetcher, page_cache: PageCache | None = None) -> Page | FailedPage:
    """One page fetched and extracted (or taken from the cache when its body is unchanged)."""
    try:
        fetched = await fetcher.fetch(url)
    except FetchError as exc:
        _log.info("faq page failed: %s", exc)
        return FailedPage(url=url, reason=str(exc))
    digest = content_hash(fetched.body)
    cached = None
    if page_cache is not None:
        try:
            cached = await page_cache.get(url)
        except Exception:  # a cache is an optimisation: never fail a page because of it
            _log.warning("faq page cache: get failed for %s", url, exc_info=True)
    if cached is not None and cached.content_hash == digest and cached.text.strip():
        return await asyncio.to_thread(
            build_page,
            url=url,
            title=cached.title,
            text=cached.text,
            content_hash=digest,
            final_url=fetched.final_url,
            reused=True,
        )
    extracted = await asyncio.get_running_loop().run_in_executor(_EXTRACTION, _extract, fetched)
    if not extracted.text.strip():
        return FailedPage(url=url, reason=f"{url} has no readable text")
    page = await asyncio.to_thread(
        build_page,
        url=url,
        title=extracted.title,
        text=extracted.text,
        content_hash=digest,
        final_url=fetched.final_url,
    )
    if not page.sentences:
        return FailedPage(url=url, reason=f"{url} has no readable text")
    if page_cache is not None:
        try:
            await page_cache.put(CachedPage(url=url, title=page.title, text=page.text, content_hash=digest))
        except Exception:
            _log.warning("faq page cache: put failed for %s", url, exc_info=True)
    return page


async def build_faq(
    urls: Sequence[str],
    *,
    questions: int = DEFAULT_QUESTIONS,
    chain: Chain = "grounded",
    parallel: bool = True,
    runner: StepRunner,
    fetcher: PageFetcher,
    on_progress: ProgressCallback | None = None,
    page_cache: PageCache | None = None,
    max_context_tokens: int = DEFAULT_MAX_CONTEXT_TOKENS,
) -> FaqResult:
    """Build an FAQ of up to `questions` cited items from the pages at `urls` (raises FaqError)."""
    started = time.perf_counter()
    urls = _check_request(urls, questions, chain)
    progress = ProgressReporter(on_progress)
    try:
        result = await _build(
            urls, questions, chain, parallel, runner, fetcher, progress, page_cache, max_context_tokens
        )
    except BaseException:
        progress.cancel()
        raise
    result.seconds = round(time.perf_counter() - started, 3)
    progress.emit("done", len(result.items), len(result.items), f"FAQ ready: {len(result.items)} questions")
    await progress.aclose()
    _log.info(
        "faq built: %d items (%d unsupported) from %d/%d pages, chain %s %s, %d model calls, "
        "%d/%d citations verified, %.2fs",
        len(result.items),
        result.unsupported,
        len(urls) - len(result.failed_pages),
        len(urls),
        chain,
        "parallel" if parallel else "sequential",
        result.llm_calls,
        result.citations_verified,
        result.citations,
        result.seconds,
    )
    return result


async def _build(
    urls: list[str],
    n: int,
    chain: Chain,
    parallel: bool,
    runner: StepRunner,
    fetcher: PageFetcher,
    progress: ProgressReporter,
    page_cache: PageCache | None,
    max_context_tokens: int,
) -> FaqResult:
    loaded = 0

    async def load(url: str) -> Page | FailedPage:
        nonlocal loaded
        outcome = await load_page(url, fetcher, page_cache)
        loaded += 1
        progress.emit("fetch", loaded, len(urls), f"Read {loaded} of {len(urls)} pages")
        return outcome

    progress.emit("fetch", 0, len(urls), f"Reading {len(urls)} page{'s' if len(urls) > 1 else ''}")
    outcomes = await each(urls, load, parallel=parallel)
    pages = [o for o in outcomes if isinstance(o, Page)]
    failed = [o for o in outcomes if isinstance(o, FailedPage)]
    if not pages:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise FaqError(f"None of the pages could be used: {failed[0].reason}{more}", failed)

    context = render_context(pages, max_tokens=max_context_tokens)
    steps = FaqSteps(pages=pages, context=context, runner=runner, offline=OfflineFaq(pages), progress=progress)
    async with runner.hold_context(context.key):  # the provider's cache of the pages lives as long as this FAQ
        progress.emit("questions", 0, 1, f"Writing {n} questions")
        asked = await ask_questions(steps, n)
        progress.emit("questions", 1, 1, f"Answering {len(asked)} questions")
        drafts = await run_chain(steps, asked, chain=chain, parallel=parallel)

    grounding = Grounding(pages)
    items: list[FaqItem] = []
    unsupported = 0
    for draft in drafts:
        sources = grounding.verify(draft.citations)
        if not draft.answer or not sources:
            unsupported += 1
            _log.info("faq answer left out (no verified citation): %s", draft.question[:120])
            continue
        items.append(FaqItem(question=draft.question, answer=draft.answer, sources=sources))
    return FaqResult(
        items=items,
        failed_pages=failed,
        llm_calls=steps.tally.llm_calls,
        chain=chain,
        parallel=parallel,
        questions_asked=len(asked),
        unsupported=unsupported,
        citations=grounding.stats.proposed,
        citations_verified=grounding.stats.verified,
        fallbacks=steps.tally.fallbacks,
        pages_reused=sum(p.reused for p in pages),
        pages_cut=list(context.cut),
    )
