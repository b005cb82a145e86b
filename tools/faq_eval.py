"""Measure the /faq pipeline on the shared documentation pages: citations verified, wall times and model
calls of both chains (parallel and sequential) against the fake Gemini server, and context caching.

    .venv/bin/python tools/faq_eval.py [--questions 10] [--latency-ms 200] [--concurrency 10] [--repeats 3] [--json]

The pages of ../shared/data/pages (six real documentation pages) are served on 127.0.0.1 and go through
the real fetch → extract → context → chain → grounding pipeline (`build_faq`). The model is the real
`GeminiClient` (google-genai over HTTP) talking to the test suite's fake Gemini server
(tests/fakes/gemini.py) with a fixed latency per generateContent call. Each run uses a fresh client.

What the fake "model" answers: each step from the offline FAQ engine over the same pages (so the
answers are valid), made imperfect the way models are: every other quote has a copying slip (a word
left out, or case and spacing changed), and every answer carries one made-up citation (a page that was
not given, or an invented sentence on a given page). Grounding should keep every honest citation and
drop every made-up one; the figures say whether it did. The offline engine's own FAQ is measured too.

Reported:
- citations proposed / verified (share), honest kept, made-up dropped — fake Gemini and offline;
- per chain × {parallel, sequential}: model calls, wall time of `build_faq` (pages served locally,
  extraction reused from a warm page cache as on a second /faq, so the model dominates), the model
  span (first call's arrival to the last answer, in call latencies L), calls in flight at most;
  parallel runs: the median of `--repeats` runs, after one warm-up run. The fake server shares the
  process (and its one core) with the client, so its own request handling is counted too;
- tokens billed at the full input rate per FAQ with the explicit context cache and without it
  (token counts are the fake's: characters / 4 of each request; the cache's contents are billed once
  at creation, cached tokens at the cached rate — not counted here).

Exit 0 after a measurement, 2 when the shared pages are absent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable from a plain checkout

from aiohttp import web  # noqa: E402

from bot.bench.fakes import local_server  # noqa: E402
from tests.fakes.gemini import Fail, FakeGemini  # noqa: E402
from workflows.faq import FaqResult, MemoryPageCache, PageFetcher, build_faq  # noqa: E402
from workflows.faq.offline import OfflineFaq  # noqa: E402
from workflows.faq.pages import Page  # noqa: E402
from workflows.faq.pipeline import load_page  # noqa: E402
from workflows.faq.schemas import Chain  # noqa: E402
from workflows.llm.gemini import GeminiClient  # noqa: E402
from workflows.llm.runner import StepRunner  # noqa: E402

PAGES_DIR = ROOT.parent / "shared" / "data" / "pages"
PAGES = [
    "killbill/latest/faq.html",
    "killbill/latest/invoice_templates.html",
    "killbill/latest/shopping_cart.html",
    "killbill/latest/stripe_plugin.html",
    "auroraextensions-simplereturns/index.html",
    "auroraextensions-simplereturns/configuration.html",
]
CHAINS: tuple[Chain, ...] = ("grounded", "three-step")
MADE_UP_QUOTE = "Every plan includes unlimited free refunds processed within one hour."


@asynccontextmanager
async def serve_pages() -> AsyncIterator[list[str]]:
    app = web.Application()
    app.router.add_static("/", PAGES_DIR)
    async with local_server(app) as base:
        yield [f"{base}/{p}" for p in PAGES]


def slip(quote: str, turn: int) -> str:
    """A model's copying slip: a word left out of a long sentence, or case and spacing changed."""
    words = quote.split()
    if turn % 4 == 1 and len(words) >= 12:
        return " ".join(words[: len(words) // 2] + words[len(words) // 2 + 1 :])
    if turn % 4 == 3:
        return "  ".join(words).lower()
    return quote


class Responder:
    """The fake Gemini's answers: the offline engine's, with slips and one made-up citation each."""

    def __init__(self, offline: OfflineFaq, urls: list[str]) -> None:
        self.offline = offline
        self.urls = urls
        self.turn = 0
        self.honest = 0
        self.made_up = 0

    def _citations(self, citations: list[dict[str, str]]) -> list[dict[str, str]]:
        self.turn += 1
        out = [{"url": c["url"], "quote": slip(c["quote"], self.turn)} for c in citations]
        self.honest += len(out)
        made_up = (
            {"url": "https://docs.example.net/pricing.html", "quote": citations[0]["quote"]}
            if citations and self.turn % 2
            else {"url": self.urls[self.turn % len(self.urls)], "quote": MADE_UP_QUOTE}
        )
        self.made_up += 1
        return [*out, made_up]

    def __call__(self, model: str, body: dict[str, Any]) -> Any:
        prompt = body["contents"][-1]["parts"][-1]["text"]  # the pages, when not cached, come first
        if m := re.search(r"Write exactly (\d+) distinct questions", prompt):
            return self.offline.questions(int(m.group(1))).model_dump()
        question = prompt.split("\n", 1)[0].removeprefix("Question: ")
        if "Then cite your sources" in prompt:  # grounded: answer and citations in one call
            answer = self.offline.answer(question).model_dump()
            return {"answer": answer["answer"], "citations": self._citations(answer["citations"])}
        if "Find where the pages above support" in prompt:  # three-step, step 3
            answer_text = prompt.split("\nAnswer: ", 1)[1].split("\nFind where", 1)[0].strip()
            return {"citations": self._citations(self.offline.sources(answer_text).model_dump()["citations"])}
        if prompt.startswith("Question: "):  # three-step, step 2
            return self.offline.draft(question).model_dump()
        return Fail(400, "unexpected request")


@dataclass
class Run:
    engine: str  # gemini-fake | offline
    chain: str
    mode: str  # parallel | sequential
    caching: bool
    items: int
    llm_calls: int
    wall_s: float
    model_span_l: float | None  # first call's arrival to the last answer, in call latencies
    max_in_flight: int
    citations: int
    verified: int
    honest: int
    made_up: int
    caches_created: int
    caches_deleted: int
    prompt_tokens: int
    cached_tokens: int
    cache_tokens: int

    @property
    def billed_input_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens + self.cache_tokens


async def gemini_run(
    urls: list[str],
    pages: list[Page],
    fetcher: PageFetcher,
    cache: MemoryPageCache,
    *,
    chain: Chain,
    parallel: bool,
    caching: bool,
    n: int,
    latency_s: float,
    concurrency: int,
) -> Run:
    responder = Responder(OfflineFaq(pages), urls)
    async with FakeGemini(respond=responder, latency_s=latency_s) as fake:
        client = GeminiClient(
            api_key="eval-key",
            model="gemini-2.5-flash",
            router_model="gemini-2.5-flash-lite",
            base_url=fake.base_url,
            concurrency=concurrency,
            rpm=1000,
            timeout_s=30,
            **({} if caching else {"cache_min_tokens": None}),
        )
        try:
            started = time.perf_counter()
            result = await build_faq(
                urls,
                questions=n,
                chain=chain,
                parallel=parallel,
                runner=StepRunner(client),
                fetcher=fetcher,
                page_cache=cache,
            )
            wall = time.perf_counter() - started
        finally:
            await client.aclose()
        generate = fake.generate_requests
        span = (generate[-1].at - generate[0].at + latency_s) / latency_s if generate and latency_s else None
        s = client.stats
        return _run(
            "gemini-fake",
            result,
            wall,
            caching,
            span,
            fake.max_in_flight,
            responder.honest,
            responder.made_up,
            s.caches_created,
            s.caches_deleted,
            s.prompt_tokens,
            s.cached_tokens,
            s.cache_tokens,
        )


def _run(
    engine: str,
    result: FaqResult,
    wall: float,
    caching: bool,
    span: float | None,
    in_flight: int,
    honest: int,
    made_up: int,
    *tokens: int,
) -> Run:
    return Run(
        engine,
        result.chain,
        "parallel" if result.parallel else "sequential",
        caching,
        len(result.items),
        result.llm_calls,
        round(wall, 3),
        round(span, 2) if span is not None else None,
        in_flight,
        result.citations,
        result.citations_verified,
        honest,
        made_up,
        *tokens,
    )


async def evaluate(n: int, latency_s: float, concurrency: int, repeats: int = 3) -> list[Run]:
    runs: list[Run] = []
    async with serve_pages() as urls, PageFetcher(allowed_hosts=["127.0.0.1"]) as fetcher:
        cache = MemoryPageCache()
        pages = [p for p in [await load_page(u, fetcher, cache) for u in urls] if isinstance(p, Page)]
        for chain in CHAINS:
            started = time.perf_counter()
            result = await build_faq(
                urls, questions=n, chain=chain, runner=StepRunner(None), fetcher=fetcher, page_cache=cache
            )
            runs.append(
                _run(
                    "offline", result, time.perf_counter() - started, False, None, 0, result.citations, 0, 0, 0, 0, 0, 0
                )
            )
        # warm-up: the first google-genai request of a process pays one-time costs (imports, sessions)
        await gemini_run(
            urls,
            pages,
            fetcher,
            cache,
            chain="grounded",
            parallel=True,
            caching=True,
            n=n,
            latency_s=0,
            concurrency=concurrency,
        )
        for chain in CHAINS:
            for parallel in (True, False):
                samples = [
                    await gemini_run(
                        urls,
                        pages,
                        fetcher,
                        cache,
                        chain=chain,
                        parallel=parallel,
                        caching=True,
                        n=n,
                        latency_s=latency_s,
                        concurrency=concurrency,
                    )
                    for _ in range(repeats if parallel else 1)
                ]
                runs.append(sorted(samples, key=lambda r: r.wall_s)[len(samples) // 2])  # the median run
            runs.append(
                await gemini_run(
                    urls,
                    pages,
                    fetcher,
                    cache,
                    chain=chain,
                    parallel=True,
                    caching=False,
                    n=n,
                    latency_s=latency_s,
                    concurrency=concurrency,
                )
            )
    return runs


def report(runs: list[Run], n: int, latency_s: float, concurrency: int) -> str:
    lines = [
        f"FAQ on {len(PAGES)} shared documentation pages, N = {n} questions, fake Gemini latency "
        f"L = {latency_s * 1000:.0f} ms, concurrency cap {concurrency}",
        "",
        "engine       chain       mode        items calls   wall s  span L  in flight  "
        "citations verified  honest kept  made-up dropped",
    ]
    for r in runs:
        if not r.caching and r.engine != "offline":
            continue
        kept = r.verified  # every verified citation is an honest one: made-up ones cannot verify
        dropped = r.citations - r.verified
        lines.append(
            f"{r.engine:12s} {r.chain:11s} {r.mode:11s} {r.items:5d} {r.llm_calls:5d} {r.wall_s:8.2f} "
            f"{r.model_span_l if r.model_span_l is not None else '-':>7} {r.max_in_flight:10d}  "
            f"{r.verified:3d}/{r.citations:<3d} {r.verified / max(r.citations, 1):6.0%}  "
            f"{kept:4d}/{r.honest:<4d}   {dropped:4d}/{r.made_up:<4d}"
        )
    lines += [
        "",
        "context caching (parallel runs): input tokens billed at the full rate per FAQ",
        "chain       calls  without cache  with cache  share  (cached tokens read: at the cached rate)",
    ]
    for chain in CHAINS:
        plain = next(r for r in runs if r.engine != "offline" and r.chain == chain and not r.caching)
        cached = next(
            r for r in runs if r.engine != "offline" and r.chain == chain and r.caching and r.mode == "parallel"
        )
        lines.append(
            f"{chain:11s} {cached.llm_calls:5d} {plain.billed_input_tokens:14,d} "
            f"{cached.billed_input_tokens:11,d} {cached.billed_input_tokens / plain.billed_input_tokens:6.0%}"
            f"  ({cached.cached_tokens:,} cached; cache of {cached.cache_tokens:,} tokens made "
            f"{cached.caches_created}×, deleted {cached.caches_deleted}×)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="parallel runs per chain (the median is shown)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not PAGES_DIR.is_dir():
        print(f"faq_eval: {PAGES_DIR} not found (the shared data is not present)", file=sys.stderr)
        return 2
    latency_s = args.latency_ms / 1000
    runs = asyncio.run(evaluate(args.questions, latency_s, args.concurrency, args.repeats))
    if args.json:
        print(
            json.dumps(
                {
                    "questions": args.questions,
                    "latency_ms": args.latency_ms,
                    "concurrency": args.concurrency,
                    "runs": [asdict(r) | {"billed_input_tokens": r.billed_input_tokens} for r in runs],
                },
                indent=2,
            )
        )
    else:
        print(report(runs, args.questions, latency_s, args.concurrency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
