"""Measure the offline router on a labelled CSV (Bitext's customer-support utterances by default).

    python tools/route_eval.py [CSV ...] [--dev] [--index NPZ] [--json]

Scores the first route of the offline decision against the `route` column; rows with an empty route
are not scored. Prints per-route precision/recall/F1, the macro-F1 over the routes the file has, the
spurious-case rate (messages that need nothing, routed where a case would open), the most frequent
confusions, throughput and p95 latency per message. `--dev` adds the out-of-domain dev set
(tools/devset/dev.csv). `--index` routes with another index (a held-out build of
tools/nlu/build_index.py). Exit 0 after a measurement, 2 when a file is absent or unreadable.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable from a plain checkout, without installing the project

from tools.nlu.build_index import bitext_half  # noqa: E402
from workflows.offline import semantic  # noqa: E402
from workflows.offline.decision import classify  # noqa: E402

SCORED = ("billing", "return", "status", "human", "general")
CASE_ROUTES = frozenset({"billing", "return", "status", "technical", "human"})
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "bitext" / "bitext-dev.csv"
DEV_CSV = ROOT / "tools" / "devset" / "dev.csv"


async def evaluate(rows: list[tuple[str, str]]) -> dict[str, object]:
    """rows are (text, gold route); returns per-route scores, macro-F1 and the confusion counts."""
    confusion: Counter[tuple[str, str]] = Counter()
    await classify("warm-up")  # the model loads once, on the first message: not a per-message cost
    latencies, cpu = [], []
    for text, gold in rows:
        started, cpu_started = time.perf_counter(), time.process_time()
        predicted = (await classify(text))[0]
        latencies.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        confusion[(gold, predicted)] += 1
    elapsed = sum(latencies)
    latencies.sort()
    cpu.sort()
    scored = [r for r in SCORED if any(g == r for g, _ in confusion)]
    general = sum(n for (g, _), n in confusion.items() if g == "general")
    spurious = sum(n for (g, p), n in confusion.items() if g == "general" and p in CASE_ROUTES)
    per_route = {}
    for route in scored:
        tp = confusion[(route, route)]
        predicted = sum(n for (_, p), n in confusion.items() if p == route)
        actual = sum(n for (g, _), n in confusion.items() if g == route)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_route[route] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    return {
        "rows": len(rows),
        "accuracy": sum(n for (g, p), n in confusion.items() if g == p) / len(rows) if rows else 0.0,
        "macro_f1": sum(r["f1"] for r in per_route.values()) / len(scored) if scored else 0.0,
        "spurious_case_rate": spurious / general if general else 0.0,
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000 if latencies else 0.0,
        # CPU time: what the machine's other load does not inflate (wall time does, on shared cores)
        "cpu_p95_ms": cpu[int(0.95 * (len(cpu) - 1))] * 1000 if cpu else 0.0,
        "cpu_messages_per_second": len(cpu) / sum(cpu) if sum(cpu) else 0.0,
        "semantic": semantic.available(),
        "per_route": per_route,
        "matrix": {g: {p: n for (g2, p), n in sorted(confusion.items()) if g2 == g} for g in SCORED},
        "confusions": [{"gold": g, "predicted": p, "count": n} for (g, p), n in confusion.most_common() if g != p],
        "messages_per_second": len(rows) / elapsed if elapsed else 0.0,
    }


def load(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [
            (row["instruction"], row["route"].strip()) for row in csv.DictReader(f) if (row.get("route") or "").strip()
        ]


def report(result: dict[str, object], path: Path) -> str:
    lines = [f"{path} — {result['rows']} scored rows", f"{'route':<10}{'precision':>10}{'recall':>8}{'F1':>8}{'n':>6}"]
    for route, s in result["per_route"].items():  # type: ignore[attr-defined]
        lines.append(f"{route:<10}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['f1']:>8.3f}{s['support']:>6}")
    lines.append(
        f"macro-F1 {result['macro_f1']:.4f}   accuracy {result['accuracy']:.4f}   "
        f"spurious cases {result['spurious_case_rate']:.2%}   "
        f"{result['messages_per_second']:.0f} messages/s   p95 {result['p95_ms']:.1f} ms   "
        f"(CPU: {result['cpu_messages_per_second']:.0f} messages/s, p95 {result['cpu_p95_ms']:.1f} ms)"
        + ("" if result["semantic"] else "   (rules only: the encoder or the index is missing)")
    )
    predicted_routes = [*SCORED, "technical"]
    lines.append("confusion matrix (rows gold, columns predicted):")
    lines.append(" " * 10 + "".join(f"{p[:8]:>9}" for p in predicted_routes))
    for gold in result["per_route"]:  # type: ignore[attr-defined]
        lines.append(f"{gold:<10}" + "".join(f"{result['matrix'][gold].get(p, 0):>9}" for p in predicted_routes))  # type: ignore[index]
    confusions = result["confusions"]
    lines.append(
        "confusions (gold -> predicted): "
        + (", ".join(f"{c['gold']}->{c['predicted']} {c['count']}" for c in confusions[:12]) or "none")
    )  # type: ignore[index]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="*", type=Path, help="labelled CSVs (instruction, route); default Bitext's")
    parser.add_argument("--dev", action="store_true", help="also the out-of-domain dev set (tools/devset/dev.csv)")
    parser.add_argument("--index", type=Path, help="route with this index instead of the shipped one")
    parser.add_argument(
        "--half",
        choices=("odd", "even"),
        help="score only this half of each file (the half a `build_index.py --exclude-half` index has not seen)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    paths = (list(args.csv) or [DEFAULT_CSV]) + ([DEV_CSV] if args.dev else [])
    if args.index is not None:
        semantic.INDEX_PATH = args.index
    results = {}
    for path in paths:
        try:
            rows = load(path)
            if args.half:
                rows = [(t, r) for t, r in rows if bitext_half(" ".join(t.split())) == args.half]
        except (OSError, KeyError, csv.Error, UnicodeDecodeError) as e:
            print(
                f"route_eval: cannot read {path} ({e.__class__.__name__}: {e}); pass the path of a CSV with "
                "'instruction' and 'route' columns",
                file=sys.stderr,
            )
            return 2
        results[str(path)] = result = asyncio.run(evaluate(rows))
        if not args.json:
            print(report(result, path))
    if args.json:
        print(json.dumps(results if len(results) > 1 else next(iter(results.values())), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
