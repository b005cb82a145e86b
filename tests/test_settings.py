"""Settings: defaults, parsing, and one clear line naming a bad variable."""

from __future__ import annotations

import pytest

from bot import settings as settings_module
from bot.logs import RedactSecrets, configured_secrets
from bot.settings import SettingsError, load_settings, surely_offline


def test_defaults(env_clean) -> None:
    s = load_settings()
    assert s.database_url == "sqlite+aiosqlite:///supportbot.db"
    assert s.llm == "auto" and not s.uses_gemini
    assert (s.llm_rpm, s.llm_concurrency, s.llm_timeout_s) == (60, 8, 30.0)
    assert s.model == "gemini-2.5-flash" and s.router_model == "gemini-2.5-flash-lite"


def test_lists_and_key_alias(env_clean, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_DISCORD_CHANNEL_IDS", " 111, 222 ,")
    monkeypatch.setenv("SUPPORTBOT_STAFF_SLACK_USER_IDS", "U1,U2")
    monkeypatch.setenv("GOOGLE_API_KEY", "secret-key-123")
    s = load_settings()
    assert s.discord_channel_ids == ["111", "222"]
    assert s.staff_slack_user_ids == ["U1", "U2"]
    assert s.uses_gemini
    assert "secret-key-123" not in repr(s)


def test_dotenv_file_is_read(env_clean) -> None:
    (env_clean / ".env").write_text("SUPPORTBOT_LLM_RPM=7\n")
    assert load_settings().llm_rpm == 7


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        ("SUPPORTBOT_LLM_RPM", "lots", "SUPPORTBOT_LLM_RPM"),
        ("SUPPORTBOT_LLM_RPM", "0", "SUPPORTBOT_LLM_RPM"),
        ("SUPPORTBOT_LLM_TIMEOUT_S", "-1", "SUPPORTBOT_LLM_TIMEOUT_S"),
        ("SUPPORTBOT_LLM", "gpt", "SUPPORTBOT_LLM"),
        ("SUPPORTBOT_DATABASE_URL", "sqlite:///x.db", "async driver"),
        ("SUPPORTBOT_DATABASE_URL", "::::", "SUPPORTBOT_DATABASE_URL"),
        ("SUPPORTBOT_DISCORD_CHANNEL_IDS", "general", "SUPPORTBOT_DISCORD_CHANNEL_IDS"),
        ("SUPPORTBOT_SLACK_API_URL", "slack.local", "SUPPORTBOT_SLACK_API_URL"),
    ],
)
def test_malformed_setting_names_the_variable(
    env_clean, monkeypatch: pytest.MonkeyPatch, var: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert fragment in message and "\n" not in message


def test_gemini_mode_needs_a_key(env_clean, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_LLM", "gemini")
    with pytest.raises(SettingsError, match="GEMINI_API_KEY"):
        load_settings()


def test_secrets_are_redacted_from_log_records() -> None:
    import logging

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token is %s", ("xoxb-very-secret",), None)
    RedactSecrets(["xoxb-very-secret"]).filter(record)
    assert "xoxb-very-secret" not in record.getMessage()
    assert "[redacted]" in record.getMessage()


def test_the_quick_reader_finds_what_the_model_reads(env_clean, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings_schema import Settings

    assert Settings.model_config["env_file"] == settings_module.ENV_FILE
    (env_clean / ".env").write_text("supportbot_llm=gemini\nGOOGLE_API_KEY=from-file\n")
    monkeypatch.setenv("SUPPORTBOT_LLM", "auto")  # the environment over the file, names in any case
    assert settings_module.configured("SUPPORTBOT_LLM", "GOOGLE_API_KEY") == {
        "SUPPORTBOT_LLM": "auto",
        "GOOGLE_API_KEY": "from-file",
    }
    assert load_settings().llm == "auto" and load_settings().uses_gemini


@pytest.mark.parametrize(
    ("env", "offline"),
    [
        ({}, True),
        ({"SUPPORTBOT_LLM": "offline", "GEMINI_API_KEY": "k"}, True),
        ({"GEMINI_API_KEY": ""}, True),
        ({"GOOGLE_API_KEY": "k"}, False),
        ({"SUPPORTBOT_LLM": "gemini"}, False),  # only load_settings() can say what is wrong
        ({"SUPPORTBOT_LLM": "Offline"}, False),
    ],
)
def test_surely_offline_agrees_with_the_settings(
    env_clean, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], offline: bool
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert surely_offline() is offline
    if offline:
        assert not load_settings().uses_gemini


def test_configured_secrets_cover_the_validated_ones(env_clean, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.logs import secret_values

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-1")
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", "postgresql+asyncpg://bot:pw-secret@db/support")
    (env_clean / ".env").write_text("DISCORD_BOT_TOKEN=discord-secret\n")
    assert set(secret_values(load_settings())) <= set(configured_secrets())
    assert {"xoxb-secret-1", "pw-secret", "discord-secret"} <= set(configured_secrets())
