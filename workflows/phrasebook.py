"""The template reply's sentences in the languages the offline engine answers in (English, Spanish,
French, German, Portuguese). Placeholders are str.format fields; a case reference is always passed in
unchanged. A customer writing another language gets English and one line saying so. The simulated back
office's own words are translated in `backoffice/simulated_words.py`."""

from __future__ import annotations

from .types import Route

LANGUAGES = ("en", "es", "fr", "de", "pt")

_EN = {
    "reused": "_(already open — status: {status})_",
    "world": "That one's outside what I can help with, I'm afraid! I can help with {capabilities}.",
    "way_out": "If you don't have it, just say so and I'll bring in a person.",
    "way_out_billing": "If you don't have it, tell me the date and amount of the charge, or ask for a person.",
    "way_out_status": "If you don't have it, tell me the date of the order and what you ordered, or ask for a person.",
    "thanks": "Thanks for reaching out!|Got it!|Thanks for the details!|On it!",
    "thanks_many": (
        "Thanks for reaching out! Here's what I've done:|Got it — here's what I've done:|On it! Here's "
        "where things stand:"
    ),
    "angry": "I'm sorry about this — let's get it sorted right away.",
    "repeated": "Sorry you've had to ask again — here's where things stand.",
    "billing": (
        "**Invoice {invoice}**{concern}: I opened a billing investigation, case {ref}. Expect an answer within {eta}."
    ),
    "return": "**Return of {product}**: approved, RMA number {ref}. {instructions}",
    "status": "**Order {order}**: {status}{tracking}{when} (ref {ref}).",
    # A back office's own answer, and a case no back office could settle (a person follows up; nothing is invented).
    "billing_action": "**Invoice {invoice}**{concern}: {action}, case {ref}. Expect an answer within {eta}.",
    "return_rma": "**Return of {product}**: approved, RMA number {rma} (case {ref}). {instructions}",
    "staff_case": "{subject}:{said} I passed it to our {team}, case {ref}; a person will follow up here.",
    "subject_billing": "**Invoice {id}**",
    "subject_return": "**Return of {id}**",
    "subject_status": "**Order {id}**",
    "team_billing": "billing team",
    "team_return": "returns team",
    "team_status": "order team",
    "technical": (
        "**Technical issue**: I opened case {ref} for our technicians. To speed things up, reply here "
        "with the product or app and its version, what happened, any error message word for word, and "
        "the steps that make it happen."
    ),
    "human": "**A person will take over**: I flagged this conversation for our support team, case {ref}.",
    "ask": "To go ahead with your {label}{about}, could you tell me {wanted}?",
    "and": " and ",
    "invoice_number": "the invoice number (e.g. INV-1234)",
    "product_name": "which product you would like to return",
    "reason_for_return": "the reason for the return",
    "order_id": "your order number (e.g. A-12345)",
    "label_return": "return",
    "label_billing": "billing question",
    "label_status": "order",
    "of_product": " of the {product}",
    "clarify": "I want to be sure I get this right — what is your message about?",
    "clarify_tail": "Reply with a number or pick a button.",
    "capabilities": (
        "questions about invoices and charges, returns and refunds, where your order is, and technical "
        "problems — or I can connect you with a person"
    ),
    "general": (
        "Thanks for your message! I can help with {capabilities}. Tell me a bit more — an invoice number, "
        "an order number or the product — and I'll get on it."
    ),
    "empty": "Hi! Your message looks empty. I can help with {capabilities}. What can I do for you?",
    "english_only": "_I can only answer in English for now._",
    "choice_billing": "Billing",
    "choice_return": "Return",
    "choice_status": "Order status",
    "choice_general": "Something else",
    "choice_human": "A person",
}

