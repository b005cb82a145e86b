"""Text between Slack and the core: Slack's encoded message text → plain text, plain markdown →
Slack mrkdwn, and long text → message-sized pieces cut at paragraph boundaries.

Slack reserves `&`, `<` and `>`: escaping them in everything the bot writes is also what keeps a
`<!channel>` that reached a reply from ever being live. (The markdown-to-mrkdwn packages on PyPI
neither escape nor leave code spans alone, so the few rules live here.)
"""

from __future__ import annotations

import re

MAX_TEXT_CHARS = 3000  # one section block's text; also well under chat.postMessage's 4,000 advice

# --- inbound: Slack's encoded text → what a customer typed -----------------------------------------
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^>|]*)?(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]*))?>")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _special(m: re.Match[str]) -> str:
    name, label = m.group(1), m.group(2)
    if name == "date":
        return label or ""
    return "@" + (label.lstrip("@") if label else name)


def from_slack(text: str, *, bot_user_id: str | None = None, link_labels: bool = True) -> str:
    """Slack's wire text as the customer typed it: the bot's own mention dropped, other mentions as
    `@U123`, channels as `#name`, links as their URL (labelled ones as `label (URL)`, or just the URL
    without `link_labels`, as command arguments want), entities decoded."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>\s*", "", text)
    text = _USER.sub(lambda m: f"@{m.group(1)}", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _SPECIAL.sub(_special, text)

    def link(m: re.Match[str]) -> str:
        url, label = m.group(1), m.group(2)
        if url.startswith("mailto:"):
            return label or url.removeprefix("mailto:")
        if not link_labels or not label or label in (url, url.split("://", 1)[-1]):
            return url
        return f"{label} ({url})"

    return _unescape(_LINK.sub(link, text)).strip()


# --- outbound: plain markdown → mrkdwn -----------------------------------------------------------
_FENCE = re.compile(r"(```.*?```)", re.S)
_CODE = re.compile(r"(`[^`\n]+`)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.M)
_LIST_ITEM = re.compile(r"^(\s*)[-*+]\s+", re.M)
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_ITALIC = re.compile(r"(?<![*\w])\*(?![\s*])([^*\n]+?)(?<!\s)\*(?![*\w])")
_BOLD = re.compile(r"\*\*(?!\s)(.+?)(?<!\s)\*\*")
_STRIKE = re.compile(r"~~(?!\s)(.+?)(?<!\s)~~")
_QUOTE = re.compile(r"^&gt; ", re.M)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline(text: str) -> str:
    text = _HEADING.sub(r"**\1**", escape(text))
    text = _QUOTE.sub("> ", text)
    text = _LIST_ITEM.sub(r"\1• ", text)
    text = _MD_LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1).replace('|', '/')}>", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _BOLD.sub(r"*\1*", text)
    return _STRIKE.sub(r"~\1~", text)


def to_mrkdwn(markdown: str) -> str:
    """Plain markdown (`**bold**`, `*italic*`, `code`, `# heading`, `- item`, `[label](url)`) → mrkdwn."""
    out: list[str] = []
    for block in _FENCE.split(markdown):
        if block.startswith("```") and block.endswith("```") and len(block) >= 6:
            out.append(escape(block))
            continue
        out.append("".join(escape(part) if _CODE.fullmatch(part) else _inline(part) for part in _CODE.split(block)))
    return "".join(out)


# --- splitting -----------------------------------------------------------------------------------
def _unbroken(text: str, cut: int) -> int:
    """`cut` moved back to the start of an entity (`&amp;`) or a `<link|label>` it would split."""
    amp = text.rfind("&", max(0, cut - 4), cut)
    if amp > 0 and ";" not in text[amp:cut]:
        cut = amp
    opening = text.rfind("<", 0, cut)
    if opening > 0 and text.rfind(">", opening, cut) == -1 and text.find(">", cut) != -1:
        cut = opening
    return cut


def _hard_split(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit)
        cut = cut if cut > 0 else _unbroken(text, limit)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return pieces + ([text] if text else [])


def _pack(units: list[str], sep: str, limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for unit in units:
        if len(unit) > limit:
            inner = _pack(unit.split("\n"), "\n", limit) if sep == "\n\n" else _hard_split(unit, limit)
            if current:
                chunks.append(current)
                current = ""
            chunks.extend(inner[:-1])
            current = inner[-1] if inner else ""
        elif not current:
            current = unit
        elif len(current) + len(sep) + len(unit) <= limit:
            current = f"{current}{sep}{unit}"
        else:
            chunks.append(current)
            current = unit
    if current:
        chunks.append(current)
    return chunks


def split_text(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut between paragraphs where possible, then between
    lines, then between words. Never returns an empty piece; an empty text gives one "…"."""
    text = text.strip()
    if len(text) <= limit:
        return [text or "…"]
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [c for c in (c.strip() for c in _pack(paragraphs, "\n\n", limit)) if c]


def cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
