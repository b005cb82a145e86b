"""`supportbot …` as a user runs it: a subprocess on a temporary SQLite file, the offline engine and
none of the environment's platform or model credentials."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(tmp_path: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SUPPORTBOT_", "SLACK_", "DISCORD_", "GEMINI_", "GOOGLE_"))
    }
    environment.update(
        {"SUPPORTBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", "SUPPORTBOT_LLM": "offline", **env}
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
