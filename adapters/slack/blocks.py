"""Block Kit for command results (FAQs, case lists, a case): header, sections, fields, context —
built with slack_sdk's block classes and paged so that no message breaks one of Slack's limits:
header ≤ 150 characters, section text ≤ 3,000, ≤ 10 fields of ≤ 2,000, ≤ 50 blocks and ≤ 40,000
characters a message. Rendering never fails: anything the block classes refuse falls back to text.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from ..platform import CommandResult, ResultItem
from .mrkdwn import MAX_TEXT_CHARS, cut, escape, split_text, to_mrkdwn

_log = logging.getLogger(__name__)

MAX_BLOCKS = 50
MAX_MESSAGE_CHARS = 40_000
MAX_HEADER_CHARS = 150
MAX_FIELD_CHARS = 2000
MAX_FIELDS = 10
MAX_FALLBACK_CHARS = 3000  # the notification text sent alongside blocks
# Room kept on every page for the header (or a "continued" line) and a "page i of n" context block.
_PAGE_BLOCKS = MAX_BLOCKS - 2
_PAGE_CHARS = MAX_MESSAGE_CHARS - 500


@dataclass
class Page:
    """One message: notification/fallback text and its blocks (as JSON-ready dicts)."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def _sections(text: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=piece)) for piece in split_text(text, MAX_TEXT_CHARS)]


def _item_blocks(item: ResultItem) -> list[Block]:
    lines = [f"*{escape(item.title)}*"] if item.title else []
    if item.body:
        lines.append(to_mrkdwn(item.body))
    if item.url:
        lines.append(f"<{item.url}|{escape(cut(item.url, 80))}>")
    blocks: list[Block] = _sections("\n".join(lines)) if lines else []
    fields = [
        MarkdownTextObject(text=cut(f"*{escape(k)}*\n{to_mrkdwn(v) or '—'}", MAX_FIELD_CHARS)) for k, v in item.fields
    ]
    for start in range(0, len(fields), MAX_FIELDS):
        blocks.append(SectionBlock(fields=fields[start : start + MAX_FIELDS]))
    if item.footer:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=cut(to_mrkdwn(item.footer), MAX_FIELD_CHARS))]))
    return blocks


def _body_blocks(result: CommandResult) -> list[Block]:
    if not result.items:
        return _sections(to_mrkdwn(result.text))
    blocks: list[Block] = []
    for item in result.items:
        if blocks:
            blocks.append(DividerBlock())
        blocks.extend(_item_blocks(item))
    return blocks


def _paginate(blocks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = [[]]
    size = 0
    for block in blocks:
        block_size = len(json.dumps(block, ensure_ascii=False))
        if pages[-1] and (len(pages[-1]) >= _PAGE_BLOCKS or size + block_size > _PAGE_CHARS):
            pages.append([])
            size = 0
        if not pages[-1] and block["type"] == "divider":
            continue  # a page never starts with a divider
        pages[-1].append(block)
        size += block_size
    for page in pages:
        while page and page[-1]["type"] == "divider":
            page.pop()
    return [p for p in pages if p] or [[]]


def render_result(result: CommandResult) -> list[Page]:
    """The result as one or more messages, each within Slack's limits."""
    title = " ".join(result.title.split())
    fallback = cut(title or " ".join(result.text.split()), MAX_FALLBACK_CHARS) or "…"
    try:
        blocks = [b.to_dict() for b in _body_blocks(result)]
        pages = _paginate(blocks)
        header = HeaderBlock(text=PlainTextObject(text=cut(title, MAX_HEADER_CHARS))).to_dict() if title else None
    except Exception:  # a limit the block classes enforce that the code above missed: plain text still goes out
        _log.exception("could not build blocks for %r; sending text", title[:60])
        return text_pages(result.text)
    out: list[Page] = []
    for number, page in enumerate(pages, start=1):
        if header is not None and number == 1:
            page.insert(0, header)
        if len(pages) > 1:
            page.append(ContextBlock(elements=[MarkdownTextObject(text=f"Page {number} of {len(pages)}")]).to_dict())
            if number > 1 and header is not None:
                page.insert(
                    0,
                    ContextBlock(
                        elements=[MarkdownTextObject(text=f"*{escape(cut(title, MAX_HEADER_CHARS))}* (continued)")]
                    ).to_dict(),
                )
        text = fallback if number == 1 else cut(f"{fallback} (page {number} of {len(pages)})", MAX_FALLBACK_CHARS)
        out.append(Page(text=text, blocks=page))
    return out


def text_pages(markdown: str) -> list[Page]:
    """Plain mrkdwn messages without blocks: for replies and as the fallback of `render_result`."""
    return [Page(text=piece) for piece in split_text(to_mrkdwn(markdown), MAX_TEXT_CHARS)]
