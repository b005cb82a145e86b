"""Logging set-up. Every handler gets a filter that masks the configured secrets, so a token that
ends up in an exception message or a library's debug line never reaches the log."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .settings import configured

if TYPE_CHECKING:
    from .settings import Settings

# The variables that hold secrets (and SUPPORTBOT_DATABASE_URL, whose password is one).
SECRET_VARIABLES = (
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DISCORD_BOT_TOKEN",
    "SUPPORTBOT_BACKOFFICE_SECRET",
)


class RedactSecrets(logging.Filter):
    """`secrets`: the values, or a function giving them, called at the first record (a command that logs
    nothing then never loads what computing them needs)."""

    def __init__(self, secrets: Iterable[str] | Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._source = secrets
        self._known: list[str] | None = None

    @property
    def _secrets(self) -> list[str]:
        if self._known is None:
            values = self._source() if callable(self._source) else self._source
            self._known = sorted({s for s in values if s and len(s) >= 6}, key=len, reverse=True)
        return self._known

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "[redacted]")
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self._secrets:
                record.exc_text = record.exc_text.replace(secret, "[redacted]")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold: tokens, keys and the database URL's password."""
    from sqlalchemy.engine import make_url  # local: keep logging set-up light

    fields = (
        settings.gemini_api_key,
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_signing_secret,
        settings.discord_bot_token,
        settings.backoffice_secret,
    )
    secrets = [f.get_secret_value() for f in fields if f is not None]
    password = make_url(settings.database_url).password
    return secrets + ([str(password)] if password else [])


def configured_secrets() -> list[str]:
    """The secrets as the environment and `.env` hold them, unvalidated: what a command that runs without
    loading the settings (`supportbot route`) masks."""
    from sqlalchemy.engine import make_url  # local: keep logging set-up light

    values = configured(*SECRET_VARIABLES, "SUPPORTBOT_DATABASE_URL")
    url = values.pop("SUPPORTBOT_DATABASE_URL", "")
    try:
        password = make_url(url).password if url else None
    except Exception:  # not a URL: nothing connects with it, so it holds no password to mask
        password = None
    return list(values.values()) + ([str(password)] if password else [])


def setup_logging(secrets: Iterable[str] | Callable[[], Iterable[str]] = (), *, level: int = logging.INFO) -> None:
    """Logging to stderr, masking `secrets` (a function giving them is called at the first record)."""
    root = logging.getLogger()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiosqlite", "sqlalchemy.engine", "httpx", "discord.gateway", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
