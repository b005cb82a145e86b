"""Pure conversions of the staff loop: the buttons a case's status allows, feedback buttons on both
scales, and the Slack card's Block Kit (escaped customer text, Slack's limits, the modal's shape)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from adapters.platform import Card
from adapters.slack.cards import card_blocks, fallback_text, modal, submitted
from bot.staff.cards import card_buttons, rating_buttons, takeover_text


@dataclass
class FakeCase:
    ref: str = "HUM-1"
    status: str = "open"


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        ("open", ["case_claim", "case_close", "case_note"]),
        ("in_progress", ["case_close", "case_note", "case_release"]),
        ("resolved", ["case_close", "case_note"]),
        ("closed", []),
    ],
)
def test_buttons_follow_the_status(status: str, actions: list[str]) -> None:
    buttons = card_buttons(FakeCase(status=status))  # type: ignore[arg-type]
    assert [b.action for b in buttons] == actions and all(b.value == "HUM-1" for b in buttons)


def test_feedback_buttons_on_both_scales() -> None:
    assert [(b.label, b.value) for b in rating_buttons("R-1", "thumbs")] == [("👍", "R-1:5"), ("👎", "R-1:1")]
    assert [b.value for b in rating_buttons("R-1", "five")] == [f"R-1:{n}" for n in range(1, 6)]
    assert takeover_text("R-1", "").startswith("A member of our support team")


def card(**changes: object) -> Card:
    values: dict[str, object] = dict(
        ref="HUM-7K3Q9P2X",
        kind="human",
        status="open",
        customer_id="U0CUST",
        summary="<!channel> look at <https://evil.test|my invoice> & pay",
        created_at=datetime(2026, 11, 30, tzinfo=UTC),
        thread_link="https://fake.slack.test/archives/C1/p1",
        needs_staff_reason="asked for a person",
        buttons=card_buttons(FakeCase(ref="HUM-7K3Q9P2X")),
    )  # type: ignore[arg-type]
    values.update(changes)
    return Card(**values)  # type: ignore[arg-type]


def test_slack_card_escapes_customer_text_and_keeps_to_limits() -> None:
    blocks = card_blocks(card(summary="<!channel> look at <https://evil.test|my invoice> & pay " + "x" * 5000))
    wire = json.dumps(blocks)
    assert "<!channel>" not in wire and "<https://evil.test" not in wire
    assert "&lt;!channel&gt;" in wire and "&amp; pay" in wire
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) <= 150
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section" and "text" in b)
    assert "<@U0CUST>" in wire  # the customer, as a mention (Slack notifies channel members only)
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["case_claim", "case_close", "case_note"]
    assert actions["elements"][0]["style"] == "primary"
    assert "<@" not in fallback_text(card()) and "HUM-7K3Q9P2X" in fallback_text(card())


def test_slack_card_shows_claim_and_close() -> None:
    claimed = json.dumps(card_blocks(card(status="in_progress", assignee="slack:U0ANNA")))
    assert "Claimed by <@U0ANNA>" in claimed
    closed = card_blocks(card(status="closed", closed_reason="refund <sent>", buttons=()))
    assert "refund &lt;sent&gt;" in json.dumps(closed) and not [b for b in closed if b["type"] == "actions"]
    unsafe_link = json.dumps(card_blocks(card(thread_link="javascript:alert(1)")))
    assert "javascript:" not in unsafe_link


def test_modal_round_trip() -> None:
    view = modal("case_close", "HUM-1", channel_id="CSTAFF", message_ts="1.2")
    assert view["callback_id"] == "case_close" and len(view["title"]["text"]) <= 24
    [_, field] = view["blocks"]
    assert field["block_id"] == "reason_b" and field["optional"] is True
    view["state"] = {"values": {"reason_b": {"reason_a": {"type": "plain_text_input", "value": " done "}}}}
    assert submitted(view) == ("case_close", "HUM-1", "done")
    assert modal("case_note", "HUM-1")["blocks"][1]["optional"] is False