_ES = {
    "reused": "_(ya abierto — estado: {status})_",
    "world": "Eso se sale de lo que puedo hacer, lo siento. Puedo ayudarte con {capabilities}.",
    "way_out": "Si no lo tienes, dímelo y te paso con una persona.",
    "way_out_billing": "Si no lo tienes, dime la fecha y el importe del cobro, o pide hablar con una persona.",
    "way_out_status": "Si no lo tienes, dime la fecha del pedido y qué pediste, o pide hablar con una persona.",
    "thanks": "¡Gracias por escribirnos!",
    "angry": "Siento mucho las molestias; vamos a resolverlo enseguida.",
    "repeated": "Perdona que hayas tenido que volver a preguntar; esto es lo que hay.",
    "thanks_many": "¡Gracias por escribirnos! Esto es lo que he hecho:",
    "billing": (
        "**Factura {invoice}**{concern}: abrí una revisión de facturación, caso {ref}. Recibirás respuesta en {eta}."
    ),
    "return": "**Devolución de {product}**: aprobada, número RMA {ref}. {instructions}",
    "status": "**Pedido {order}**: {status}{tracking}{when} (ref {ref}).",
    "billing_action": "**Factura {invoice}**{concern}: {action}, caso {ref}. Recibirás respuesta en {eta}.",
    "return_rma": "**Devolución de {product}**: aprobada, número RMA {rma} (caso {ref}). {instructions}",
    "staff_case": "{subject}:{said} Lo pasé a nuestro {team}, caso {ref}; una persona te responderá aquí.",
    "subject_billing": "**Factura {id}**",
    "subject_return": "**Devolución de {id}**",
    "subject_status": "**Pedido {id}**",
    "team_billing": "equipo de facturación",
    "team_return": "equipo de devoluciones",
    "team_status": "equipo de pedidos",
    "technical": (
        "**Problema técnico**: abrí el caso {ref} para nuestros técnicos. Responde aquí con el producto o la "
        "aplicación y su versión, qué pasó, el mensaje de error exacto y los pasos para reproducirlo."
    ),
    "human": "**Te atenderá una persona**: avisé a nuestro equipo de soporte, caso {ref}.",
    "ask": "Para seguir con tu {label}{about}, ¿podrías indicarme {wanted}?",
    "and": " y ",
    "invoice_number": "el número de factura (p. ej. INV-1234)",
    "product_name": "qué producto quieres devolver",
    "reason_for_return": "el motivo de la devolución",
    "order_id": "tu número de pedido (p. ej. A-12345)",
    "label_return": "devolución",
    "label_billing": "consulta de facturación",
    "label_status": "pedido",
    "of_product": " de {product}",
    "clarify": "Quiero asegurarme de entenderte bien: ¿de qué trata tu mensaje?",
    "clarify_tail": "Responde con un número o elige un botón.",
    "capabilities": (
        "facturas y cobros, devoluciones y reembolsos, dónde está tu pedido y problemas técnicos, "
        "o puedo ponerte en contacto con una persona"
    ),
    "general": (
        "¡Gracias por tu mensaje! Puedo ayudarte con {capabilities}. Cuéntame un poco más (un número de "
        "factura, de pedido o el producto) y me pongo con ello."
    ),
    "empty": "¡Hola! Tu mensaje parece vacío. Puedo ayudarte con {capabilities}. ¿Qué necesitas?",
    "choice_billing": "Facturación",
    "choice_return": "Devolución",
    "choice_status": "Estado del pedido",
    "choice_general": "Otra cosa",
    "choice_human": "Una persona",
}

_FR = {
    "reused": "_(déjà ouvert — statut : {status})_",
    "world": "Cela sort de ce que je sais faire, désolé ! Je peux vous aider pour {capabilities}.",
    "way_out": "Si vous ne l'avez pas, dites-le-moi et je vous passe une personne.",
    "way_out_billing": "Sinon, donnez-moi la date et le montant du prélèvement, ou demandez une personne.",
    "way_out_status": (
        "Sinon, donnez-moi la date de la commande et ce que vous avez commandé, ou demandez une personne."
    ),
    "thanks": "Merci de nous avoir écrit !",
    "angry": "Je suis désolé pour ce désagrément ; réglons cela tout de suite.",
    "repeated": "Désolé que vous ayez dû redemander ; voici où nous en sommes.",
    "thanks_many": "Merci de nous avoir écrit ! Voici ce que j'ai fait :",
    "billing": (
        "**Facture {invoice}**{concern} : j'ai ouvert une vérification de facturation, dossier {ref}. Réponse "
        "sous {eta}."
    ),
    "return": "**Retour de {product}** : accepté, numéro RMA {ref}. {instructions}",
    "status": "**Commande {order}** : {status}{tracking}{when} (réf. {ref}).",
    "billing_action": "**Facture {invoice}**{concern} : {action}, dossier {ref}. Réponse sous {eta}.",
    "return_rma": "**Retour de {product}** : accepté, numéro RMA {rma} (dossier {ref}). {instructions}",
    "staff_case": (
        "{subject} :{said} je l'ai transmis à notre {team}, dossier {ref} ; une personne vous répondra ici."
    ),
    "subject_billing": "**Facture {id}**",
    "subject_return": "**Retour de {id}**",
    "subject_status": "**Commande {id}**",
    "team_billing": "équipe facturation",
    "team_return": "équipe des retours",
    "team_status": "équipe des commandes",
    "technical": (
        "**Problème technique** : j'ai ouvert le dossier {ref} pour nos techniciens. Répondez ici avec le "
        "produit ou l'application et sa version, ce qui s'est passé, le message d'erreur exact et les étapes "
        "pour le reproduire."
    ),
    "human": "**Une personne va prendre le relais** : j'ai prévenu notre équipe, dossier {ref}.",
    "ask": "Pour continuer votre {label}{about}, pourriez-vous m'indiquer {wanted} ?",
    "and": " et ",
    "invoice_number": "le numéro de facture (ex. INV-1234)",
    "product_name": "le produit que vous souhaitez retourner",
    "reason_for_return": "la raison du retour",
    "order_id": "votre numéro de commande (ex. A-12345)",
    "label_return": "retour",
    "label_billing": "question de facturation",
    "label_status": "commande",
    "of_product": " de {product}",
    "clarify": "Je veux être sûr de bien comprendre : de quoi parle votre message ?",
    "clarify_tail": "Répondez par un numéro ou choisissez un bouton.",
    "capabilities": (
        "les factures et prélèvements, les retours et remboursements, le suivi de votre commande et les "
        "problèmes techniques, ou je peux vous mettre en relation avec une personne"
    ),
    "general": (
        "Merci pour votre message ! Je peux vous aider pour {capabilities}. Dites-m'en un peu plus (un numéro "
        "de facture, de commande ou le produit) et je m'en occupe."
    ),
    "empty": "Bonjour ! Votre message semble vide. Je peux vous aider pour {capabilities}. Que puis-je faire ?",
    "choice_billing": "Facturation",
    "choice_return": "Retour",
    "choice_status": "Suivi de commande",
    "choice_general": "Autre chose",
    "choice_human": "Une personne",
}

