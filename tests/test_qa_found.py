"""What trying the product as a customer turned up, through the whole pipeline (the shell adapter, the
offline engine, the database): each test is a message a customer typed and what the reply must get right."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.wiring import open_services, shell_chat
from tests.harness.cli import run_cli


@pytest.fixture
def cli(env_clean: Path, db_url: str) -> Iterator[Any]:
    """`supportbot …` in-process, with one Slack staff member; restores the logging it reconfigures."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    env = {"SUPPORTBOT_DATABASE_URL": db_url, "SUPPORTBOT_LLM": "offline", "SUPPORTBOT_STAFF_SLACK_USER_IDS": "U0SAM"}
    yield lambda *args: CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    root.handlers[:], root.level = handlers, level


async def ask(make_settings: Any, text: str) -> Any:
    async with open_services(make_settings()) as services:
        result = (await shell_chat(services).send(text)).result
    assert result is not None
    return result


async def test_a_numbered_list_of_requests_opens_one_case_per_request(make_settings: Any) -> None:
    result = await ask(
        make_settings,
        "Hi, I need help with three things: 1) a refund for invoice INV-7890 because I "
        "was charged twice, 2) I want to return my SuperWidget 5000 since it's broken, "
        "and 3) where is my order #A-12345?",
    )
    details = {c.kind: c.details for c in result.cases}
    assert result.routes == ["billing", "return", "status"]
    assert details["billing"]["invoice_number"] == "INV-7890"
    assert details["return"]["product_name"] == "SuperWidget 5000"
    assert details["return"]["reason_for_return"] == "broken"  # not "broken, and"
    assert details["status"]["order_id"] == "A-12345"


async def test_no_request_of_a_numbered_list_is_dropped(make_settings: Any) -> None:
    result = await ask(make_settings, "1) I was charged twice on invoice INV-7890 2) where is my order #A-12345")
    assert sorted(c.kind for c in result.cases) == ["billing", "status"]


async def test_an_order_id_in_portuguese_is_kept_as_written(make_settings: Any) -> None:
    result = await ask(make_settings, "Onde está a minha encomenda A-9999?")
    [case] = result.cases
    assert result.language == "pt" and case.details["order_id"] == "A-9999"
    assert "A-9999" in result.reply and "THE-9999" not in result.reply


def test_assigning_from_the_terminal_to_a_bare_staff_id_names_their_platform(cli: Any) -> None:
    asked: Result = cli("ask", "I want a real person", "--json")
    [case] = json.loads(asked.stdout)["cases"]
    assigned = cli("cases", "assign", case["ref"], "U0SAM")
    assert assigned.exit_code == 0 and assigned.stdout.strip() == f"assigned {case['ref']} to slack:U0SAM (in_progress)"


@pytest.mark.slow  # subprocesses
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("cases", "list", "--status", "lost"), "'lost' is not one of"),
        (("frobnicate",), "No such command 'frobnicate'"),
        (("ask",), "Missing argument 'TEXT'"),
        (("console", "link"), "Missing option '--user'"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_help(tmp_path: Path, args: tuple[str, ...], fragment: str) -> None:
    proc = run_cli(tmp_path, *args)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and fragment in line and "--help" in line


@pytest.mark.parametrize(
    "text",
    ["ok thanks bye", "thanks a lot, bye!", "cheers", "gracias!", "what can you do?", "What can you help me with?"],
)
async def test_a_goodbye_or_a_question_about_the_bot_is_not_called_off_topic(make_settings: Any, text: str) -> None:
    result = await ask(make_settings, text)
    assert not result.cases and not result.clarify
    assert "outside what I can help with" not in result.reply and "se sale de lo que puedo" not in result.reply


def test_an_export_to_a_missing_folder_names_the_file_asked_for(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "cases.csv"
    result = cli("cases", "export", "--output", str(target))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: cannot write {target}: No such file or directory"


def test_the_case_table_names_its_columns(cli: Any) -> None:
    cli("ask", "I want a real person")
    for args in (("cases", "list"), ("cases", "list", "--queue")):
        header, row = cli(*args).stdout.splitlines()
        assert header.split()[:4] == ["REF", "STATUS", "KIND", "CUSTOMER"] and row.startswith("HUM-")


def test_a_switch_set_to_something_else_says_on_or_off(env_clean: Path, db_url: str) -> None:
    result = CliRunner().invoke(
        main, ["cases", "list"], env={"SUPPORTBOT_DATABASE_URL": db_url, "SUPPORTBOT_TAKEOVER": "maybe"}
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: invalid setting SUPPORTBOT_TAKEOVER: 'maybe' is not a switch: use on or off"
