"""How long `supportbot` commands take from the shell, against a yardstick: the import of SQLAlchemy's
async layer (`python -c "import sqlalchemy.ext.asyncio"`), which every command touching the database
pays anyway.

    .venv/bin/python tools/cli_startup.py [--runs N] [--json] [--baseline DIR] [--importtime COMMAND]

Each round runs every command once, in a rotated order (a busy machine slows all of them alike), in
a fresh directory with no `.env` and none of the bot's variables set: the offline engine and a
migrated SQLite file of its own. Reports per command the median over the rounds of the wall time,
the CPU time (user + system; steadier than wall time when other processes share the cores) and the
import time (`python -X importtime`: the sum of the top-level imports' cumulative times), each also
as a ratio to the yardstick's. `--baseline DIR` runs the same commands from another checkout (a
worktree of main, say) in the same rounds, named `base:…`: a before/after under the same load.
`--importtime route-rules` prints that command's 40 slowest imports. Exit 0 after a measurement, 2 on
usage errors, 1 when a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

YARDSTICK = "import sqlalchemy.ext.asyncio"
RULES_TEXT = "Where is my order A-12345?"  # the rules are sure of it: the encoder is not loaded
# the rules are unsure (score below RULES_SUFFICE): the encoder loads
ENCODED_TEXT = "I want a refund for order 12345"
AMBIGUOUS_TEXT = "hmm, about that thing from last week"  # only the encoder can place it


def commands(python: str) -> dict[str, list[str]]:
    script = Path(python).with_name("supportbot")  # the console script, run by the same interpreter
    cli = [python, str(script)] if script.exists() else [python, "-m", "bot"]
    return {
        "yardstick": [python, "-c", YARDSTICK],
        "route-rules": [*cli, "route", RULES_TEXT],
        "route-encoded": [*cli, "route", ENCODED_TEXT],
        "route-ambiguous": [*cli, "route", AMBIGUOUS_TEXT],
        "cases-list": [*cli, "cases", "list"],
    }


def clean_env() -> dict[str, str]:
    """The caller's environment without the bot's own settings (the measurement must not reach Gemini,
    a configured database or a platform), and with bytecode caching on, as on a user's machine: with
    PYTHONDONTWRITEBYTECODE every run would compile the project's modules again."""
    ours = re.compile(r"^(SUPPORTBOT_|GEMINI_|GOOGLE_|SLACK_|DISCORD_|PYTHONDONTWRITEBYTECODE$)", re.IGNORECASE)
    return {k: v for k, v in os.environ.items() if not ours.match(k)}


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run of argv."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_rows(argv: list[str], env: dict[str, str], cwd: Path) -> list[tuple[int, int, str]]:
    """(self µs, cumulative µs, indented module name) for every import of one run."""
    proc = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *\S.*)$", line)
        if match:
            rows.append((int(match[1]), int(match[2]), match[3]))
    return rows


def import_seconds(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Time spent importing: the top-level imports' cumulative times (nested ones are inside them)."""
    rows = import_rows(argv, env, cwd)
    return sum(cumulative for _, cumulative, name in rows if not name.startswith("  ")) / 1e6


def measure(runs: int, python: str, workdir: Path, baseline: Path | None) -> dict[str, dict[str, float]]:
    env = clean_env()
    runs_of: dict[str, tuple[list[str], dict[str, str]]] = {n: (a, env) for n, a in commands(python).items()}
    if baseline is not None:  # its modules first on the path: the same venv runs the other checkout's code
        base_env = {**env, "PYTHONPATH": str(baseline.resolve())}
        runs_of |= {f"base:{n}": (a, base_env) for n, a in commands(python).items() if n != "yardstick"}
    for name in ("cases-list", "base:cases-list"):  # creates and migrates the database: not part of any figure
        if name in runs_of:
            timed(*runs_of[name], workdir)
    samples: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": [], "imports": []} for n in runs_of}
    names = list(runs_of)
    for round_no in range(runs + 1):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            wall, cpu = timed(*runs_of[name], workdir)
            imports = import_seconds(*runs_of[name], workdir)
            if round_no == 0:
                continue  # warm-up: page cache, bytecode
            samples[name]["wall"].append(wall)
            samples[name]["cpu"].append(cpu)
            samples[name]["imports"].append(imports)
    medians = {n: {k: statistics.median(v) for k, v in s.items()} for n, s in samples.items()}
    base = medians["yardstick"]
    for figures in medians.values():
        for key in ("wall", "cpu", "imports"):
            figures[f"{key}_ratio"] = figures[key] / base[key]
    return medians


def report(medians: dict[str, dict[str, float]], runs: int) -> str:
    lines = [
        f"medians of {runs} runs; ratio = command / `python -c {YARDSTICK!r}`; load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg()),
        f"{'command':<20} {'wall ms':>8} {'ratio':>6} {'cpu ms':>8} {'ratio':>6} {'imports ms':>11} {'ratio':>6}",
    ]
    for name, f in medians.items():
        lines.append(
            f"{name:<20} {f['wall'] * 1e3:8.0f} {f['wall_ratio']:6.2f} {f['cpu'] * 1e3:8.0f} {f['cpu_ratio']:6.2f}"
            f" {f['imports'] * 1e3:11.0f} {f['imports_ratio']:6.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds to take the median of (default 5)")
    parser.add_argument("--json", action="store_true", help="print the medians as JSON")
    parser.add_argument("--baseline", type=Path, metavar="DIR", help="also measure this checkout (named base:…)")
    parser.add_argument("--importtime", metavar="COMMAND", help="print the 40 slowest imports of one command")
    args = parser.parse_args()
    if args.baseline is not None and not (args.baseline / "bot" / "cli.py").is_file():
        parser.error(f"--baseline: {args.baseline} is not a supportbot checkout")
    with tempfile.TemporaryDirectory(prefix="supportbot-startup-") as tmp:
        workdir = Path(tmp)
        if args.importtime:
            argv = commands(sys.executable).get(args.importtime)
            if argv is None:
                parser.error(f"--importtime: one of {', '.join(commands(sys.executable))}")
            timed(commands(sys.executable)["cases-list"], clean_env(), workdir)
            rows = sorted(import_rows(argv, clean_env(), workdir), key=lambda r: r[1])
            for own, cumulative, name in rows[-40:]:
                print(f"{own / 1e3:8.1f} {cumulative / 1e3:8.1f} ms  {name}")
            return
        medians = measure(args.runs, sys.executable, workdir, args.baseline)
    print(json.dumps(medians, indent=2) if args.json else report(medians, args.runs))


if __name__ == "__main__":
    main()
