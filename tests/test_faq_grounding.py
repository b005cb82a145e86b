"""Citation verification and the offline engine on hand-made pages (pure functions, no network)."""

from __future__ import annotations

from workflows.faq.grounding import Grounding, canonical_url, normalise
from workflows.faq.offline import OfflineFaq
from workflows.faq.pages import build_page
from workflows.faq.schemas import Citation

RETURNS = build_page(
    url="https://help.example.com/returns/",
    title="Returns",
    content_hash="r",
    text=(
        "# Returns\nYou can return most products within 30 days of delivery. Opened software cannot be returned.\n"
        "## How do I start a return?\nOpen your order history and select Return items. We email a label.\n"
        "## Exchanges\nAn exchange is a return followed by a new order."
    ),
)
BILLING = build_page(
    url="https://help.example.com/billing",
    title="Billing",
    content_hash="b",
    text=(
        "# Billing\n## Where are my invoices?\nAll invoices are listed under Billing in your account settings.\n"
        "A late fee is a charge added to an unpaid invoice."
    ),
)


def verify(*citations: tuple[str, str]) -> list[tuple[str, str]]:
    grounding = Grounding([RETURNS, BILLING])
    return [(s.url, s.quote) for s in grounding.verify([Citation(url=u, quote=q) for u, q in citations])]


def test_exact_quote_after_normalising_case_space_and_punctuation() -> None:
    shown = verify((RETURNS.url, "you can return MOST products   within 30 days of delivery"))
    assert shown == [(RETURNS.url, "You can return most products within 30 days of delivery.")]
    assert normalise("“Don’t”  —  stop!") == "don t stop"


def test_near_match_shows_the_pages_own_sentence() -> None:
    shown = verify((BILLING.url, "All invoices are listed under Biling in your acount settings"))
    assert shown == [(BILLING.url, "All invoices are listed under Billing in your account settings.")]


def test_quote_across_a_sentence_boundary() -> None:
    shown = verify((RETURNS.url, "within 30 days of delivery. Opened software cannot"))
    assert shown == [
        (RETURNS.url, "You can return most products within 30 days of delivery. Opened software cannot be returned.")
    ]


def test_fabrications_are_dropped() -> None:
    assert verify((RETURNS.url, "Returns are free forever, no questions asked.")) == []
    assert verify(("https://evil.example/returns/", "You can return most products within 30 days of delivery.")) == []
    assert verify((BILLING.url, "You can return most products within 30 days of delivery.")) == []  # wrong page
    assert verify((RETURNS.url, "30 days")) == []  # too short to show anything
    # a real sentence padded with an invented claim is not a near match of that sentence
    assert (
        verify(
            (
                RETURNS.url,
                "Opened software cannot be returned, but every other product is refunded "
                "twice within one hour of asking.",
            )
        )
        == []
    )


def test_urls_compare_canonically_and_each_page_is_cited_once() -> None:
    shown = verify(
        ("HTTPS://help.example.com/returns#top", "Open your order history and select Return items."),
        ("https://help.example.com/returns/", "We email a label and more."),
        ("https://help.example.com/billing/", "A late fee is a charge added to an unpaid invoice."),
    )
    assert shown == [
        (RETURNS.url, "Open your order history and select Return items."),
        (BILLING.url, "A late fee is a charge added to an unpaid invoice."),
    ]
    assert canonical_url("https://Help.Example.com:443/a/") == "https://help.example.com/a"


def test_stats_count_what_verified() -> None:
    grounding = Grounding([RETURNS])
    grounding.verify(
        [
            Citation(url=RETURNS.url, quote="An exchange is a return followed by a new order."),
            Citation(url=RETURNS.url, quote="Made up entirely by the model here."),
        ]
    )
    assert (grounding.stats.proposed, grounding.stats.verified) == (2, 1)
    assert grounding.stats.dropped == {"quote not found on the page": 1}


def test_offline_questions_answers_and_sources() -> None:
    engine = OfflineFaq([RETURNS, BILLING])
    faq = engine.faq(5)
    # question headings first, then definitions, pages taking turns; "Exchanges" would cite the same
    # sentence as "What is an exchange?" and a heading equal to the page title is no question: only 4
    assert [qa.question for qa in faq] == [
        "How do I start a return?",
        "Where are my invoices?",
        "What is an exchange?",
        "What is a late fee?",
    ]
    assert [qa.url for qa in faq] == [RETURNS.url, BILLING.url, RETURNS.url, BILLING.url]
    answer = engine.answer("Where are my invoices?")
    assert (
        answer.answer == "All invoices are listed under Billing in your account settings. "
        "A late fee is a charge added to an unpaid invoice."
    )
    assert answer.citations[0].url == BILLING.url
    # a question it did not write: the best-matching sentence, from the right page
    retrieved = engine.answer("Can I return opened software?")
    assert retrieved.citations[0].url == RETURNS.url and "Opened software" in retrieved.answer
    assert engine.answer("What colour is the sky on Mars?").citations == []
    sources = engine.sources("All invoices are listed under Billing in your account settings.")
    assert [(c.url, c.quote) for c in sources.citations] == [
        (BILLING.url, "All invoices are listed under Billing in your account settings.")
    ]
