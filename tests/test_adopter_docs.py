"""What an adopter meets first: the README's quick start and sections, working links in the docs,
`make help`, `supportbot --version`, and the demo label on `supportbot run`'s start line."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.runtime import start_line
from bot.wiring import open_services

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
# Written on the reliability branch (operations); linked from the README ahead of it.
LINKED_AHEAD = {"docs/operations.md"}


def test_the_quick_start_shows_the_two_commands_first_then_an_faq() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    first_block = quick.split("```sh", 1)[1].split("```", 1)[0].strip().splitlines()
    assert [line.split()[:2] for line in first_block] == [["make", "run"], ["make", "test"]]
    assert "### Build an FAQ from your help page, then ask it a question" in quick
    assert "supportbot faq https://" in quick and "supportbot ask " in quick


def test_the_readme_has_the_sections_an_adopter_looks_for() -> None:
    headings = re.findall(r"^## (.+)$", README, re.M)
    for wanted in (
        "Quick start",
        "What is simulated",
        "Connecting your systems",
        "Command line",
        "Configuration",
        "Slack",
        "Discord",
        "Slash commands",
        "Staff channel",
        "Staff console",
        "PostgreSQL",
        "Docker",
        "Operations",
        "Reliability",
        "Performance",
        "Architecture",
    ):
        assert wanted in headings, wanted
    assert "/case-resolve" in README and "cases resolve" in README
    assert "other_details" in README  # the export format, column by column


def test_commands_are_shown_with_the_venv() -> None:
    """Every `supportbot …` line in a shell block is reachable: `.venv/bin/supportbot`, or after
    `source .venv/bin/activate` earlier in the same document."""
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = doc.read_text()
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            for line in block.splitlines():
                if re.match(r"\s*(\w+=\S+\s+)*supportbot\s", line):
                    before = text[: text.index(line)]
                    assert "source .venv/bin/activate" in before, f"{doc.name}: {line.strip()}"


def test_relative_links_in_the_readme_and_docs_point_to_files() -> None:
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            path = (doc.parent / target).resolve()
            if str(path.relative_to(REPO)) in LINKED_AHEAD:
                continue
            assert path.exists(), f"{doc.relative_to(REPO)} links to {target}"


def test_version_and_make_help() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"supportbot {version('supportbot')}"
    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    out = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert re.search(r"^make run\s", out, re.M) and re.search(r"^make test\s", out, re.M)


async def test_the_start_line_labels_the_simulation(make_settings: Any) -> None:
    async with open_services(make_settings()) as services:
        assert "DEMO" in start_line(services, [], host="127.0.0.1", port=3000)
    async with open_services(make_settings(SUPPORTBOT_BACKOFFICE="staff")) as services:
        line = start_line(services, [], host="127.0.0.1", port=3000)
    assert "back office: staff" in line and "DEMO" not in line


def test_the_readme_lists_the_export_columns_in_their_order() -> None:
    from bot.case_export import EXPORT_COLUMNS

    table = README.split("**The export format.**", 1)[1].split("\n\n", 2)[1]
    listed = [name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)`", row.split("|")[1])]
    assert tuple(listed) == EXPORT_COLUMNS
