"""`supportbot bench --only soak` for a few seconds: the real bot as a subprocess under traffic with
model 5xx and timeouts, Slack 429s and 5xx, and one SIGKILL and restart — every message accounted for,
nothing posted twice, and the report carries the process samples."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support import command_line, environment


@pytest.mark.slow
@pytest.mark.timeout(400)  # seconds of traffic, then up to two minutes for the bot to drain
def test_a_short_soak_loses_nothing_and_answers_once(tmp_path: Path) -> None:
    done = subprocess.run(
        [*command_line(), "bench", "--only", "soak", "--minutes", "0.1", "--json"],
        cwd=tmp_path,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=380,
    )
    assert done.returncode == 0, done.stderr
    soak = json.loads(done.stdout)["soak"]
    assert soak["messages_sent"] >= 10 and soak["acknowledged"] == soak["messages_sent"]
    # Every acknowledged message is accounted for: answered, or lost (listed). Messages are stored on arrival,
    # before waiting for their conversation's turn; what remains is the moment between Slack's acknowledgement
    # and the store's commit (milliseconds), which a kill can still hit: the report lists any such loss.
    assert soak["answered"] + soak["lost"] == soak["acknowledged"] and len(soak["lost_examples"]) == soak["lost"]
    assert soak["duplicated"] == 0, soak["log_file"]
    assert soak["kills"] == 1 and sum(soak["faults_injected"].values()) > 0
    assert set(soak["samples"]) == {"ready", "before_kill", "after_restart", "end"}
    assert all(s["rss_mb"] > 0 and s["open_fds"] > 0 for s in soak["samples"].values())
    targets = {t["name"]: t["met"] for t in json.loads(done.stdout)["targets"]}
    assert targets == {"soak: messages lost": soak["lost"] == 0, "soak: messages duplicated": True}
