"""The clarifying question's choices as buttons under the reply, and a click on one as the customer's
answer in the thread (the same as typing the choice)."""

from __future__ import annotations

from adapters.platform import Button, Inbound, Interaction
from workflows.clarify import CLARIFY_ACTION, clarify_choices


def clarify_buttons(*, language: str, customer_id: str, thread_id: str) -> tuple[Button, ...]:
    """One button per choice; its value carries the choice, who may answer, and the thread."""
    return tuple(
        Button(action=CLARIFY_ACTION, label=label, value=f"{route}:{customer_id}:{thread_id}")
        for route, label in clarify_choices(language)
    )


def answer_from_click(interaction: Interaction) -> Inbound | None:
    """The customer's answer a click stands for; None when the click is not the asking customer's."""
    route, _, rest = interaction.value.partition(":")
    customer_id, _, thread_id = rest.partition(":")
    if interaction.action != CLARIFY_ACTION or not thread_id or interaction.user_id != customer_id:
        return None
    return Inbound(
        platform=interaction.platform,
        channel_id=interaction.channel_id,
        thread_id=thread_id,
        user_id=interaction.user_id,
        text=route,
        user_name=interaction.user_name,
        message_id=f"clarify:{interaction.message_id}:{route}",
    )  # one answer per button
