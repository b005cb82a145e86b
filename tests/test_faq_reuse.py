"""Storage and reuse of FAQs: the `pages` table as the page cache (unchanged pages are not extracted
again, changed ones are), and stored FAQ items answering customers' general questions through the
pipeline — matched with a fuzzy score plus a keyword check, from an in-memory cache on the hot path."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import event, func, select

from bot.faq_service import FaqRequest, StoredPageCache, build_and_store
from bot.wiring import shell_chat
from storage import faqs as faq_store
from storage.models import Page
from workflows.faq import CachedPage
from workflows.faq.answers import FaqAnswers, FaqIndex

RETURNS, BILLING = "/fixtures/returns.html", "/fixtures/billing.html"


def request(urls: list[str], questions: int = 3) -> FaqRequest:
    return FaqRequest(
        urls=urls, questions=questions, chain="grounded", requested_by="shell:ops", platform="shell", channel_id="local"
    )


async def page_rows(services: Any) -> dict[str, Page]:
    async with services.db.session() as s:
        return {p.url: p for p in (await s.execute(select(Page))).scalars()}


# --- the page cache -----------------------------------------------------------------------------


async def test_asking_again_reuses_the_extraction(faq_services: Any, site: str) -> None:
    urls = [site + RETURNS, site + BILLING]
    first = await build_and_store(faq_services, request(urls))
    assert first.result.pages_reused == 0 and first.set_id == 1
    rows = await page_rows(faq_services)
    assert set(rows) == set(urls)
    assert rows[site + RETURNS].title == "Returns and refunds" and len(rows[site + RETURNS].content_hash) == 64
    assert "within 30 days of delivery" in rows[site + RETURNS].text

    second = await build_and_store(faq_services, request(urls))
    assert second.result.pages_reused == 2 and second.set_id == 2
    assert second.result.items == first.result.items  # the same extraction, the same (offline) FAQ
    # /faq says so too
    result = await shell_chat(faq_services).command(f"/faq {urls[0]} {urls[1]} questions=2")
    assert "2 of 2 pages reused" in result.text


@asynccontextmanager
async def changing_page() -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A page whose text a test can change between requests."""
    content = {
        "body": "<html><head><title>Opening hours</title></head><body><main><h1>Opening hours</h1>"
        "<p>Our support desk is open from 9 am to 5 pm on weekdays.</p></main></body></html>"
    }

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=content["body"], content_type="text/html")

    app = web.Application()
    app.router.add_get("/hours", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hours", content
    finally:
        await runner.cleanup()


async def test_a_changed_page_is_extracted_again(faq_services: Any) -> None:
    async with changing_page() as (url, content):
        await build_and_store(faq_services, request([url], 1))
        before = (await page_rows(faq_services))[url]
        content["body"] = content["body"].replace("9 am to 5 pm", "8 am to 8 pm")
        again = await build_and_store(faq_services, request([url], 1))
    assert again.result.pages_reused == 0
    after = (await page_rows(faq_services))[url]
    assert after.id == before.id and after.content_hash != before.content_hash  # replaced in place
    assert "8 am to 8 pm" in after.text and after.fetched_at >= before.fetched_at


async def test_stored_page_cache_round_trip(services: Any) -> None:
    cache = StoredPageCache(services.db)
    assert await cache.get("https://a.test/") is None
    await cache.put(CachedPage(url="https://a.test/", title="A", text="# A\nOne.", content_hash="1" * 64))
    await cache.put(CachedPage(url="https://a.test/", title="A2", text="# A\nTwo.\x00", content_hash="2" * 64))
    assert await cache.get("https://a.test/") == CachedPage(
        url="https://a.test/", title="A2", text="# A\nTwo.", content_hash="2" * 64
    )
    await cache.put(CachedPage(url="https://a.test/" + "x" * 3000, title="", text="t", content_hash="3" * 64))
    async with services.db.session() as s:  # one row per URL; a link too long for the column is not cached
        assert (await s.execute(select(func.count()).select_from(Page))).scalar_one() == 1


# --- answering general questions from stored FAQs -------------------------------------------------


async def test_a_stored_faq_answers_a_matching_customer_question(faq_services: Any, site: str) -> None:
    chat = shell_chat(faq_services, user_id="cust-1")
    before = (await chat.send("Which payment methods do you accept?")).result
    assert before is not None and "PayPal" not in before.reply  # nothing stored yet

    result = await chat.command(f"/faq {site}{RETURNS} {site}{BILLING} questions=8")
    assert "Which payment methods do you accept?" in [i["question"] for i in result.data["items"]]

    outcome = await shell_chat(faq_services, user_id="cust-2").send("Hi! Which payment methods do you accept?")
    assert outcome.result is not None and outcome.result.route == "general"
    reply = outcome.result.reply
    assert "We accept credit cards, debit cards, PayPal and bank transfers." in reply
    assert f"Source: Invoices and payments <{site}{BILLING}>" in reply

    reworded = (await shell_chat(faq_services).send("what payment methods can I use")).result
    assert reworded is not None and f"<{site}{BILLING}>" in reworded.reply

    for unrelated in (
        "How do I change my password?",
        "Do you offer gift wrapping?",
        "Which colours does the jacket come in?",
    ):
        other = (await shell_chat(faq_services).send(unrelated)).result
        assert other is not None and other.route == "general", unrelated
        assert "Source:" not in other.reply and site not in other.reply, unrelated


def stored(set_id: int, question: str, answer: str, url: str = "https://docs.test/a") -> faq_store.StoredFaqItem:
    return faq_store.StoredFaqItem(
        set_id=set_id,
        position=0,
        question=question,
        answer=answer,
        sources=[{"title": "Docs", "url": url, "quote": answer}],
        created_at=None,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Which payment methods do you accept?", "Which payment methods do you accept?"),
        ("hello, what payment methods do you take?", "Which payment methods do you accept?"),
        ("how long do i have to return a product", "How long do I have to return a product?"),
        ("Why did you charge me twice??", "Why was I charged twice?"),
        ("What is a late fee", "What is a late fee?"),
        ("How do I change my password?", None),  # shares only "how do I"
        ("Can I pay my late invoice by cheque?", None),  # one shared word of three
        ("payment", None),  # one word is not a question
        ("What is an exchange rate for euros?", None),  # the exchange question is about returns: coverage
        ("", None),
    ],
)
def test_matching(text: str, expected: str | None) -> None:
    index = FaqIndex(
        [
            stored(2, q, f"Answer to {q}")
            for q in (
                "Which payment methods do you accept?",
                "How long do I have to return a product?",
                "Why was I charged twice?",
                "What is a late fee?",
                "What is an exchange?",
                "How do I start a return?",
            )
        ]
    )
    found = index.match(text)
    assert (found.candidate.question if found else None) == expected