_DE = {
    "reused": "_(bereits offen — Status: {status})_",
    "world": "Dabei kann ich leider nicht helfen! Ich helfe bei {capabilities}.",
    "way_out": "Wenn Sie sie nicht haben, sagen Sie es, dann übernimmt ein Mensch.",
    "way_out_billing": "Falls nicht, nennen Sie mir Datum und Betrag der Abbuchung oder verlangen Sie eine Person.",
    "way_out_status": "Falls nicht, nennen Sie mir Bestelldatum und Artikel oder verlangen Sie eine Person.",
    "thanks": "Danke für Ihre Nachricht!",
    "angry": "Das tut mir leid – wir kümmern uns sofort darum.",
    "repeated": "Entschuldigung, dass Sie noch einmal fragen mussten – hier der Stand.",
    "thanks_many": "Danke für Ihre Nachricht! Das habe ich erledigt:",
    "billing": (
        "**Rechnung {invoice}**{concern}: Ich habe eine Rechnungsprüfung eröffnet, Fall {ref}. Antwort "
        "innerhalb von {eta}."
    ),
    "return": "**Rücksendung von {product}**: genehmigt, RMA-Nummer {ref}. {instructions}",
    "status": "**Bestellung {order}**: {status}{tracking}{when} (Ref. {ref}).",
    "billing_action": "**Rechnung {invoice}**{concern}: {action}, Fall {ref}. Antwort innerhalb von {eta}.",
    "return_rma": "**Rücksendung von {product}**: genehmigt, RMA-Nummer {rma} (Fall {ref}). {instructions}",
    "staff_case": "{subject}:{said} Ich habe es an unser {team} weitergegeben, Fall {ref}; jemand meldet sich hier.",
    "subject_billing": "**Rechnung {id}**",
    "subject_return": "**Rücksendung von {id}**",
    "subject_status": "**Bestellung {id}**",
    "team_billing": "Buchhaltungsteam",
    "team_return": "Retourenteam",
    "team_status": "Bestellteam",
    "technical": (
        "**Technisches Problem**: Ich habe Fall {ref} für unsere Techniker eröffnet. Antworten Sie hier "
        "mit Produkt oder App und Version, was passiert ist, der genauen Fehlermeldung und den Schritten "
        "dorthin."
    ),
    "human": "**Ein Mensch übernimmt**: Ich habe unser Support-Team informiert, Fall {ref}.",
    "ask": "Um mit Ihrer {label}{about} weiterzumachen: Können Sie mir {wanted} nennen?",
    "and": " und ",
    "invoice_number": "die Rechnungsnummer (z. B. INV-1234)",
    "product_name": "welches Produkt Sie zurücksenden möchten",
    "reason_for_return": "den Grund der Rücksendung",
    "order_id": "Ihre Bestellnummer (z. B. A-12345)",
    "label_return": "Rücksendung",
    "label_billing": "Rechnungsfrage",
    "label_status": "Bestellung",
    "of_product": " ({product})",
    "clarify": "Ich möchte Sie richtig verstehen: Worum geht es in Ihrer Nachricht?",
    "clarify_tail": "Antworten Sie mit einer Zahl oder wählen Sie eine Schaltfläche.",
    "capabilities": (
        "Rechnungen und Abbuchungen, Rücksendungen und Erstattungen, den Stand Ihrer Bestellung und "
        "technische Probleme, oder ich verbinde Sie mit einem Menschen"
    ),
    "general": (
        "Danke für Ihre Nachricht! Ich helfe bei {capabilities}. Erzählen Sie mir etwas mehr (eine Rechnungs- "
        "oder Bestellnummer oder das Produkt), dann kümmere ich mich darum."
    ),
    "empty": "Hallo! Ihre Nachricht scheint leer zu sein. Ich helfe bei {capabilities}. Was kann ich tun?",
    "choice_billing": "Rechnung",
    "choice_return": "Rücksendung",
    "choice_status": "Bestellstatus",
    "choice_general": "Etwas anderes",
    "choice_human": "Eine Person",
}

