"""The staff loop's messages to customers in the languages the bot answers in (the conversation's
language, as detected): closing, takeover, pending reminders. English is the fallback."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "closing": "Your case {ref} is now closed. If there is anything else, just write here. How did we do?",
        "takeover_named": "{name} from our support team is looking after your request now (case {ref}). "
        "They will answer you here.",
        "takeover": "A member of our support team is looking after your request now (case {ref}). "
        "They will answer you here.",
        "remind": "Just checking in on your {kind} request: I still need {need} to go ahead. "
        "Reply here whenever you're ready.",
        "expired": "I haven't heard back, so I've closed your {kind} request for now. "
        "Write here any time and we'll pick it up again.",
        "few": "a few details",
    },
    "es": {
        "closing": "Tu caso {ref} está cerrado. Si necesitas algo más, escribe aquí. ¿Qué tal lo hicimos?",
        "takeover_named": "{name}, de nuestro equipo de soporte, se ocupa ahora de tu solicitud (caso {ref}). "
        "Te responderá aquí.",
        "takeover": "Una persona de nuestro equipo de soporte se ocupa ahora de tu solicitud (caso {ref}). "
        "Te responderá aquí.",
        "remind": "Te escribo por tu solicitud ({kind}): todavía necesito {need} para seguir. "
        "Responde aquí cuando puedas.",
        "expired": "Como no he tenido respuesta, he cerrado por ahora tu solicitud ({kind}). "
        "Escribe aquí cuando quieras y la retomamos.",
        "few": "algunos datos",
    },
    "fr": {
        "closing": "Votre dossier {ref} est maintenant clos. Pour toute autre question, écrivez simplement ici. "
        "Comment avons-nous fait ?",
        "takeover_named": "{name}, de notre équipe d'assistance, s'occupe maintenant de votre demande (dossier {ref}). "
        "Vous aurez la réponse ici.",
        "takeover": "Un membre de notre équipe d'assistance s'occupe maintenant de votre demande (dossier {ref}). "
        "Vous aurez la réponse ici.",
        "remind": "Je reviens vers vous au sujet de votre demande ({kind}) : il me manque encore {need} pour "
        "continuer. Répondez ici quand vous voulez.",
        "expired": "Sans nouvelles de votre part, j'ai clos votre demande ({kind}) pour l'instant. "
        "Écrivez ici quand vous voulez et nous la reprendrons.",
        "few": "quelques informations",
    },
    "de": {
        "closing": "Ihr Fall {ref} ist jetzt abgeschlossen. Wenn noch etwas ist, schreiben Sie einfach hier. "
        "Wie waren wir?",
        "takeover_named": "{name} aus unserem Support-Team kümmert sich jetzt um Ihr Anliegen (Fall {ref}) "
        "und antwortet Ihnen hier.",
        "takeover": "Ein Mitglied unseres Support-Teams kümmert sich jetzt um Ihr Anliegen (Fall {ref}) "
        "und antwortet Ihnen hier.",
        "remind": "Kurze Nachfrage zu Ihrem Anliegen ({kind}): Ich brauche noch {need}, um weiterzumachen. "
        "Antworten Sie einfach hier.",
        "expired": "Da ich nichts mehr gehört habe, habe ich Ihr Anliegen ({kind}) vorerst geschlossen. "
        "Schreiben Sie jederzeit hier, dann machen wir weiter.",
        "few": "noch ein paar Angaben",
    },
    "pt": {
        "closing": "O seu caso {ref} está encerrado. Se precisar de mais alguma coisa, é só escrever aqui. "
        "Como nos saímos?",
        "takeover_named": "{name}, da nossa equipe de suporte, está cuidando do seu pedido agora (caso {ref}) "
        "e vai responder aqui.",
        "takeover": "Uma pessoa da nossa equipe de suporte está cuidando do seu pedido agora (caso {ref}) "
        "e vai responder aqui.",
        "remind": "Passando para lembrar da sua solicitação ({kind}): ainda preciso de {need} para continuar. "
        "Responda aqui quando puder.",
        "expired": "Como não tive resposta, encerrei a sua solicitação ({kind}) por enquanto. "
        "Escreva aqui quando quiser e retomamos.",
        "few": "alguns dados",
    },
}


def words(language: str | None) -> dict[str, str]:
    return WORDS.get(language or "en", WORDS["en"])
