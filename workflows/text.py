"""Customer text made safe to process and to echo back."""

from __future__ import annotations

import re
import unicodedata

MAX_MESSAGE_CHARS = 4000  # longer messages are cut here and the customer is told

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Slack special mentions (<!channel>, <!here>, <!subteam^…>) and Discord mass mentions / user or role pings.
_SLACK_SPECIAL = re.compile(r"<!([a-z^][^>]{0,60})>", re.I)
_SLACK_USER = re.compile(r"<@([UW][A-Z0-9]{2,})>")
_DISCORD_PING = re.compile(r"<@[!&]?(\d+)>")
_MASS = re.compile(r"@(everyone|here|channel)", re.I)  # Discord pings "@everyone…" whatever follows
# Markdown links: Slack (after mrkdwn conversion) and Discord render `[label](url)` as a masked link.
_MD_LINK = re.compile(r"\[([^\]\n]{0,300})\]\(\s*<?((?:https?|mailto):[^)\s>]+)>?\s*\)", re.I)


def clean_text(text: str | None, *, limit: int = MAX_MESSAGE_CHARS) -> tuple[str, bool]:
    """Drop NUL and control characters and lone surrogates, normalise, cut to `limit`.

    Returns (text, truncated)."""
    if not text:
        return "", False
    text = _SURROGATE.sub("", text)
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", text)).strip()
    if len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        return text[: cut if cut > limit // 2 else limit].rstrip(), True
    return text, False


def defuse(text: str) -> str:
    """Make mentions and masked links in customer text inert before any of it is echoed in a reply.

    A markdown link shows its address (`label (url)`): a reply never carries a link whose text hides
    where it goes (the bot's own replies use none)."""
    text = _MD_LINK.sub(
        lambda m: m.group(2) if m.group(1).strip() in ("", m.group(2)) else f"{m.group(1)} ({m.group(2)})", text
    )
    # What that left of a link — one nested in another's label, an overlong label — stays text:
    # without "](" no markdown flavour makes a masked link.
    text = text.replace("](", "] (")
    text = _SLACK_SPECIAL.sub(_special_words, text)
    text = _SLACK_USER.sub(lambda m: f"@{m.group(1)}", text)
    text = _DISCORD_PING.sub(lambda m: f"@{m.group(1)}", text)
    return _MASS.sub(lambda m: "@\u200b" + m.group(1), text)


def _special_words(m: re.Match[str]) -> str:
    name, _, label = m.group(1).partition("|")
    return f"!{name}" + (f" {label}" if label else "")


def one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def storable(text: str | None) -> str:
    """What the database can hold, keeping everything else: NUL bytes dropped, lone surrogates → U+FFFD."""
    if not text:
        return ""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))
