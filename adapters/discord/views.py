"""Buttons and modals: a `Button` of the contract becomes a Discord button whose custom id carries the
action and its value (`sb:case_claim:HUM-12`, `sb:rate:HUM-12:5`); a click or a modal submit becomes an
`Interaction` for the core, and its `InteractionReply` goes back to the clicker privately.

Buttons survive restarts: they are `DynamicItem`s matched by a template, registered on the client
before it connects (`StaffViews.install`), so a click on a card posted by an earlier process is
routed like any other — nothing per message is kept in memory. Close and Note open a modal first
(Discord allows a modal only as the first response, so the staff check for them is made here, with
the core's `is_staff`, before the modal opens; the core checks again on submit). Every click is
answered within Discord's 3 s: when the core takes longer, the response is deferred and the reply
follows as an edit of the deferred one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import discord

from ..platform import Button, Interaction, InteractionReply
from .conversations import PLATFORM, role_ids

_log = logging.getLogger(__name__)

ACK_BUDGET_S = 2.0  # Discord invalidates the token when the first response takes more than 3 s
MODAL_TIMEOUT_S = 3600.0  # a modal closed without submitting is forgotten after this
MAX_CUSTOM_ID = 100
TEMPLATE = re.compile(r"sb:(?P<action>[a-z_]{1,24}):(?P<value>.{1,96})")
STYLES = {
    "primary": discord.ButtonStyle.primary,
    "danger": discord.ButtonStyle.danger,
    "": discord.ButtonStyle.secondary,
}
FAILED = "Something went wrong; please try again."

OnInteraction = Callable[[Interaction], Awaitable[InteractionReply]]
IsStaff = Callable[[str, str, tuple[str, ...]], bool]


@dataclass(frozen=True)
class TextPrompt:
    """The modal a button opens: what is asked, and how much may be typed."""

    title: str
    label: str
    placeholder: str
    max_length: int


PROMPTS = {
    "case_close": TextPrompt("Close case {ref}", "Reason", "Why is the case closed?", 500),
    "case_note": TextPrompt("Note on case {ref}", "Note", "An internal note for the team", 2000),
}


def custom_id(button: Button) -> str:
    return f"sb:{button.action}:{button.value}"


def interaction_of(interaction: discord.Interaction, action: str, value: str, text: str = "") -> Interaction:
    user = interaction.user
    message = interaction.message
    return Interaction(
        platform=PLATFORM,
        user_id=str(user.id),
        action=action,
        value=value,
        text=text,
        role_ids=role_ids(user),
        user_name=user.display_name,
        channel_id=str(interaction.channel_id or ""),
        message_id=str(message.id) if message else "",
    )


class ActionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """Any of our buttons. `StaffViews` subclasses it once per client with the router to call."""

    views: StaffViews

    def __init__(self, action: str, value: str, *, label: str = "", style: discord.ButtonStyle | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or action, custom_id=f"sb:{action}:{value}", style=style or discord.ButtonStyle.secondary
            )
        )
        self.action, self.value = action, value

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ActionButton:
        if isinstance(item, discord.ui.Button):  # the button as the message shows it: keep its label and colour
            return cls(match["action"], match["value"], label=item.label or "", style=item.style)
        return cls(match["action"], match["value"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await self.views.clicked(interaction, self.action, self.value)


class TextModal(discord.ui.Modal):
    """Close (a reason) or Note (a text): validated here, then handed to the core with what was typed."""

    def __init__(self, views: StaffViews, prompt: TextPrompt, action: str, value: str, opened_by: int) -> None:
        # unique per opening: two staff members closing the same case each keep their own modal
        super().__init__(
            title=prompt.title.format(ref=value)[:45],
            timeout=MODAL_TIMEOUT_S,
            custom_id=f"sb-modal:{action}:{value}:{opened_by}"[:MAX_CUSTOM_ID],
        )
        self.views, self.prompt, self.action, self.value = views, prompt, action, value
        self.text: discord.ui.TextInput[Any] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            custom_id="text",
            placeholder=prompt.placeholder,
            required=True,
            min_length=1,
            max_length=prompt.max_length,
        )
        self.add_item(discord.ui.Label(text=prompt.label, component=self.text))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        text = (self.text.value or "").strip()
        problem = ""
        if not text:
            problem = f"The {self.prompt.label.lower()} is empty: nothing was changed."
        elif len(text) > self.prompt.max_length:
            problem = (
                f"The {self.prompt.label.lower()} is too long ({len(text)} characters, at most "
                f"{self.prompt.max_length}): nothing was changed."
            )
        if problem:
            await interaction.response.send_message(problem, ephemeral=True)
            return
        with self.views.tracked():
            await self.views.answer(interaction, interaction_of(interaction, self.action, self.value, text))


class StaffViews:
    """Routes our buttons and modals to the core (`on_interaction`) and builds the views we send."""

    def __init__(
        self,
        *,
        on_interaction: OnInteraction,
        is_staff: IsStaff,
        tracked: Callable[[], AbstractContextManager[Any]] = nullcontext,
        ack_budget_s: float = ACK_BUDGET_S,
    ) -> None:
        self.on_interaction, self.is_staff, self.tracked = on_interaction, is_staff, tracked
        self.ack_budget_s = ack_budget_s
        # one button class per router, so two clients in one process (a restart in a test) never share one
        self.button_class: type[ActionButton] = type("CaseButton", (ActionButton,), {"views": self}, template=TEMPLATE)

    def install(self, client: discord.Client) -> None:
        """Route our custom ids on this client; call before it connects."""
        client.add_dynamic_items(self.button_class)

    def view(self, buttons: tuple[Button, ...]) -> discord.ui.View | None:
        """A persistent view (no timeout) with these buttons, five a row; None without buttons."""
        items = []
        for button in buttons:
            if not TEMPLATE.fullmatch(custom_id(button)) or len(custom_id(button)) > MAX_CUSTOM_ID:
                _log.warning(
                    "button %r (%s) cannot carry its value in a custom id; left out", button.label, button.action
                )
                continue
            items.append(
                self.button_class(
                    button.action,
                    button.value,
                    label=button.label[:80] or button.action,
                    style=STYLES.get(button.style, discord.ButtonStyle.secondary),
                )
            )
        if not items:
            return None
        view = discord.ui.View(timeout=None)
        for item in items[:25]:
            view.add_item(item)
        return view

    # --- clicks --------------------------------------------------------------------------------
    async def clicked(self, interaction: discord.Interaction, action: str, value: str) -> None:
        with self.tracked():
            prompt = PROMPTS.get(action)
            if prompt is None:
                await self.answer(interaction, interaction_of(interaction, action, value))
                return
            if not self.is_staff(PLATFORM, str(interaction.user.id), role_ids(interaction.user)):
                _log.info("%s on %s refused: %s is not staff", action, value, interaction.user.id)
                await interaction.response.send_message("Only the support team can do this.", ephemeral=True)
                return
            await interaction.response.send_modal(TextModal(self, prompt, action, value, interaction.id))

    async def answer(self, interaction: discord.Interaction, event: Interaction) -> None:
        """The core's reply, privately; deferred first when the core is slower than the ack budget."""
        work = asyncio.ensure_future(self.on_interaction(event))
        done, _ = await asyncio.wait({work}, timeout=self.ack_budget_s)
        if not done:
            await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            reply = await work
        except Exception:
            _log.exception("%s on %s by %s failed", event.action, event.value, event.user_id)
            reply = InteractionReply(FAILED, ok=False)
        if not reply.ok:
            _log.info("%s on %s by %s refused: %s", event.action, event.value, event.user_id, reply.text)
        if interaction.response.is_done():  # deferred with "thinking…": that message becomes the reply
            await interaction.edit_original_response(content=reply.text or "Done.")
        elif reply.text:
            await interaction.response.send_message(reply.text, ephemeral=True)
        else:
            await interaction.response.defer()  # acknowledged; the card's update shows the result
