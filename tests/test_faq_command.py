"""/faq through the command registry (the shell caller is staff) against pages served on 127.0.0.1:
items with sources among the given pages, the stored FAQ set, progress, refusals, caps, Slack links."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.commands.faq import parse_faq_args
from bot.commands.registry import Caller, CommandContext, CommandError, Progress
from bot.wiring import open_services, shell_chat
from storage import faqs as faq_store
from storage.models import Page

RETURNS, BILLING = "/fixtures/returns.html", "/fixtures/billing.html"
KILLBILL, SIMPLE_RETURNS = "/shared/killbill/latest/faq.html", "/shared/auroraextensions-simplereturns/index.html"


async def stored_sets(services: Any) -> list[tuple[Any, list[Any]]]:
    async with services.db.session() as s:
        sets = await faq_store.list_faq_sets(s)
        return [await faq_store.get_faq_set(s, f.id) for f in sets]  # type: ignore[misc]


async def test_faq_builds_posts_and_stores(faq_services: Any, site: str) -> None:
    urls = [site + RETURNS, site + BILLING]
    events: list[Progress] = []
    result = await shell_chat(faq_services).command(f"/faq {urls[0]} {urls[1]} questions=4", progress=events.append)
    assert result.ok and not result.ephemeral, result.text
    data = result.data
    assert set(data) == {"items", "failed_pages", "llm_calls"} and data["failed_pages"] == []
    assert len(data["items"]) == 4
    for item in data["items"]:
        assert item["sources"] and all(s["url"] in urls and s["quote"] for s in item["sources"])
    # one ResultItem per FAQ item (question, answer, sources), then the notes
    faq_items, notes = result.items[:-1], result.items[-1]
    assert [i.title for i in faq_items] == [i["question"] for i in data["items"]]
    assert [i.body for i in faq_items] == [i["answer"] for i in data["items"]]
    for shown, item in zip(faq_items, data["items"], strict=True):
        source = item["sources"][0]
        assert shown.url == source["url"] and shown.fields == [("Source", f"[{source['title']}]({source['url']})")]
        assert source["quote"][:40] in shown.footer
    assert notes.title == "Notes" and "saved as FAQ set #1" in notes.body
    assert result.title == "FAQ — 4 questions from 2 pages"
    assert "How long do I have to return a product?" in result.text
    # progress went through ctx.report, from fetching to done
    stages = [e.stage for e in events]
    assert stages[0] == "fetch" and stages[-1] == "done" and "answers" in stages

    [(faq_set, items)] = await stored_sets(faq_services)
    assert (faq_set.requested_by, faq_set.platform, faq_set.channel_id) == ("shell:local", "shell", "local")
    assert faq_set.urls == urls and faq_set.chain == "grounded" and faq_set.llm_calls == 0
    assert faq_set.failed_pages == [] and faq_set.created_at is not None
    assert [(i.position, i.question, i.answer, i.sources) for i in items] == [
        (n, i["question"], i["answer"], i["sources"]) for n, i in enumerate(data["items"])
    ]


async def test_faq_on_the_shared_documentation_pages(faq_services: Any, site: str, shared_data: Any) -> None:
    urls = [site + KILLBILL, site + SIMPLE_RETURNS]
    result = await shell_chat(faq_services).command(f"/faq {urls[0]} {urls[1]} questions=6 chain=three-step")
    assert result.ok, result.text
    assert len(result.data["items"]) == 6
    cited = {s["url"] for item in result.data["items"] for s in item["sources"]}
    assert cited <= set(urls) and cited == set(urls)  # both pages contribute
    [(faq_set, items)] = await stored_sets(faq_services)
    assert faq_set.chain == "three-step" and len(items) == 6


async def test_a_customer_cannot_run_faq(faq_services: Any, site: str) -> None:
    ctx = CommandContext(caller=Caller("slack", "U_CUSTOMER", is_staff=False), services=faq_services, channel_id="C1")
    result = await faq_services.registry.dispatch("faq", site + RETURNS, ctx)
    assert not result.ok and result.ephemeral and "staff only" in result.text
    assert await stored_sets(faq_services) == []
    async with faq_services.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Page))).scalar_one() == 0  # nothing fetched


async def test_slack_staff_caller_gets_the_faq(make_settings: Any, site: str) -> None:
    settings = make_settings(SUPPORTBOT_FAQ_ALLOWED_HOSTS="127.0.0.1", SUPPORTBOT_STAFF_SLACK_USER_IDS="U_STAFF")
    async with open_services(settings) as services:
        staff = services.is_staff("slack", "U_STAFF")
        ctx = CommandContext(caller=Caller("slack", "U_STAFF", is_staff=staff), services=services, channel_id="C9")
        # as Slack sends it with should_escape: links wrapped, one with a label of several words
        result = await services.registry.dispatch("faq", f"<{site}{RETURNS}|Returns and refunds page> questions=2", ctx)
        assert result.ok and len(result.data["items"]) == 2
        [(faq_set, _)] = await stored_sets(services)
        assert (faq_set.requested_by, faq_set.platform, faq_set.channel_id) == ("slack:U_STAFF", "slack", "C9")
        assert faq_set.urls == [site + RETURNS]


async def test_caps_on_questions_and_links(faq_services: Any, site: str) -> None:
    chat = shell_chat(faq_services)
    result = await chat.command(f"/faq {site}{RETURNS} {site}{BILLING} questions=1000")
    assert result.ok
    assert "questions=1000 is more than the maximum: building 20 questions." in result.text
    assert "questions were asked for" in result.text  # the two pages do not hold twenty questions
    assert 1 <= len(result.data["items"]) <= 20

    many = " ".join(f"{site}{RETURNS}?copy={n}" for n in range(50))
    result = await chat.command(f"/faq {many} questions=2")
    assert result.ok, result.text
    assert "Only the first 10 links were used (50 given): at most 10 per FAQ." in result.text
    assert "Only the first 10 links" in result.items[-1].body  # shown on Slack/Discord too
    faq_set, _ = (await stored_sets(faq_services))[0]
    assert faq_set.urls == [f"{site}{RETURNS}?copy={n}" for n in range(10)]


async def test_bad_links_are_named_one_line_each(faq_services: Any, site: str) -> None:
    chat = shell_chat(faq_services)
    result = await chat.command(f"/faq not-a-link gopher://example.org/ {site}/missing.html {site}{RETURNS}")
    assert result.ok and result.data["items"]
    reasons = [f["reason"] for f in result.data["failed_pages"]]
    assert reasons == [
        "not-a-link is not a full link: it must start with https:// or http://",
        "gopher://example.org/ is refused: only http and https links can be fetched, not gopher://",
        f"{site}/missing.html answered 404 Not Found",
    ]
    for reason in reasons:
        assert f"Not used: {reason}" in result.text and f"Not used: {reason}" in result.items[-1].body

    result = await chat.command("/faq not-a-link file:///etc/passwd")
    assert not result.ok and result.ephemeral
    assert result.text.splitlines() == [
        "Could not build the FAQ: none of the pages could be used.",
        "• not-a-link is not a full link: it must start with https:// or http://",
        "• file:///etc/passwd is refused: only http and https links can be fetched, not file://",
    ]
    assert len(await stored_sets(faq_services)) == 1


async def test_loopback_without_the_allow_list_is_refused(services: Any, site: str) -> None:
    result = await shell_chat(services).command(f"/faq {site}{RETURNS}")
    assert not result.ok
    assert result.text.splitlines()[1] == (
        f"• {site}{RETURNS} is refused: it resolves to a loopback address "
        "(add the host to SUPPORTBOT_FAQ_ALLOWED_HOSTS to allow it)"
    )


async def test_usage_errors(faq_services: Any) -> None:
    chat = shell_chat(faq_services)
    for line, expected in [
        ("/faq", "Give at least one link"),
        ("/faq https://a.test/ questions=0", "from 1 to 20"),
        ("/faq https://a.test/ questions=many", "questions= takes a whole number"),
        ("/faq https://a.test/ chain=fast", "use chain=grounded or chain=three-step"),
    ]:
        result = await chat.command(line)
        assert not result.ok and result.ephemeral and expected in result.text, (line, result.text)
    assert faq_services.registry.get("faq").long_running  # adapters acknowledge at once and deliver later


def test_parse_faq_args() -> None:
    parsed = parse_faq_args(
        "<https://a.test/x?y=1|The X page> <https://b.test/> https://c.test/z, "
        "https://a.test/x?y=1 QUESTIONS=7 chain=THREE_STEP"
    )
    assert parsed.urls == ["https://a.test/x?y=1", "https://b.test/", "https://c.test/z"]
    assert (parsed.questions, parsed.chain, parsed.notes) == (7, "three-step", [])
    # Discord's command text: options first, the links as typed (a pasted comma-separated list)
    parsed = parse_faq_args("questions=3 https://a.test/1,https://a.test/2")
    assert parsed.urls == ["https://a.test/1", "https://a.test/2"] and parsed.questions == 3
    with pytest.raises(CommandError):
        parse_faq_args("questions=3")
