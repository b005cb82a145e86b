"""Case cards and buttons in Block Kit, and the modals behind Close and Note. Pure functions of the
platform contract's `Card` / `Button`; everything a customer wrote is escaped (`&`, `<`, `>`), so a
summary cannot carry a live `<!channel>` or a link in disguise.

Action ids are the contract's `Button.action` (`case_claim`, `case_close`, `case_note`, `case_release`,
`rate`); the button's value is its `Button.value` (the case ref, `REF:score` for a rating).
"""

from __future__ import annotations

import json
from typing import Any

from ..platform import Button, Card
from .mrkdwn import cut, escape

Block = dict[str, Any]
CARD_EVENT = "supportbot_card"  # message metadata of a card: finds one posted before a crash
MODAL_ACTIONS = {
    "case_close": ("Close case", "Close", "reason", "Reason (staff only)", False),
    "case_note": ("Add a note", "Add note", "note", "Note (staff only, never shown to the customer)", True),
}
INPUT_MAX = 3000
_STATUS = {"open": "🟠 Open — unclaimed", "in_progress": "🔵 Claimed", "resolved": "🟢 Resolved", "closed": "⚫ Closed"}


def _button(button: Button) -> Block:
    block: Block = {
        "type": "button",
        "action_id": button.action,
        "value": button.value[:2000],
        "text": {"type": "plain_text", "text": button.label[:75], "emoji": True},
    }
    if button.style:
        block["style"] = button.style
    return block


def button_row(buttons: tuple[Button, ...], *, block_id: str) -> Block:
    """One actions block (Slack allows 25 elements; a card has at most four)."""
    return {"type": "actions", "block_id": block_id[:255], "elements": [_button(b) for b in buttons[:25]]}


def _who(user: str) -> str:
    """`slack:U123` (an assignee) or `U123` → a mention; anything else escaped as written."""
    platform, sep, user_id = user.partition(":")
    bare = user_id if sep and platform == "slack" else ("" if sep else user)
    if bare and bare.isalnum():
        return f"<@{bare}>"
    return escape(user)


def fallback_text(card: Card) -> str:
    """The plain fallback (notifications, screen readers): no mentions, nothing the customer wrote."""
    status = {"in_progress": "claimed"}.get(card.status, card.status.replace("_", " "))
    reason = f" — {escape(cut(card.closed_reason, 200))}" if card.status == "closed" and card.closed_reason else ""
    return f"Case {card.ref} ({card.kind}): {status}{reason}"


def card_blocks(card: Card) -> list[Block]:
    opened = int(card.created_at.timestamp())
    when = f"<!date^{opened}^{{date_short_pretty}} {{time}}|{card.created_at:%Y-%m-%d %H:%M} UTC>"
    status = _STATUS.get(card.status, escape(card.status))
    if card.status == "in_progress" and card.assignee:
        status += f" by {_who(card.assignee)}"
    if card.status == "closed" and card.closed_reason:
        status += f": {escape(cut(card.closed_reason, 300))}"
    fields = [
        f"*Customer*\n{_who(card.customer_id)}",
        f"*Status*\n{status}",
        f"*Needs staff*\n{escape(cut(card.needs_staff_reason, 200)) or '—'}",
        f"*Opened*\n{when}",
    ]
    if card.language:
        fields.append(f"*Language*\n{escape(cut(card.language, 20))}")
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(f"Case {card.ref} · {card.kind}", 150)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        {"type": "section", "text": {"type": "mrkdwn", "text": "> " + (escape(cut(card.summary, 500)) or "—")}},
    ]
    if card.thread_link.startswith(("https://", "http://")):
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{escape(card.thread_link)}|Open the customer's thread>"}],
            }
        )
    if card.buttons:
        blocks.append(button_row(card.buttons, block_id=f"card:{card.ref}"))
    return blocks


def card_metadata(key: int, ref: str) -> dict[str, Any]:
    return {"event_type": CARD_EVENT, "event_payload": {"key": key, "ref": ref}}


# --- modals ---------------------------------------------------------------------------------------


def modal(action: str, ref: str, *, channel_id: str = "", message_ts: str = "") -> Block:
    """The Close or Note modal for a case; `private_metadata` carries the ref (and the card's place)."""
    title, submit, name, label, required = MODAL_ACTIONS[action]
    return {
        "type": "modal",
        "callback_id": action,
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": submit[:24]},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"ref": ref, "channel": channel_id, "ts": message_ts})[:3000],
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"Case *{escape(ref)}*"}},
            {
                "type": "input",
                "block_id": f"{name}_b",
                "optional": not required,
                "label": {"type": "plain_text", "text": label[:2000]},
                "element": {
                    "type": "plain_text_input",
                    "action_id": f"{name}_a",
                    "multiline": True,
                    "max_length": INPUT_MAX,
                },
            },
        ],
    }


def submitted(view: dict[str, Any]) -> tuple[str, str, str]:
    """(action, ref, text) of a submitted Close/Note modal."""
    action = str(view.get("callback_id", ""))
    name = MODAL_ACTIONS[action][2]
    try:
        ref = str(json.loads(view.get("private_metadata") or "{}").get("ref", ""))
    except ValueError:
        ref = ""
    values = ((view.get("state") or {}).get("values") or {}).get(f"{name}_b") or {}
    text = str((values.get(f"{name}_a") or {}).get("value") or "").strip()
    return action, ref, text


def input_block(action: str) -> str:
    return f"{MODAL_ACTIONS[action][2]}_b"