_PT = {
    "reused": "_(já aberto — status: {status})_",
    "world": "Isso foge do que consigo fazer, desculpe! Posso ajudar com {capabilities}.",
    "way_out": "Se você não tiver, é só dizer e eu chamo uma pessoa.",
    "way_out_billing": "Se não tiver, diga a data e o valor da cobrança, ou peça para falar com uma pessoa.",
    "way_out_status": "Se não tiver, diga a data do pedido e o que pediu, ou peça para falar com uma pessoa.",
    "thanks": "Obrigado por nos escrever!",
    "angry": "Sinto muito pelo transtorno; vamos resolver isso agora.",
    "repeated": "Desculpe por você ter que perguntar de novo; veja como está.",
    "thanks_many": "Obrigado por nos escrever! Veja o que eu fiz:",
    "billing": "**Fatura {invoice}**{concern}: abri uma análise de cobrança, caso {ref}. Você terá resposta em {eta}.",
    "return": "**Devolução de {product}**: aprovada, número RMA {ref}. {instructions}",
    "status": "**Pedido {order}**: {status}{tracking}{when} (ref. {ref}).",
    "billing_action": "**Fatura {invoice}**{concern}: {action}, caso {ref}. Você terá resposta em {eta}.",
    "return_rma": "**Devolução de {product}**: aprovada, número RMA {rma} (caso {ref}). {instructions}",
    "staff_case": "{subject}:{said} Passei para a nossa {team}, caso {ref}; uma pessoa vai responder aqui.",
    "subject_billing": "**Fatura {id}**",
    "subject_return": "**Devolução de {id}**",
    "subject_status": "**Pedido {id}**",
    "team_billing": "equipe de cobrança",
    "team_return": "equipe de devoluções",
    "team_status": "equipe de pedidos",
    "technical": (
        "**Problema técnico**: abri o caso {ref} para nossos técnicos. Responda aqui com o produto ou "
        "aplicativo e sua versão, o que aconteceu, a mensagem de erro exata e os passos para reproduzir."
    ),
    "human": "**Uma pessoa vai assumir**: avisei nossa equipe de suporte, caso {ref}.",
    "ask": "Para continuar com sua {label}{about}, pode me dizer {wanted}?",
    "and": " e ",
    "invoice_number": "o número da fatura (ex. INV-1234)",
    "product_name": "qual produto você quer devolver",
    "reason_for_return": "o motivo da devolução",
    "order_id": "o número do seu pedido (ex. A-12345)",
    "label_return": "devolução",
    "label_billing": "dúvida de cobrança",
    "label_status": "pedido",
    "of_product": " de {product}",
    "clarify": "Quero ter certeza de que entendi: sobre o que é sua mensagem?",
    "clarify_tail": "Responda com um número ou escolha um botão.",
    "capabilities": (
        "faturas e cobranças, devoluções e reembolsos, onde está seu pedido e problemas técnicos, "
        "ou posso colocar você em contato com uma pessoa"
    ),
    "general": (
        "Obrigado pela mensagem! Posso ajudar com {capabilities}. Conte um pouco mais (um número de fatura, "
        "de pedido ou o produto) e eu cuido disso."
    ),
    "empty": "Olá! Sua mensagem parece vazia. Posso ajudar com {capabilities}. O que posso fazer?",
    "choice_billing": "Cobrança",
    "choice_return": "Devolução",
    "choice_status": "Status do pedido",
    "choice_general": "Outra coisa",
    "choice_human": "Uma pessoa",
}

_BOOKS = {"en": _EN, "es": _ES, "fr": _FR, "de": _DE, "pt": _PT}


def phrases(language: str | None) -> dict[str, str]:
    """The sentences for a language (English where it has none)."""
    return _BOOKS.get(language or "en", _EN)


def variant(text: str, turn: int) -> str:
    """One of a sentence's "|"-separated wordings, so consecutive replies don't open alike."""
    options = text.split("|")
    return options[turn % len(options)]


def choice_label(route: Route, language: str | None) -> str:
    return phrases(language)[f"choice_{route}"]