def test_newest_set_wins_and_items_without_sources_are_skipped() -> None:
    index = FaqIndex(
        [
            stored(5, "Which payment methods do you accept?", "New answer.", "https://docs.test/new"),
            stored(3, "Which payment methods do you accept?", "Old answer.", "https://docs.test/old"),
            faq_store.StoredFaqItem(
                set_id=3, position=1, question="What is a late fee?", answer="x", sources=[], created_at=None
            ),
        ]
    )  # type: ignore[arg-type]
    assert len(index) == 1
    found = index.match("which payment methods do you accept")
    assert found is not None and found.candidate.answer == "New answer." and found.candidate.set_id == 5
    assert index.match("what is a late fee") is None


@contextmanager
def counted_statements(services: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(services.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(services.db.engine.sync_engine, "before_cursor_execute", count)


async def store_set(services: Any, question: str, answer: str) -> int:
    async with services.db.write() as s:
        faq_set = await faq_store.save_faq_set(
            s,
            requested_by="cli:ops",
            platform="cli",
            channel_id="",
            urls=["https://docs.test/a"],
            chain="grounded",
            llm_calls=0,
            failed_pages=[],
            items=[
                faq_store.NewFaqItem(
                    question, answer, [{"title": "Docs", "url": "https://docs.test/a", "quote": answer}]
                )
            ],
        )
        return faq_set.id


async def test_the_answerer_reads_the_database_only_to_refresh(services: Any) -> None:
    now = [1000.0]
    answers = FaqAnswers(services.db, refresh_s=30, clock=lambda: now[0])
    await store_set(services, "How do I reset my router?", "Hold the reset button for ten seconds.")

    assert (await answers("how do i reset my router")).answer == "Hold the reset button for ten seconds."
    assert answers.loads == 1
    with counted_statements(services) as statements:
        for _ in range(50):
            assert await answers("How can I reset the router?") is not None
            assert await answers("Is the shop open on Sunday?") is None
    assert statements == []  # the hot path: memory only

    # a set stored by another process (no invalidate): seen once the refresh interval has passed
    await store_set(services, "Is the shop open on Sunday?", "Yes, from 10 am to 4 pm.")
    assert await answers("Is the shop open on Sunday?") is None
    now[0] += 30
    with counted_statements(services) as statements:
        assert (await answers("Is the shop open on Sunday?")).answer == "Yes, from 10 am to 4 pm."  # type: ignore[union-attr]
        assert await answers("Is the shop open on Sunday?") is not None
    assert answers.loads == 2 and len(statements) == 2  # newest set id, then the items

    # nothing new: the periodic check is one small query and no reload
    now[0] += 30
    with counted_statements(services) as statements:
        await answers("anything")
    assert len(statements) == 1 and answers.loads == 2

    # stored in this process: invalidate() makes the next call reload at once
    await store_set(services, "Do you ship to Canada?", "Yes, within 10 business days.")
    answers.invalidate()
    assert (await answers("do you ship to canada")).answer == "Yes, within 10 business days."  # type: ignore[union-attr]
    assert answers.loads == 3


class BrokenDatabase:
    @asynccontextmanager
    async def session(self) -> AsyncIterator[Any]:
        raise ConnectionResetError("database went away")
        yield


async def test_the_answerer_survives_a_database_failure(services: Any) -> None:
    answers = FaqAnswers(services.db)
    await store_set(services, "How do I reset my router?", "Hold the reset button for ten seconds.")
    assert await answers("How do I reset my router?") is not None
    answers.db = BrokenDatabase()  # type: ignore[assignment]
    answers.invalidate()
    # the reply goes out without the stored FAQs' refresh, from what was loaded before
    assert (await answers("How do I reset my router?")) is not None
    assert await FaqAnswers(BrokenDatabase())("How do I reset my router?") is None  # type: ignore[arg-type]


def test_matching_is_fast_on_thousands_of_items() -> None:
    topics = ["router", "invoice", "parcel", "jacket", "warranty", "voucher", "account", "delivery", "refund", "app"]
    verbs = ["reset", "download", "track", "wash", "claim", "redeem", "close", "reschedule", "request", "update"]
    items = [
        stored(1000 - i, f"How do I {verbs[i % 10]} my {topics[i // 10 % 10]} number {i}?", f"Answer {i}.")
        for i in range(2000)
    ]
    index = FaqIndex(items)
    texts = [
        "How do I track my parcel?",
        "can I wash the jacket",
        "What is your phone number?",
        "how do i redeem my voucher number 15",
        "I want to close my account please",
    ] * 200
    started = time.perf_counter()
    matched = sum(index.match(t) is not None for t in texts)
    per_call_ms = (time.perf_counter() - started) / len(texts) * 1000
    print(f"\nfaq matching: {len(index)} stored questions, {per_call_ms:.3f} ms per message, {matched} matched")
    assert matched >= 400 and index.match("What is your phone number?") is None
    assert per_call_ms < 5, f"{per_call_ms:.2f} ms per message"
