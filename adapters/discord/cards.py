"""A case card as Discord shows it: one embed (ref and kind, the customer as a mention — embeds never
ping —, a one-line summary, the case's age as a Discord timestamp the client keeps current, the jump
URL to the customer's thread, language, why staff are needed, who claimed it, the closing reason) and
the forum tag its status maps to. Pure functions: no client, no I/O."""

from __future__ import annotations

from datetime import UTC

import discord

from ..platform import Card
from .embeds import MAX_DESCRIPTION, MAX_FIELD_VALUE, MAX_TITLE, cut

THREAD_NAME_MAX = 100
SUMMARY_MAX = 300
COLOURS = {"open": discord.Colour.orange(), "claimed": discord.Colour.blurple(), "closed": discord.Colour.green()}
TAGS = ("open", "claimed", "closed")  # the forum tags, one per stage of a case


def stage(card: Card) -> str:
    """open (waiting for staff), claimed (a staff member has it) or closed: the card's colour and tag."""
    if card.status in ("closed", "resolved"):
        return "closed"
    if card.assignee or card.status == "in_progress":
        return "claimed"
    return "open"


def person(who: str) -> str:
    """A user as the card shows it: a Discord id (bare or `discord:ID`) as a mention, anyone else as text."""
    bare = who.removeprefix("discord:")
    return f"<@{bare}>" if bare.isdigit() else discord.utils.escape_markdown(who)


def one_line(text: str, limit: int) -> str:
    return cut(" ".join(text.split()), limit)


def status_line(card: Card) -> str:
    match stage(card):
        case "closed" if card.status == "resolved":
            return "Resolved, to be closed"
        case "closed":
            reason = one_line(card.closed_reason or "", 200)
            return f"Closed: {discord.utils.escape_markdown(reason)}" if reason else "Closed"
        case "claimed":
            return f"Claimed by {person(card.assignee)}" if card.assignee else "In progress"
    return "Reopened, waiting for staff" if card.closed_reason else "Open, waiting for staff"


def title(card: Card) -> str:
    return cut(f"{card.ref} · {card.kind}", MAX_TITLE)


def post_name(card: Card) -> str:
    """The forum post's title: the ref first (how a post is found again), then the summary."""
    return one_line(f"{card.ref} · {card.summary or card.kind}", THREAD_NAME_MAX)


def _link(url: str) -> str | None:
    return url if url.startswith(("https://", "http://")) and len(url) <= 2000 else None


def card_embed(card: Card) -> discord.Embed:
    summary = one_line(card.summary, SUMMARY_MAX)
    embed = discord.Embed(
        title=title(card),
        url=_link(card.thread_link),
        description=cut(discord.utils.escape_mentions(summary), MAX_DESCRIPTION) or None,
        colour=COLOURS[stage(card)],
    )
    created = card.created_at if card.created_at.tzinfo else card.created_at.replace(tzinfo=UTC)
    embed.add_field(name="Customer", value=person(card.customer_id) if card.customer_id else "—")
    embed.add_field(name="Status", value=cut(status_line(card), MAX_FIELD_VALUE))
    embed.add_field(name="Opened", value=discord.utils.format_dt(created, "R"))
    if card.language:
        embed.add_field(name="Language", value=one_line(card.language, 40))
    if card.needs_staff_reason:
        embed.add_field(name="Needs staff", value=one_line(card.needs_staff_reason, MAX_FIELD_VALUE), inline=False)
    if link := _link(card.thread_link):
        embed.add_field(name="Conversation", value=f"[Open the customer's thread]({link})", inline=False)
    embed.set_footer(text=f"case {card.ref}")
    embed.timestamp = created
    return embed


def is_card_of(embed: discord.Embed, ref: str) -> bool:
    """Whether an embed (read back from Discord) is the card of case `ref`."""
    return (embed.footer.text or "") == f"case {ref}"
