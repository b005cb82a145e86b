"""The staff channel on Discord (`SUPPORTBOT_DISCORD_STAFF_CHANNEL_ID`): a text channel, where each
case card is a message, or a forum, where each case is a post (a thread whose starter message is the
card, so the card's message id is also the post's id) tagged open, claimed or closed.

Exactly once: a card is posted with a nonce derived from the outbox key (Discord returns the first
message for a repeat within a few minutes), and before posting, the card of the same case is looked
for — in a forum among the posts Discord reported (named after the ref), in a text channel in the
last page of history (the embed's footer names the ref). Tags missing from a forum are created
when the bot may (Manage Channels); otherwise posts go out untagged and that is logged once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

import discord
from discord.utils import MISSING

from ..platform import Card
from .cards import TAGS, card_embed, is_card_of, post_name, stage
from .embeds import split_text
from .views import StaffViews

_log = logging.getLogger(__name__)

HISTORY_LIMIT = 50  # messages looked through for a card posted before a crash
NO_MENTIONS = discord.AllowedMentions.none()
FORUM_NAME_MAX = 100
POST_ARCHIVE_MIN: Final = 10080  # a case's post stays in the forum's list for a week without activity


def jump_url(guild_id: int | None, channel_id: str, message_id: str = "") -> str:
    where = str(guild_id) if guild_id else "@me"
    tail = f"/{message_id}" if message_id and message_id != channel_id else ""
    return f"https://discord.com/channels/{where}/{channel_id}{tail}"


AnyChannel = discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel


class StaffChannel:
    """`Platform.post_card`, `update_card`, `notify` and `permalink` for Discord."""

    def __init__(self, client: discord.Client, views: StaffViews, *, staff_role_ids: Sequence[str] = ()) -> None:
        self.client, self.views = client, views
        self.staff_role = next((r for r in staff_role_ids if r.isdigit()), None)  # mentioned by reminders
        self._tags: dict[int, dict[str, discord.ForumTag]] = {}  # forum id → our tags by name
        self._untagged: set[int] = set()  # forums where tags could not be created (logged once)

    async def _channel(self, channel_id: str | int) -> AnyChannel:
        channel = self.client.get_channel(int(channel_id))
        if channel is None:
            channel = await self.client.fetch_channel(int(channel_id))
        return channel

    # --- cards ---------------------------------------------------------------------------------
    async def post_card(self, card: Card, *, channel_id: str, key: int) -> str:
        channel = await self._channel(channel_id)
        embed, view = card_embed(card), self.views.view(card.buttons)
        if isinstance(channel, discord.ForumChannel):
            return await self._post_in_forum(channel, card, embed, view)
        if not isinstance(channel, discord.abc.Messageable):
            raise ValueError(f"the staff channel {channel_id} is neither a text channel nor a forum")
        found = await self._card_in_history(channel, card.ref)
        if found:
            _log.info("card of %s found in %s (posted before a restart): %s", card.ref, channel_id, found)
            return found
        message = await channel.send(
            embed=embed, nonce=f"sbcard{key}", allowed_mentions=NO_MENTIONS, view=view if view is not None else MISSING
        )
        _log.info("card of %s posted in %s: %s", card.ref, channel_id, message.id)
        return str(message.id)

    async def _post_in_forum(
        self, forum: discord.ForumChannel, card: Card, embed: discord.Embed, view: discord.ui.View | None
    ) -> str:
        prefix = f"{card.ref} · "
        existing = next((t for t in forum.threads if t.name.startswith(prefix) or t.name == card.ref), None)
        if existing is not None:
            _log.info("forum post of %s found in %s (posted before a restart): %s", card.ref, forum.id, existing.id)
            return str(existing.id)
        tags = await self._forum_tags(forum)
        applied = [tags[stage(card)]] if stage(card) in tags else []
        posted = await forum.create_thread(
            name=post_name(card),
            embed=embed,
            applied_tags=applied,
            auto_archive_duration=POST_ARCHIVE_MIN,
            allowed_mentions=NO_MENTIONS,
            view=view if view is not None else MISSING,
        )
        _log.info("forum post of %s created in %s: %s", card.ref, forum.id, posted.thread.id)
        return str(posted.thread.id)

    async def update_card(self, card: Card, *, channel_id: str, message_id: str) -> None:
        """The card edited in place; in a forum the post's tag follows the case (and the post is
        unarchived first: Discord refuses edits in an archived thread)."""
        channel = await self._channel(channel_id)
        view = self.views.view(card.buttons)
        message_channel: int = int(channel_id)
        if isinstance(channel, discord.ForumChannel):
            message_channel = int(message_id)  # the starter message has the post's id
            tags = await self._forum_tags(channel)
            thread = channel.get_thread(int(message_id)) or await self.client.fetch_channel(int(message_id))
            if isinstance(thread, discord.Thread):
                applied = [tags[stage(card)]] if stage(card) in tags else []
                await thread.edit(archived=False, applied_tags=applied)
        message = self.client.get_partial_messageable(message_channel).get_partial_message(int(message_id))
        await message.edit(embed=card_embed(card), view=view)  # view=None removes the buttons of a closed case
        _log.info("card of %s updated (%s)", card.ref, stage(card))

    async def _card_in_history(self, channel: discord.abc.Messageable, ref: str) -> str:
        me = self.client.user
        try:
            async for message in channel.history(limit=HISTORY_LIMIT):
                if me is not None and message.author.id == me.id and any(is_card_of(e, ref) for e in message.embeds):
                    return str(message.id)
        except discord.HTTPException as exc:
            _log.warning(
                "card of %s: could not read the staff channel's history (%s); relying on the nonce", ref, exc.status
            )
        return ""

    async def _forum_tags(self, forum: discord.ForumChannel) -> dict[str, discord.ForumTag]:
        """Our tags (open, claimed, closed) in this forum, created once when missing and permitted."""
        known = self._tags.get(forum.id)
        if known is not None and len(known) == len(TAGS):
            return known
        found = {t.name.lower(): t for t in forum.available_tags if t.name.lower() in TAGS}
        missing = [name for name in TAGS if name not in found]
        if missing and forum.id not in self._untagged:
            tags = [*forum.available_tags, *(discord.ForumTag(name=name) for name in missing)]
            try:
                edited = await forum.edit(available_tags=tags)
            except discord.HTTPException as exc:
                self._untagged.add(forum.id)
                _log.warning(
                    "forum %s lacks the tags %s and the bot may not create them (%s %s): posts go out "
                    "without those tags; add them, or give the bot Manage Channels",
                    forum.id,
                    ", ".join(missing),
                    exc.status,
                    exc.text,
                )
            else:
                source = edited.available_tags if isinstance(edited, discord.ForumChannel) else []
                found = {t.name.lower(): t for t in source if t.name.lower() in TAGS}
                _log.info("forum %s: tags %s created", forum.id, ", ".join(missing))
        self._tags[forum.id] = found
        return found

    # --- notices and links -----------------------------------------------------------------------
    async def notify(self, text: str, *, channel_id: str, thread_id: str = "", key: int = 0) -> str:
        """A plain message (an SLA reminder) that may ping the first staff role, and nobody else.

        `thread_id` places it with a card: in a forum, inside the case's post; in a text channel, in a
        thread of that id if there is one, else as a reply to the card message of that id."""
        mention = f"<@&{self.staff_role}>" if self.staff_role else ""
        content = split_text(text if not mention or mention in text else f"{mention} {text}")[0]
        allowed = (
            discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(int(self.staff_role))])
            if self.staff_role
            else NO_MENTIONS
        )
        channel = await self._channel(channel_id)
        if isinstance(channel, discord.ForumChannel) and not thread_id:  # a forum holds posts, not messages
            name = (text.strip().splitlines() or [""])[0][:FORUM_NAME_MAX] or "Reminder"
            posted = await channel.create_thread(name=name, content=content, allowed_mentions=allowed)
            return str(posted.message.id)
        extra: dict[str, Any] = {"nonce": f"sbnote{key}"} if key else {}
        target = self.client.get_partial_messageable(int(channel_id))
        if thread_id and isinstance(channel, discord.ForumChannel):
            target = self.client.get_partial_messageable(int(thread_id))
        elif thread_id:
            if isinstance(self.client.get_channel(int(thread_id)), discord.Thread):
                target = self.client.get_partial_messageable(int(thread_id))
            else:
                extra["reference"] = discord.MessageReference(
                    message_id=int(thread_id), channel_id=int(channel_id), fail_if_not_exists=False
                )
        message = await target.send(content, allowed_mentions=allowed, **extra)
        return str(message.id)

    async def permalink(self, channel_id: str, thread_id: str) -> str:
        """The jump URL of a conversation: its thread or DM (thread = channel), or a message in a channel."""
        guild_id: int | None = None
        try:
            channel = await self._channel(channel_id)
            guild_id = getattr(getattr(channel, "guild", None), "id", None)
        except discord.HTTPException as exc:
            _log.info("channel %s unknown (%s); jump URL guessed from the bot's guild", channel_id, exc.status)
            if len(self.client.guilds) == 1:
                guild_id = self.client.guilds[0].id
        return jump_url(guild_id, channel_id, thread_id)
