"""The clarifying question: when routing is unsure, the bot opens nothing and asks what the message is
about, offering the same five choices everywhere (numbered in text, buttons in Slack and Discord)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .phrasebook import choice_label
from .types import Route

CLARIFY_ACTION = "clarify"  # the Button.action of a clarifying choice


@dataclass(frozen=True)
class Choice:
    route: Route  # what choosing it routes the unclear message to
    label: str


CHOICES: tuple[Choice, ...] = (
    Choice("billing", "Billing"),
    Choice("return", "Return"),
    Choice("status", "Order status"),
    Choice("general", "Something else"),
    Choice("human", "A person"),
)
# What a customer may type instead of a number or a label (and the labels of the translated replies).
_ALIASES: dict[str, Route] = {
    "invoice": "billing",
    "payment": "billing",
    "bill": "billing",
    "facturación": "billing",
    "facturation": "billing",
    "rechnung": "billing",
    "faturamento": "billing",
    "cobrança": "billing",
    "cobro": "billing",
    "pago": "billing",
    "refund": "return",
    "devolución": "return",
    "retour": "return",
    "rücksendung": "return",
    "devolução": "return",
    "status": "status",
    "order": "status",
    "estado del pedido": "status",
    "suivi de commande": "status",
    "bestellstatus": "status",
    "status do pedido": "status",
    "other": "general",
    "otra cosa": "general",
    "autre chose": "general",
    "etwas anderes": "general",
    "outra coisa": "general",
    "person": "human",
    "human": "human",
    "agent": "human",
    "una persona": "human",
    "une personne": "human",
    "eine person": "human",
    "uma pessoa": "human",
}
_STRIP = re.compile(r"^[\s\W]*(.*?)[\s\W]*$", re.DOTALL)


def parse_choice(text: str) -> Route | None:
    """The route a reply to the clarifying question picks ("2", "Order status", "a person"), else None."""
    answer = _STRIP.match(text or "").group(1).lower()  # type: ignore[union-attr]
    if answer.isdigit() and 1 <= int(answer) <= len(CHOICES):
        return CHOICES[int(answer) - 1].route
    for choice in CHOICES:
        if answer in (choice.label.lower(), choice.route):
            return choice.route
    return _ALIASES.get(answer)


def clarify_choices(language: str | None = None) -> list[tuple[Route, str]]:
    """(value, label) of each choice, labelled in the customer's language: a platform renders them as
    buttons with `Button(action=CLARIFY_ACTION, label=label, value=value)`. A click comes back as the
    customer's answer: the value (a route name) is a message `parse_choice` reads."""
    return [(c.route, choice_label(c.route, language)) for c in CHOICES]
