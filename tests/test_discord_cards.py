"""Case cards rendered for Discord (pure: no client): the embed within Discord's limits, the status a
staff member reads, the forum tag of each stage, and buttons whose custom ids carry action and value."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from adapters.discord.cards import card_embed, is_card_of, post_name, stage, status_line
from adapters.discord.views import TEMPLATE, StaffViews
from adapters.platform import Button, Card, InteractionReply

CARD = Card(
    ref="TEC-77",
    kind="technical",
    status="open",
    customer_id="300000000000000001",
    summary="Router keeps rebooting\nsince the update",
    created_at=datetime(2026, 1, 1, 12, 0),
)


def test_stages_follow_the_case() -> None:
    assert stage(CARD) == "open" and status_line(CARD) == "Open, waiting for staff"
    claimed = replace(CARD, status="in_progress", assignee="discord:300000000000000002")
    assert stage(claimed) == "claimed" and status_line(claimed) == "Claimed by <@300000000000000002>"
    assert status_line(replace(claimed, assignee="slack:U_1")) == "Claimed by slack:U\\_1"  # not a Discord user
    closed = replace(CARD, status="closed", closed_reason="**fixed** it")
    assert stage(closed) == "closed" and status_line(closed) == "Closed: \\*\\*fixed\\*\\* it"
    assert status_line(replace(CARD, closed_reason="was closed")) == "Reopened, waiting for staff"
    assert status_line(replace(CARD, status="resolved")) == "Resolved, to be closed"


def test_embed_stays_within_discords_limits() -> None:
    huge = replace(
        CARD,
        ref="X" * 40,
        kind="k" * 300,
        summary="word " * 2000,
        needs_staff_reason="r" * 5000,
        thread_link="javascript:alert(1)",
    )
    embed = card_embed(huge)
    assert len(embed.title or "") <= 256 and len(embed.description or "") <= 4096 and len(embed) <= 6000
    assert embed.url is None and all(len(f.value or "") <= 1024 for f in embed.fields)
    assert len(post_name(huge)) <= 100 and "\n" not in post_name(CARD)
    assert post_name(CARD) == "TEC-77 · Router keeps rebooting since the update"
    assert embed.timestamp is not None and embed.timestamp.tzinfo is not None  # a naive time is taken as UTC
    assert is_card_of(card_embed(CARD), "TEC-77") and not is_card_of(card_embed(CARD), "TEC-7")


async def _never(_: object) -> InteractionReply:
    raise AssertionError("not called")


def test_buttons_carry_action_and_value(caplog: pytest.LogCaptureFixture) -> None:
    views = StaffViews(on_interaction=_never, is_staff=lambda *_: False)
    view = views.view(
        (
            Button("case_claim", "Claim", "TEC-77", "primary"),
            Button("rate", "👍", "TEC-77:up"),
            Button("clarify", "x" * 100, "v" * 120),
        )
    )
    assert view is not None and view.timeout is None and view.is_persistent()
    ids = [c["custom_id"] for row in view.to_components() for c in row["components"]]
    assert ids == ["sb:case_claim:TEC-77", "sb:rate:TEC-77:up"]  # the third cannot fit in 100 characters
    assert "left out" in caplog.text
    match = TEMPLATE.fullmatch(ids[1])
    assert match is not None and (match["action"], match["value"]) == ("rate", "TEC-77:up")
    assert views.view(()) is None
