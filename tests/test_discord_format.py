"""Pure conversions of the Discord adapter: text split at 2,000 characters, command results as embeds
within every Discord limit, thread names, the registry's args text rebuilt from typed options, app
command shapes, and the REST base derived from SUPPORTBOT_DISCORD_API_URL."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from adapters.discord.commands import app_command, app_name, args_text
from adapters.discord.conversations import thread_name
from adapters.discord.embeds import (
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_EMBED_TOTAL,
    MAX_EMBEDS,
    MAX_FIELD_NAME,
    MAX_FIELD_VALUE,
    MAX_FIELDS,
    MAX_TITLE,
    render_result,
    split_text,
)
from adapters.discord.endpoints import rest_base
from bot.commands.registry import (
    Args,
    Command,
    CommandContext,
    CommandResult,
    Option,
    ResultItem,
    parse_args,
)


def check_limits(pages: list[Any]) -> None:
    for page in pages:
        assert len(page.content) <= MAX_CONTENT and (page.content or page.embeds)
        assert len(page.embeds) <= MAX_EMBEDS
        assert sum(len(e) for e in page.embeds) <= MAX_EMBED_TOTAL
        for embed in page.embeds:
            assert len(embed) > 0 and len(embed.title or "") <= MAX_TITLE
            assert len(embed.description or "") <= MAX_DESCRIPTION and len(embed.fields) <= MAX_FIELDS
            for f in embed.fields:
                assert len(f.name or "") <= MAX_FIELD_NAME and len(f.value or "") <= MAX_FIELD_VALUE


def test_split_text_keeps_every_word_and_prefers_paragraphs() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "word " * 150 for i in range(10))
    pieces = split_text(text)
    assert len(pieces) > 1 and all(len(p) <= MAX_CONTENT for p in pieces)
    assert " ".join(pieces).split() == text.split()
    assert all(p.startswith("Paragraph") for p in pieces)
    assert split_text("x" * 4500) == ["x" * 2000, "x" * 2000, "x" * 500]  # no boundary: cut hard
    assert split_text("short") == ["short"]


def test_huge_results_are_paged_within_every_limit() -> None:
    items = [
        ResultItem(
            title="T" * 400,
            body="b " * 5000,
            url="https://shop.test/" + "p" * 50,
            fields=[(f"field {j} " * 40, "v" * 2000) for j in range(40)],
            footer="f" * 3000,
        )
        for _ in range(15)
    ]
    pages = render_result(CommandResult(text="fallback", title="Big " * 100, items=items))
    check_limits(pages)
    assert len(pages) > 2 and all("page" in p.content for p in pages)
    assert sum(len(p.embeds) for p in pages) >= 15


def test_case_list_is_one_message_of_embeds() -> None:
    items = [
        ResultItem(
            title=f"RMA-{i:08d} · return · open",
            body="SuperWidget 5000: not compatible",
            fields=[("Opened", "2025-01-01"), ("Customer", "discord:1")],
        )
        for i in range(3)
    ]
    [page] = render_result(CommandResult(text="3 cases", title="Your cases (3 found)", items=items))
    check_limits([page])
    assert page.content == "**Your cases (3 found)**"
    assert page.embeds[0].title == "RMA-00000000 · return · open"
    assert page.embeds[0].fields[0].name == "Opened"


def test_a_result_without_items_is_text_and_split() -> None:
    pages = render_result(CommandResult(text="line\n" * 1000, title="Case RMA-1"))
    check_limits(pages)
    assert pages[0].content.startswith("**Case RMA-1**") and len(pages) >= 3 and not pages[0].embeds


def test_thread_names_are_one_line_of_at_most_100_characters() -> None:
    long = "Hi, I'm **writing** to you\nbecause " + "my invoice is wrong " * 20
    name = thread_name(long)
    assert len(name) <= 100 and "\n" not in name and "*" not in name and name.startswith("Hi, I'm writing to you")
    assert name.endswith("…")
    assert thread_name("   ") == "Support request"
    assert thread_name("where is my order #A-1?") == "where is my order A-1?"


def _command(*options: Option) -> Command:
    async def handler(ctx: CommandContext, args: Args) -> CommandResult:
        return CommandResult(text="")

    return Command("case-close", "Close a case", "/case-close REF [reason]", handler, options=options)


def test_args_text_is_positional_then_named_then_free_text() -> None:
    command = _command(
        Option("ref", "Case", required=True),
        Option("user", "Who", kind="user"),
        Option("status", "Status", positional=False),
        Option("page", "Page", kind="integer", positional=False),
        Option("reason", "Why", rest=True),
    )
    values = {
        "ref": "RMA-1",
        "user": discord.Object(id=42),
        "status": "in progress",
        "page": 2,
        "reason": 'the "parcel" arrived',
    }
    text = args_text(command, values)
    assert text == """RMA-1 42 status='in progress' page=2 the "parcel" arrived"""
    args = parse_args(text, command.options)
    assert args.positional[:2] == ["RMA-1", "42"] and args.named["status"] == "in progress"
    assert args.named["page"] == "2"
    assert args_text(command, {"ref": "RMA-1", "user": None}) == "RMA-1"


def test_app_command_options_are_typed_and_required_first() -> None:
    async def invoke(*_: Any) -> None:
        return None

    command = _command(
        Option("ref", "Case reference " * 20, required=False),
        Option("who", "User", kind="user"),
        Option("count", "How many", kind="integer", required=True, positional=False),
    )
    payload = app_command(command, invoke).to_dict(
        discord.app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    )
    assert payload["name"] == "case-close"
    options = payload["options"]
    assert [o["name"] for o in options] == ["count", "ref", "who"]  # Discord wants required options first
    assert [o["type"] for o in options] == [4, 3, 6] and options[0]["required"] is True
    assert all(len(o["description"]) <= 100 for o in options)
    assert app_name("Case_Close!") == "case_close"


@pytest.mark.parametrize(
    ("setting", "base"),
    [
        ("http://127.0.0.1:9999", "http://127.0.0.1:9999/api/v10"),
        ("http://127.0.0.1:9999/", "http://127.0.0.1:9999/api/v10"),
        ("http://127.0.0.1:9999/api", "http://127.0.0.1:9999/api/v10"),
        ("http://127.0.0.1:9999/api/v10", "http://127.0.0.1:9999/api/v10"),
        ("https://proxy.example/discord/api/v9/", "https://proxy.example/discord/api/v9"),
    ],
)
def test_rest_base_from_the_setting(setting: str, base: str) -> None:
    assert rest_base(setting) == base
