"""The settings model: every variable, its default and its validation (`bot.settings` loads it).

Importing this module costs pydantic-settings and the model's build (a tenth of a second here), so
`bot.settings` imports it only when a command needs the settings.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///supportbot.db"

CsvList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="SUPPORTBOT_DATABASE_URL")
    llm: Literal["auto", "gemini", "offline"] = Field("auto", validation_alias="SUPPORTBOT_LLM")
    gemini_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("GEMINI_API_KEY", "GOOGLE_API_KEY"))
    gemini_base_url: str | None = Field(None, validation_alias="SUPPORTBOT_GEMINI_BASE_URL")
    model: str = Field("gemini-2.5-flash", min_length=1, validation_alias="SUPPORTBOT_MODEL")
    router_model: str = Field("gemini-2.5-flash-lite", min_length=1, validation_alias="SUPPORTBOT_ROUTER_MODEL")
    llm_rpm: int = Field(60, ge=1, le=100_000, validation_alias="SUPPORTBOT_LLM_RPM")
    llm_concurrency: int = Field(8, ge=1, le=1000, validation_alias="SUPPORTBOT_LLM_CONCURRENCY")
    llm_timeout_s: float = Field(30.0, gt=0, le=600, validation_alias="SUPPORTBOT_LLM_TIMEOUT_S")

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str | None = Field(None, validation_alias="SUPPORTBOT_SLACK_API_URL")

    discord_bot_token: SecretStr | None = Field(None, validation_alias="DISCORD_BOT_TOKEN")
    discord_api_url: str | None = Field(None, validation_alias="SUPPORTBOT_DISCORD_API_URL")
    discord_gateway_url: str | None = Field(None, validation_alias="SUPPORTBOT_DISCORD_GATEWAY_URL")
    discord_channel_ids: CsvList = Field(default_factory=list, validation_alias="SUPPORTBOT_DISCORD_CHANNEL_IDS")

    staff_slack_user_ids: CsvList = Field(default_factory=list, validation_alias="SUPPORTBOT_STAFF_SLACK_USER_IDS")
    staff_discord_role_ids: CsvList = Field(default_factory=list, validation_alias="SUPPORTBOT_STAFF_DISCORD_ROLE_IDS")
    staff_discord_user_ids: CsvList = Field(default_factory=list, validation_alias="SUPPORTBOT_STAFF_DISCORD_USER_IDS")

    faq_allowed_hosts: CsvList = Field(default_factory=list, validation_alias="SUPPORTBOT_FAQ_ALLOWED_HOSTS")

    # The staff loop: cards, takeover, timers.
    slack_staff_channel: str | None = Field(None, validation_alias="SUPPORTBOT_SLACK_STAFF_CHANNEL")
    discord_staff_channel_id: str | None = Field(None, validation_alias="SUPPORTBOT_DISCORD_STAFF_CHANNEL_ID")
    slack_staff_group: str | None = Field(None, validation_alias="SUPPORTBOT_SLACK_STAFF_GROUP")
    sla_first_response_min: float = Field(30, gt=0, le=100_000, validation_alias="SUPPORTBOT_SLA_FIRST_RESPONSE_MIN")
    pending_remind_h: float = Field(24, gt=0, le=100_000, validation_alias="SUPPORTBOT_PENDING_REMIND_H")
    pending_close_days: float = Field(7, gt=0, le=10_000, validation_alias="SUPPORTBOT_PENDING_CLOSE_DAYS")
    takeover: bool = Field(True, validation_alias="SUPPORTBOT_TAKEOVER")
    rating_scale: Literal["thumbs", "five"] = Field("thumbs", validation_alias="SUPPORTBOT_RATING_SCALE")

    # The web console.
    public_url: str | None = Field(None, validation_alias="SUPPORTBOT_PUBLIC_URL")

    # Reliability and data.
    max_attempts: int = Field(5, ge=1, le=100, validation_alias="SUPPORTBOT_MAX_ATTEMPTS")
    retention_days: int | None = Field(None, ge=1, le=100_000, validation_alias="SUPPORTBOT_RETENTION_DAYS")

    # Back offices: where tasks go.
    # `simulated`, `webhook`, `staff`, or the name of an installed connector (entry point group supportbot.backoffice).
    backoffice: str = Field("simulated", validation_alias="SUPPORTBOT_BACKOFFICE")
    backoffice_billing: str | None = Field(None, validation_alias="SUPPORTBOT_BACKOFFICE_BILLING")
    backoffice_return: str | None = Field(None, validation_alias="SUPPORTBOT_BACKOFFICE_RETURN")
    backoffice_status: str | None = Field(None, validation_alias="SUPPORTBOT_BACKOFFICE_STATUS")
    backoffice_url: str | None = Field(None, validation_alias="SUPPORTBOT_BACKOFFICE_URL")
    backoffice_secret: SecretStr | None = Field(None, validation_alias="SUPPORTBOT_BACKOFFICE_SECRET")
    backoffice_timeout_s: float = Field(10.0, gt=0, le=600, validation_alias="SUPPORTBOT_BACKOFFICE_TIMEOUT_S")

    @field_validator(
        "discord_channel_ids",
        "staff_slack_user_ids",
        "staff_discord_role_ids",
        "staff_discord_user_ids",
        "faq_allowed_hosts",
        mode="before",
    )
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("discord_channel_ids", "staff_discord_role_ids", "staff_discord_user_ids")
    @classmethod
    def _snowflakes(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.isdigit():
                raise ValueError(f"{item!r} is not a numeric Discord id")
        return value

    @field_validator("faq_allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        from workflows.hosts import parse_allowed_host

        for item in value:
            parse_allowed_host(item)
        return value

    @field_validator("backoffice", "backoffice_billing", "backoffice_return", "backoffice_status")
    @classmethod
    def _backoffice_mode(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = (value or "").strip()
        if not value:  # unset: the per-kind variables fall back to SUPPORTBOT_BACKOFFICE
            return "simulated" if info.field_name == "backoffice" else None
        from workflows.backoffice.connectors import check_mode  # local: entry points are read only when needed

        return check_mode(value)

    @field_validator("database_url")
    @classmethod
    def _async_url(cls, value: str) -> str:
        # The scheme as SQLAlchemy's URL parser reads it, without importing SQLAlchemy (a command such as
        # `supportbot route` never needs it); the engine parses the rest when it is created.
        scheme = re.match(r"([\w+]+)://", value)
        if scheme is None:
            raise ValueError("is not a database URL (e.g. sqlite+aiosqlite:///supportbot.db)")
        if scheme.group(1) not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
            raise ValueError("must use an async driver: sqlite+aiosqlite://… or postgresql+asyncpg://…")
        return value

    @field_validator("discord_staff_channel_id")
    @classmethod
    def _snowflake(cls, value: str | None) -> str | None:
        if value and not value.isdigit():
            raise ValueError(f"{value!r} is not a numeric Discord id")
        return value or None

    @field_validator(
        "gemini_base_url", "slack_api_url", "discord_api_url", "discord_gateway_url", "public_url", "backoffice_url"
    )
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must be an http(s):// or ws(s):// URL")
        return value

    # --- derived ---------------------------------------------------------------------------
    @property
    def uses_gemini(self) -> bool:
        if self.llm == "offline":
            return False
        return self.gemini_api_key is not None and bool(self.gemini_api_key.get_secret_value())

    @property
    def backoffice_modes(self) -> dict[str, str]:
        """The back office of each task kind: the per-kind variable, else SUPPORTBOT_BACKOFFICE."""
        mode = self.backoffice or "simulated"
        return {
            "billing": self.backoffice_billing or mode,
            "return": self.backoffice_return or mode,
            "status": self.backoffice_status or mode,
        }

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def discord_configured(self) -> bool:
        return self.discord_bot_token is not None


# Variable names by field, for error messages.
ENV_NAMES = {
    name: (f.validation_alias.choices[0] if isinstance(f.validation_alias, AliasChoices) else f.validation_alias)
    for name, f in Settings.model_fields.items()
}
