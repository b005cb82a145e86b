"""The Slack adapter's pure conversions: Slack text ↔ plain text and mrkdwn, splitting long text,
Block Kit rendering within Slack's limits, which events are customer text, and the app manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.slack.blocks import (
    MAX_BLOCKS,
    MAX_HEADER_CHARS,
    MAX_MESSAGE_CHARS,
    render_result,
    text_pages,
)
from adapters.slack.events import in_existing_thread, is_new_text, to_inbound
from adapters.slack.mrkdwn import MAX_TEXT_CHARS, from_slack, split_text, to_mrkdwn
from bot.commands.registry import CommandResult, ResultItem
from bot.wiring import build_registry
from tests.fakes.slack import message_event

REPO = Path(__file__).resolve().parents[1]


# --- mrkdwn ----------------------------------------------------------------------------------------
def test_markdown_becomes_mrkdwn() -> None:
    md = (
        "# Your cases\nThanks! **Invoice INV-7890** is *being checked*, case `INV_CASE_**X**`.\n"
        "- first\n* second\n• third\nSee [the policy](https://example.com/returns?a=1&b=2) ~~old~~."
    )
    out = to_mrkdwn(md)
    assert out.splitlines()[0] == "*Your cases*"
    assert "*Invoice INV-7890*" in out and "_being checked_" in out
    assert "`INV_CASE_**X**`" in out  # code spans are left alone
    assert "• first\n• second\n• third" in out
    assert "<https://example.com/returns?a=1&amp;b=2|the policy>" in out
    assert "~old~" in out and "**" not in out.replace("`INV_CASE_**X**`", "")


@pytest.mark.parametrize("live", ["<!channel>", "<!here>", "<!everyone>", "<!subteam^S1|@team>", "<@U123>"])
def test_mentions_are_never_live_in_output(live: str) -> None:
    out = to_mrkdwn(f"You wrote: {live} & more")
    assert "<" not in out and ">" not in out.replace("&gt;", "")
    assert "&lt;" in out and "&amp; more" in out


def test_code_fences_are_escaped_but_not_reformatted() -> None:
    out = to_mrkdwn("Try:\n```\nif a < b and **x**:\n```\ndone **now**")
    assert "```\nif a &lt; b and **x**:\n```" in out
    assert out.endswith("done *now*")


def test_slack_text_becomes_plain_text() -> None:
    wire = (
        "<@UBOT> hi <@U42|ann>, see <https://shop.test/a?x=1&amp;y=2|my order> and <https://shop.test/b> "
        "in <#C1|support> &lt;urgent&gt; <!here> <mailto:a@b.test|a@b.test>"
    )
    text = from_slack(wire, bot_user_id="UBOT")
    assert text == (
        "hi @U42, see my order (https://shop.test/a?x=1&y=2) and https://shop.test/b in #support "
        "<urgent> @here a@b.test"
    )
    command = from_slack(
        "<https://shop.test/faq|shop.test/faq> <https://shop.test/b|Docs> questions=3", link_labels=False
    )
    assert command == "https://shop.test/faq https://shop.test/b questions=3"


# --- splitting -------------------------------------------------------------------------------------
def test_split_text_cuts_at_paragraphs_within_the_limit() -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 150 for i in range(12)]
    text = "\n\n".join(paragraphs)
    pieces = split_text(text, 2000)
    assert len(pieces) > 1
    assert all(0 < len(p) <= 2000 for p in pieces)
    assert all(p.startswith("Paragraph") for p in pieces)  # every cut fell between paragraphs
    assert "\n\n".join(pieces).split() == text.split()  # nothing lost


def test_split_text_falls_back_to_lines_and_words() -> None:
    one_paragraph = "\n".join("line " + "x" * 50 for _ in range(200))
    assert all(len(p) <= 1000 for p in split_text(one_paragraph, 1000))
    no_spaces = "y" * 7000
    pieces = split_text(no_spaces, 3000)
    assert [len(p) for p in pieces] == [3000, 3000, 1000]
    assert split_text("") == ["…"]


def test_text_pages_respects_the_section_limit() -> None:
    pages = text_pages(("A long answer sentence with **bold**. " * 60 + "\n\n") * 8)
    assert len(pages) > 1 and all(len(p.text) <= MAX_TEXT_CHARS for p in pages)


# --- Block Kit -------------------------------------------------------------------------------------
def _all_text(block: dict[str, Any]) -> list[str]:
    found = []
    if "text" in block and isinstance(block["text"], dict):
        found.append(block["text"]["text"])
    found += [f["text"] for f in block.get("fields", [])]
    found += [e["text"] for e in block.get("elements", []) if "text" in e]
    return found


def _check_limits(page: Any) -> None:
    assert len(page.blocks) <= MAX_BLOCKS
    assert len(json.dumps(page.blocks)) <= MAX_MESSAGE_CHARS
    for block in page.blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_CHARS
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))


def test_faq_result_renders_header_sections_fields_and_context() -> None:
    result = CommandResult(
        text="FAQ",
        title="FAQ: returns",
        items=[
            ResultItem(
                title="How do I return an item?",
                body="Use the **RMA** form.",
                fields=[("Source", "Returns policy")],
                url="https://shop.test/returns",
                footer="from 1 page",
            )
        ],
    )
    [page] = render_result(result)
    types = [b["type"] for b in page.blocks]
    assert types == ["header", "section", "section", "context"]
    assert page.blocks[0]["text"]["text"] == "FAQ: returns"
    assert "*How do I return an item?*" in page.blocks[1]["text"]["text"]
    assert "*RMA*" in page.blocks[1]["text"]["text"] and "<https://shop.test/returns|" in page.blocks[1]["text"]["text"]
    assert page.blocks[2]["fields"][0]["text"] == "*Source*\nReturns policy"
    assert page.text == "FAQ: returns"


def test_huge_result_is_paged_within_every_limit() -> None:
    items = [
        ResultItem(
            title=f"Question {i} " + "q" * 200,
            body=("Answer text. " * 400),  # > 3,000 chars each
            fields=[(f"F{j}", "v" * 2500) for j in range(13)],
            footer="f" * 2500,
        )
        for i in range(40)
    ]
    result = CommandResult(text="x", title="T" * 400, items=items)
    pages = render_result(result)
    assert len(pages) > 3
    for page in pages:
        _check_limits(page)
    assert pages[0].blocks[0]["type"] == "header"
    assert pages[-1].blocks[-1]["elements"][0]["text"] == f"Page {len(pages)} of {len(pages)}"
    rendered = " ".join(t for p in pages for b in p.blocks for t in _all_text(b))
    assert all(f"Question {i} " in rendered for i in range(40))  # paged, nothing dropped


def test_text_only_result_and_empty_result_render() -> None:
    [page] = render_result(CommandResult(text="**Cases — 0 found**\nNo cases match.", title="Cases — 0 found"))
    assert page.blocks[1]["text"]["text"].startswith("*Cases — 0 found*")
    [empty] = render_result(CommandResult(text=""))
    assert empty.text and all(b["type"] != "divider" for b in empty.blocks)


# --- events ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "event, answered",
    [
        (message_event("hello"), True),
        (message_event("hello", subtype="thread_broadcast", thread_ts="1.0"), True),
        (message_event("a file", subtype="file_share"), True),
        (message_event("edited", subtype="message_changed"), False),
        (message_event("", subtype="message_deleted"), False),
        (message_event("<@U1> has joined the channel", subtype="channel_join"), False),
        (message_event("set the topic", subtype="channel_topic"), False),
        (message_event("beep", subtype="bot_message", bot_id="B2"), False),
        (message_event("from another bot", bot_id="B2"), False),
        (message_event("   "), False),
    ],
)
def test_only_new_text_from_people_is_answered(event: dict[str, Any], answered: bool) -> None:
    assert is_new_text(event) is answered  # type: ignore[arg-type]


def test_event_to_inbound() -> None:
    top = message_event("<@UBOT> where is &lt;my order&gt;?", channel="D1", ts="5.5", channel_type="im")
    inbound = to_inbound(top, bot_user_id="UBOT", event_id="Ev1")  # type: ignore[arg-type]
    assert (inbound.channel_id, inbound.thread_id, inbound.message_id) == ("D1", "5.5", "D1:5.5")
    assert inbound.text == "where is <my order>?" and inbound.is_dm and inbound.extras["event_id"] == "Ev1"
    reply = message_event("more", ts="6.6", thread_ts="5.5")
    assert to_inbound(reply).thread_id == "5.5" and in_existing_thread(reply)  # type: ignore[arg-type]
    assert not in_existing_thread(top)  # type: ignore[arg-type]


# --- the manifest --------------------------------------------------------------------------------
def test_manifest_declares_every_registry_command_scope_and_event() -> None:
    manifest = yaml.safe_load((REPO / "slack-app-manifest.yaml").read_text())
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    missing = {f"/{c.name}" for c in build_registry().all()} - declared
    assert not missing, f"add {sorted(missing)} to slack-app-manifest.yaml"
    assert {"/faq", "/case", "/cases", "/case-close"} <= declared
    # escaped text carries user ids (<@U…|name>) instead of display names, which /case-assign needs
    assert all(c["should_escape"] is True for c in manifest["features"]["slash_commands"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "chat:write",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "app_mentions:read",
        "reactions:write",
        "commands",
    }  # only the scopes the bot uses
    assert manifest["settings"]["interactivity"]["is_enabled"] is True  # case-card buttons and modals
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"app_mention", "message.channels", "message.groups", "message.im", "message.mpim"}
    assert manifest["settings"]["socket_mode_enabled"] is True
