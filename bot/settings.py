"""All configuration, read from the environment and `.env`, validated at start.

Only this module (with the model it loads, `bot/settings_schema.py`) reads the environment.
`load_settings()` reads and validates every variable; a bad value raises `SettingsError` naming it.
`surely_offline()` answers the one question `supportbot route` asks without loading pydantic-settings
(a tenth of a second, more than routing a message takes).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .settings_schema import Settings

__all__ = ["Settings", "SettingsError", "configured", "load_settings", "surely_offline"]

ENV_FILE = ".env"  # the model's `env_file`, relative to the working directory (a test checks they agree)
GEMINI_KEYS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")


class SettingsError(Exception):
    """A missing or malformed setting; the message names the variable and says what to do."""


def __getattr__(name: str) -> Any:
    # `from bot.settings import Settings` keeps working; the model loads on that first use.
    if name == "Settings":
        from .settings_schema import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise `SettingsError` with one line naming the bad variable."""
    from pydantic import ValidationError

    from .settings_schema import ENV_NAMES, Settings

    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = str(err["loc"][0]) if err["loc"] else "?"
        var = ENV_NAMES.get(loc, loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "bool_parsing":  # the switches read on/off
            msg = f"{err['input']!r} is not a switch: use on or off"
        raise SettingsError(f"invalid setting {var}: {msg}") from None
    if "webhook" in settings.backoffice_modes.values() and not (settings.backoffice_url and settings.backoffice_secret):
        missing = "SUPPORTBOT_BACKOFFICE_URL" if not settings.backoffice_url else "SUPPORTBOT_BACKOFFICE_SECRET"
        raise SettingsError(f"invalid setting {missing}: the webhook back office needs it (see docs/backoffice.md)")
    if settings.llm == "gemini" and not settings.uses_gemini:
        raise SettingsError("invalid setting SUPPORTBOT_LLM: 'gemini' needs GEMINI_API_KEY or GOOGLE_API_KEY")
    return settings


def configured(*names: str) -> dict[str, str]:
    """The raw values of the named variables that are set, unvalidated, found as pydantic-settings finds
    them: names in any case, the environment over `.env`, the file parsed by python-dotenv."""
    wanted = {name.lower(): name for name in names}
    values: dict[str, str] = {}
    if os.path.isfile(ENV_FILE):
        from dotenv import dotenv_values

        for key, value in dotenv_values(ENV_FILE, encoding="utf-8").items():
            if key.lower() in wanted and value is not None:
                values[wanted[key.lower()]] = value
    for key, value in os.environ.items():
        if key.lower() in wanted:
            values[wanted[key.lower()]] = value
    return values


def surely_offline() -> bool:
    """True when the settings select the offline engine whatever the other variables hold: SUPPORTBOT_LLM
    is `offline`, or `auto` (or unset) with no Gemini key. False means only `load_settings()` can tell
    (and it reports a malformed value)."""
    values = configured("SUPPORTBOT_LLM", *GEMINI_KEYS)
    llm = values.get("SUPPORTBOT_LLM", "auto")
    return llm == "offline" or (llm == "auto" and not any(values.get(key) for key in GEMINI_KEYS))
