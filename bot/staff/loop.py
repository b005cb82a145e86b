"""The staff loop of one process: applies new case events, schedules and fires timers, and delivers the
staff outbox through the platforms running here. Several processes may run it on one database: every
step is claimed by a conditional update (an event's applied mark, a timer's `fired_at`, an outbox
row's lease), so each card, message and reminder goes out once.

`tick()` does one round and is what tests call (with an injected clock); `run()` repeats it until told
to stop, waking early when this process changed a case (`wake()`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.platform import Button, Card, Interaction, InteractionReply, Outbound, Platform
from storage import inbox, outbox
from storage import staff as staff_store
from storage.db import Database
from storage.models import Case, Conversation, utcnow
from workflows import telemetry
from workflows.faults import failpoint

from .. import leases
from ..cases import CaseService
from .cards import build_card
from .effects import Policy, apply_event
from .interactions import IsStaff, handle_interaction
from .timers import TimerPolicy, fire_timer, schedule_pending, unscheduled_pending

_log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
POLL_S = 0.5  # how often other processes' case changes are looked for
LEASE_S = 60.0
RETRY_S = 5.0
FLOOR_EVERY = timedelta(minutes=5)


class StaffLoop:
    def __init__(
        self,
        db: Database,
        settings: Any,
        *,
        cases: CaseService,
        is_staff: IsStaff,
        platforms: dict[str, Platform] | None = None,
        clock: Clock = utcnow,
        poll_s: float = POLL_S,
        worker_id: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.cases = cases
        self.is_staff = is_staff
        self.clock = clock
        self.poll_s = poll_s
        # host:pid:token, as the inbox's workers: a restart on this host gives back a dead process's rows at once
        self.worker_id = worker_id or leases.new_worker_id()
        leases.register_live(self.worker_id)
        # The running platforms by name: the core's own dict (bot.wiring), filled as adapters start.
        self.platforms: dict[str, Platform] = platforms if platforms is not None else {}
        self._wake = asyncio.Event()
        self._floor_raised: datetime | None = None
        channels = {
            p: c
            for p, c in (("slack", settings.slack_staff_channel), ("discord", settings.discord_staff_channel_id))
            if c
        }
        self.policy = Policy(
            staff_channels=channels,
            sla=timedelta(minutes=settings.sla_first_response_min),
            takeover=settings.takeover,
            rating_scale=settings.rating_scale,
            names={},
        )
        first_role = (settings.staff_discord_role_ids or [""])[0]
        self.timer_policy = TimerPolicy(
            sla_minutes=settings.sla_first_response_min,
            remind_after=timedelta(hours=settings.pending_remind_h),
            close_after=timedelta(days=settings.pending_close_days),
            staff_channels=channels,
            staff_mentions={
                "slack": f"<!subteam^{settings.slack_staff_group}>" if settings.slack_staff_group else "",
                "discord": f"<@&{first_role}>" if first_role else "",
            },
        )

    # --- wiring ---------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    async def on_interaction(self, interaction: Interaction) -> InteractionReply:
        """`Handlers.on_interaction`: a click or a modal submit from any platform."""
        if interaction.user_name:
            self.policy.names[f"{interaction.platform}:{interaction.user_id}"] = interaction.user_name[:80]
        reply = await handle_interaction(
            self.db, self.cases, interaction, is_staff=self.is_staff, rating_scale=self.settings.rating_scale
        )
        self.wake()
        return reply

    async def quiet(self, session: AsyncSession, conversation_id: int) -> bool:
        """Whether the bot stays quiet in the conversation (a staff member took it over); read in the
        caller's transaction (the one that claims the customer's message)."""
        return self.settings.takeover and await staff_store.is_taken_over(session, conversation_id)

    async def staff_wrote(self, conversation_id: int, staff_id: str) -> None:
        """A staff member wrote in the customer's thread: the bot steps back until a close or release."""
        if not self.settings.takeover:
            return
        async with self.db.write() as s:
            began = await staff_store.start_takeover(s, conversation_id, staff_id=staff_id)
        if began:
            telemetry.TAKEOVERS.labels("staff_message").inc()
            _log.info("staff %s wrote in conversation %s: the bot is quiet there", staff_id, conversation_id)

    # --- the loop -------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        async with self.db.write() as s:
            await staff_store.init_floor(s)
        await self.release_dead_claims()
        while not stop.is_set():
            self._wake.clear()  # a wake-up during the round means: another round at once
            try:
                await self.tick()
            except Exception:
                _log.exception("staff loop round failed; trying again")
            waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
            _, pending = await asyncio.wait(waiters, timeout=self.poll_s, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending | waiters:
                waiter.cancel()

    async def release_dead_claims(self) -> int:
        """Rows a process of this host was sending when it died are sent again now, not after their lease."""

        async def release(s: AsyncSession, row_id: int, worker: str) -> bool:
            return await outbox.release(s, row_id, worker=worker)

        released = await leases.release_dead_claims(
            self.db, me=self.worker_id, claims=outbox.claims_with_prefix, release=release
        )
        if released:
            _log.info("staff outbox: %d rows of workers of this host that are gone will be sent again", released)
        return released

    async def tick(self) -> int:
        """One round: events → effects, timers, then the outbox. Returns how many things it did."""
        done = await self.apply_events()
        done += await self.fire_timers()
        done += await self.deliver_outbox()
        return done

    async def apply_events(self) -> int:
        """Turn case events no process has applied yet into their effects: one transaction for the batch;
        if it fails, one per event, and an event whose effects fail on their own is skipped (logged), so
        one bad event never stops the loop."""
        async with self.db.session() as s:
            events = await staff_store.unapplied_events(s)
        if not events:
            await self._raise_floor()
            return 0
        try:
            async with self.db.write() as s:
                return sum([await self._apply(s, event) for event in events])
        except Exception:
            _log.warning("applying %d case events together failed; one at a time", len(events), exc_info=True)
        applied = 0
        for event in events:
            try:
                async with self.db.write() as s:
                    applied += await self._apply(s, event)
            except Exception:
                _log.exception(
                    "case event %s (%s of case %s) could not be applied; skipped", event.id, event.action, event.case_id
                )
                async with self.db.write() as s:
                    await staff_store.mark_applied(s, event.id)
        return applied

    async def _apply(self, session: AsyncSession, event: staff_store.EventRow) -> int:
        if not await staff_store.mark_applied(session, event.id):
            return 0  # another process applied it
        await apply_event(session, event, self.policy, now=self.clock())
        return 1

    async def _raise_floor(self) -> None:
        """Everything is applied: every few minutes, forget the marks of settled events."""
        now = utcnow()
        if self._floor_raised is not None and now - self._floor_raised < FLOOR_EVERY:
            return
        self._floor_raised = now
        async with self.db.write() as s:
            await staff_store.raise_floor(s, now=now)

    async def fire_timers(self) -> int:
        now = self.clock()
        async with self.db.session() as s:
            unscheduled = await unscheduled_pending(s, self.timer_policy, now=now)
            due = await outbox.due(s, now=now)
        if unscheduled:
            async with self.db.write() as s:
                await schedule_pending(s, self.timer_policy, unscheduled)
        fired = 0
        for timer in due:
            async with self.db.write() as s:
                fired += await fire_timer(s, timer, self.timer_policy, now=now)
        if fired:  # what they caused is applied in this round
            await self.apply_events()
        return fired

    async def deliver_outbox(self) -> int:
        if not self.platforms:
            return 0
        async with self.db.session() as s:
            ids = await outbox.ready(s, platforms=tuple(self.platforms), now=utcnow())
        delivered = 0
        for row_id in ids:
            async with self.db.write() as s:
                item = await outbox.claim(s, row_id, worker=self.worker_id, lease_s=LEASE_S)
            if item is None:
                continue
            try:
                delivered += await self._deliver(item)
                telemetry.STAFF_POSTS.labels(item.kind, "ok").inc()
            except Exception as exc:
                telemetry.STAFF_POSTS.labels(item.kind, "error").inc()
                final = item.attempts >= outbox.MAX_ATTEMPTS
                _log.log(
                    logging.ERROR if final else logging.WARNING,
                    "staff outbox %s (%s) failed: %s: %s; %s",
                    item.key,
                    item.kind,
                    type(exc).__name__,
                    exc,
                    f"given up after {item.attempts} attempts" if final else "retried",
                )
                async with self.db.write() as s:
                    await outbox.give_back(
                        s,
                        item.id,
                        error=f"{type(exc).__name__}: {exc}",
                        attempts=item.attempts,
                        retry_after_s=RETRY_S * item.attempts,
                    )
        return delivered

    # --- delivery -------------------------------------------------------------------------------
    async def _deliver(self, item: outbox.OutboxItem) -> int:
        platform = self.platforms[item.platform]
        if item.kind == "card":
            return await self._post_card(platform, item)
        if item.kind == "card_update":
            return await self._update_card(platform, item)
        if item.kind == "staff_notice":
            return await self._notice(platform, item)
        return await self._message(platform, item)

    async def _card_of(self, case_id: int) -> tuple[Case, Conversation, Card, Any]:
        async with self.db.session() as s:
            case = await s.get(Case, case_id)
            assert case is not None
            conversation = await s.get(Conversation, case.conversation_id)
            assert conversation is not None
            row = await staff_store.card_of(s, case.id, case.platform)
            card = await build_card(s, case, thread_link=row.thread_link if row else "")
        return case, conversation, card, row

    async def _post_card(self, platform: Platform, item: outbox.OutboxItem) -> int:
        assert item.case_id is not None
        case, conversation, card, row = await self._card_of(item.case_id)
        if row is not None:  # posted and recorded before (a duplicate row): nothing to do
            async with self.db.write() as s:
                await outbox.finish(s, item.id, platform_message_id=row.message_id)
            return 0
        try:
            link = await platform.permalink(conversation.channel_id, conversation.thread_id)
        except Exception as exc:  # the card is worth more than its link
            _log.info("case=%s: no permalink for its thread (%s)", case.ref, type(exc).__name__)
            link = ""
        card = replace(card, thread_link=link)
        channel = str(item.payload["channel_id"])
        message_id = await platform.post_card(card, channel_id=channel, key=item.id)
        failpoint("after_card_post")
        async with self.db.write() as s:
            await staff_store.save_card(
                s, case_id=case.id, platform=platform.name, channel_id=channel, message_id=message_id, thread_link=link
            )
            await outbox.finish(s, item.id, platform_message_id=message_id)
        _log.info("case=%s card posted in %s channel %s (%s)", case.ref, platform.name, channel, message_id)
        return 1

    async def _update_card(self, platform: Platform, item: outbox.OutboxItem) -> int:
        assert item.case_id is not None
        case, _conversation, card, row = await self._card_of(item.case_id)
        if row is None:
            async with self.db.session() as s:
                waiting = await outbox.pending_for_case(s, case.id, "card")
            async with self.db.write() as s:
                if waiting:  # the card is on its way: update it after it is posted
                    await outbox.give_back(s, item.id, error="card not posted yet", attempts=0, retry_after_s=0.2)
                else:
                    await outbox.finish(s, item.id)
            return 0
        for _ in range(3):  # the case changed while the update was on its way (another process?): again
            await platform.update_card(card, channel_id=row.channel_id, message_id=row.message_id)
            sent, (_case, _conversation, card, _row) = card, await self._card_of(item.case_id)
            if card == sent:
                break
        async with self.db.write() as s:
            await outbox.finish(s, item.id)
        return 1

    async def _notice(self, platform: Platform, item: outbox.OutboxItem) -> int:
        thread = ""
        if item.case_id is not None:  # in the card's thread, once the card is there
            async with self.db.session() as s:
                row = await staff_store.card_of(s, item.case_id, platform.name)
                waiting = row is None and await outbox.pending_for_case(s, item.case_id, "card")
            if waiting:
                async with self.db.write() as s:
                    await outbox.give_back(s, item.id, error="card not posted yet", attempts=0, retry_after_s=0.2)
                return 0
            thread = row.message_id if row is not None else ""
        posted = await platform.notify(
            str(item.payload["text"]), channel_id=str(item.payload["channel_id"]), thread_id=thread, key=item.id
        )
        async with self.db.write() as s:
            await outbox.finish(s, item.id, platform_message_id=posted)
        return 1

    async def _message(self, platform: Platform, item: outbox.OutboxItem) -> int:
        p = item.payload
        buttons = tuple(Button(b["action"], b["label"], b["value"]) for b in p.get("buttons") or [])
        out = Outbound(
            platform=platform.name,
            channel_id=str(p["channel_id"]),
            thread_id=str(p["thread_id"]),
            text=str(p["text"]),
            reply_id=item.message_id or -item.id,
            maybe_posted=item.attempts > 1,
            buttons=buttons,
        )
        posted = await platform.deliver(out)
        async with self.db.write() as s:
            if item.message_id is not None:
                await inbox.mark_reply_sent(s, item.message_id, platform_message_id=posted)
            await outbox.finish(s, item.id, platform_message_id=posted)
        _log.info("%s posted in %s thread %s", item.key, p["channel_id"], p["thread_id"])
        return 1
