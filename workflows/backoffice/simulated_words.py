"""The simulated back office's own words — order statuses, delivery times, estimates and return
instructions (written by workers/) — in the customer's language, for the template reply. A real back
office's words pass as they are."""

from __future__ import annotations

_VALUES: dict[str, dict[str, str]] = {
    "es": {
        "processing": "en preparación",
        "shipped": "enviado",
        "in transit": "en tránsito",
        "out for delivery": "en reparto",
        "delivered": "entregado",
        "ships within 1 business day; delivery in 4–6 business days": "sale en 1 día hábil; entrega en 4–6 días hábiles",  # noqa: E501
        "in 3–4 business days": "en 3–4 días hábiles",
        "in 2–3 business days": "en 2–3 días hábiles",
        "today by 8 pm": "hoy antes de las 20:00",
        "2 business days": "2 días hábiles",
        "5 business days": "5 días hábiles",
    },
    "fr": {
        "processing": "en préparation",
        "shipped": "expédiée",
        "in transit": "en transit",
        "out for delivery": "en cours de livraison",
        "delivered": "livrée",
        "ships within 1 business day; delivery in 4–6 business days": "expédition sous 1 jour ouvré ; livraison en 4 à 6 jours ouvrés",  # noqa: E501
        "in 3–4 business days": "sous 3 à 4 jours ouvrés",
        "in 2–3 business days": "sous 2 à 3 jours ouvrés",
        "today by 8 pm": "aujourd'hui avant 20 h",
        "2 business days": "2 jours ouvrés",
        "5 business days": "5 jours ouvrés",
    },
    "de": {
        "processing": "in Bearbeitung",
        "shipped": "versandt",
        "in transit": "unterwegs",
        "out for delivery": "in Zustellung",
        "delivered": "zugestellt",
        "ships within 1 business day; delivery in 4–6 business days": "Versand innerhalb 1 Werktags; Lieferung in 4–6 Werktagen",  # noqa: E501
        "in 3–4 business days": "in 3–4 Werktagen",
        "in 2–3 business days": "in 2–3 Werktagen",
        "today by 8 pm": "heute bis 20 Uhr",
        "2 business days": "2 Werktagen",
        "5 business days": "5 Werktagen",
    },
    "pt": {
        "processing": "em preparação",
        "shipped": "enviado",
        "in transit": "em trânsito",
        "out for delivery": "saiu para entrega",
        "delivered": "entregue",
        "ships within 1 business day; delivery in 4–6 business days": "envio em 1 dia útil; entrega em 4–6 dias úteis",
        "in 3–4 business days": "em 3–4 dias úteis",
        "in 2–3 business days": "em 2–3 dias úteis",
        "today by 8 pm": "hoje até as 20h",
        "2 business days": "2 dias úteis",
        "5 business days": "5 dias úteis",
    },
}
_RETURN_STEPS = {
    "es": (
        "Empaqueta el producto con todos sus accesorios, escribe el número RMA en el paquete y entrégalo en "
        "cualquier punto del transportista en 14 días con la etiqueta prepagada que te enviamos por correo."
    ),
    "fr": (
        "Emballez le produit avec tous ses accessoires, inscrivez le numéro RMA sur le colis et déposez-le dans "
        "un point du transporteur sous 14 jours avec l'étiquette prépayée envoyée par e-mail."
    ),
    "de": (
        "Verpacken Sie das Produkt mit allem Zubehör, schreiben Sie die RMA-Nummer auf das Paket und geben Sie "
        "es innerhalb von 14 Tagen mit dem per E-Mail gesendeten Etikett bei einer Annahmestelle ab."
    ),
    "pt": (
        "Embale o produto com todos os acessórios, escreva o número RMA no pacote e entregue-o em qualquer "
        "ponto da transportadora em 14 dias com a etiqueta pré-paga que enviamos por e-mail."
    ),
}


def value(text: str, language: str | None) -> str:
    """A back-office value in the customer's language, when it is one of the simulated back office's."""
    return _VALUES.get(language or "en", {}).get(text, text)


def return_steps(instructions: str, language: str | None) -> str:
    """The simulated back office's return instructions in the customer's language (others as they are)."""
    simulated = instructions.startswith("Pack the ") and "RMA number" in instructions
    return _RETURN_STEPS.get(language or "en", instructions) if simulated else instructions
