"""Discord messages for replies and command results, always within Discord's limits: 2,000
characters of content and 10 embeds a message; per embed a 256-character title, a 4,096-character
description, 25 fields (name 256, value 1,024), a 2,048-character footer, and 6,000 characters in
all — a total that also caps all the embeds of one message together. Long text is split, long
results paged; rendering never fails (anything unexpected falls back to plain text)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import discord

from ..platform import CommandResult, ResultItem

_log = logging.getLogger(__name__)

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_URL = 2000
COLOUR = discord.Colour.blurple()


@dataclass
class Page:
    """One Discord message: content and/or embeds."""

    content: str = ""
    embeds: list[discord.Embed] = field(default_factory=list)


def cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_text(text: str, limit: int = MAX_CONTENT) -> list[str]:
    """Pieces of at most `limit` characters, cut at a paragraph, line, sentence or word when possible.
    Never an empty piece (Discord refuses an empty message): an empty text gives one "…"."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        at = -1
        for sep in ("\n\n", "\n", ". ", " "):
            at = window.rfind(sep)
            if at > limit // 3:
                at += len(sep) if sep == ". " else 0
                break
        if at <= limit // 3:
            at = limit  # one unbroken run of characters: cut it hard
        pieces.append(text[:at].rstrip())
        text = text[at:].lstrip()
    if text or not pieces:
        pieces.append(text or "…")
    return pieces


def text_pages(text: str, *, title: str = "") -> list[Page]:
    body = f"**{cut(title, MAX_TITLE)}**\n{text}" if title else text
    return [Page(content=piece) for piece in split_text(body or "…")]


def _url(url: str) -> str | None:
    return url if url.startswith(("http://", "https://")) and len(url) <= MAX_URL else None


def _item_embeds(item: ResultItem) -> list[discord.Embed]:
    """One embed per item, continued in more embeds when a description or the fields overflow."""
    title = cut(item.title, MAX_TITLE) or None
    footer = cut(item.footer, MAX_FOOTER)
    descriptions = split_text(item.body, MAX_DESCRIPTION) if item.body.strip() else [""]
    embeds: list[discord.Embed] = []

    def new(description: str) -> discord.Embed:
        first = not embeds
        name = title if first else cut(f"{title or 'continued'} (continued)", MAX_TITLE)
        embed = discord.Embed(
            title=name, description=description or None, colour=COLOUR, url=_url(item.url) if first else None
        )
        embeds.append(embed)
        return embed

    for description in descriptions:
        embed = new(description)
    room_for_footer = len(footer)
    for name, value in item.fields:
        name, value = cut(name, MAX_FIELD_NAME) or "—", cut(value, MAX_FIELD_VALUE) or "—"
        if len(embed.fields) >= MAX_FIELDS or len(embed) + len(name) + len(value) + room_for_footer > MAX_EMBED_TOTAL:
            embed = new("")
        embed.add_field(name=name, value=value, inline=len(value) <= 60)
    if footer:
        embed.set_footer(text=footer)
    for empty in (e for e in embeds if not len(e)):
        empty.description = "—"  # Discord refuses an empty embed
    return embeds


def _paginate(embeds: list[discord.Embed]) -> list[list[discord.Embed]]:
    pages: list[list[discord.Embed]] = [[]]
    size = 0
    for embed in embeds:
        if pages[-1] and (len(pages[-1]) >= MAX_EMBEDS or size + len(embed) > MAX_EMBED_TOTAL):
            pages.append([])
            size = 0
        pages[-1].append(embed)
        size += len(embed)
    return pages


def render_result(result: CommandResult) -> list[Page]:
    """A command result as messages: items as embeds (paged), anything else as split text."""
    title = " ".join(result.title.split())
    if not result.items:
        return text_pages(result.text, title=title)
    try:
        embeds = [embed for item in result.items for embed in _item_embeds(item)]
        groups = _paginate(embeds)
    except Exception:  # a limit missed above must not cost the answer: plain text still goes out
        _log.exception("could not build embeds for %r; sending text", title[:60])
        return text_pages(result.text, title=title)
    pages: list[Page] = []
    for number, group in enumerate(groups, start=1):
        heading = cut(title, MAX_TITLE)
        if len(groups) > 1:
            heading = f"{heading} (page {number} of {len(groups)})" if heading else f"Page {number} of {len(groups)}"
        pages.append(Page(content=f"**{heading}**" if heading else "", embeds=group))
    return pages
