"""The example connector, found through its entry point: a dist-info made at test time from the
package's own pyproject.toml (what `pip install` would write) puts it in `importlib.metadata` without
installing anything; the bot then selects it by name and uses it for every task."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings, SettingsError, load_settings
from bot.wiring import open_services, shell_chat
from workflows.backoffice import connectors

HERE = Path(__file__).resolve().parent


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tomllib.loads((HERE / "pyproject.toml").read_text())["project"]
    dist = tmp_path / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    entries = project["entry-points"][connectors.GROUP]
    (dist / "entry_points.txt").write_text(
        f"[{connectors.GROUP}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items())
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(HERE / "src"))


def settings(tmp_path: Path, **values: str) -> Settings:
    return Settings(
        _env_file=None,
        SUPPORTBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",  # type: ignore[call-arg]
        SUPPORTBOT_LLM="offline",
        **values,
    )


async def test_the_connector_is_selected_by_its_entry_point_name(installed: None, tmp_path: Path) -> None:
    assert "example-orders" in connectors.installed()
    async with open_services(settings(tmp_path, SUPPORTBOT_BACKOFFICE="example-orders")) as services:
        assert services.backoffices.describe() == "example-orders" and services.backoffices.notice is None
        result = (
            await shell_chat(services).send(
                "Where is my order #W-40001? And I'd like to return my Acme Kettle, it leaks."
            )
        ).result
        office: Any = services.backoffices.office("status")
    assert result is not None
    by_kind = {c.kind: c for c in result.cases}
    assert by_kind["status"].details["current_status"] == "held at customs"
    assert by_kind["status"].details["source"] == "example-orders"
    assert "held at customs" in result.reply and by_kind["status"].ref in result.reply
    assert by_kind["return"].needs_staff and "approved" not in result.reply  # the returns desk decides
    assert len(office.handled) == 2 and len(set(office.handled)) == 2


def test_an_unknown_connector_is_one_clear_error_and_lists_the_installed_ones(installed: None) -> None:
    with pytest.raises(SettingsError, match=r"SUPPORTBOT_BACKOFFICE: 'acme' is neither .*example-orders"):
        load_settings(_env_file=None, SUPPORTBOT_BACKOFFICE="acme")
