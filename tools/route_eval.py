"""Measure the offline router on a labelled CSV (Bitext's customer-support utterances by default).

    python tools/route_eval.py [CSV] [--json]

Scores the first route of `classify(instruction)` against the `route` column; rows with an empty route
are not scored. Prints per-route precision/recall/F1, the macro-F1 over the five scored routes and the
most frequent confusions. Exit 0 after a measurement, 2 when the file is absent or unreadable.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable from a plain checkout, without installing the project

from workflows.offline.routing import classify  # noqa: E402

SCORED = ("billing", "return", "status", "human", "general")
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "bitext" / "bitext-dev.csv"


def evaluate(rows: list[tuple[str, str]]) -> dict[str, object]:
    """rows are (text, gold route); returns per-route scores, macro-F1 and the confusion counts."""
    confusion: Counter[tuple[str, str]] = Counter()
    started = time.perf_counter()
    for text, gold in rows:
        confusion[(gold, classify(text)[0])] += 1
    elapsed = time.perf_counter() - started
    per_route = {}
    for route in SCORED:
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
        "macro_f1": sum(r["f1"] for r in per_route.values()) / len(SCORED),
        "per_route": per_route,
        "matrix": {g: {p: n for (g2, p), n in sorted(confusion.items()) if g2 == g} for g in SCORED},
        "confusions": [{"gold": g, "predicted": p, "count": n}
                       for (g, p), n in confusion.most_common() if g != p],
        "messages_per_second": len(rows) / elapsed if elapsed else 0.0,
    }


def load(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [(row["instruction"], row["route"].strip()) for row in csv.DictReader(f)
                if (row.get("route") or "").strip()]


def report(result: dict[str, object], path: Path) -> str:
    lines = [f"{path} — {result['rows']} scored rows", f"{'route':<10}{'precision':>10}{'recall':>8}{'F1':>8}{'n':>6}"]
    for route, s in result["per_route"].items():  # type: ignore[attr-defined]
        lines.append(f"{route:<10}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['f1']:>8.3f}{s['support']:>6}")
    lines.append(f"macro-F1 {result['macro_f1']:.4f}   accuracy {result['accuracy']:.4f}   "
                 f"{result['messages_per_second']:.0f} messages/s")
    predicted_routes = [*SCORED, "technical"]
    lines.append("confusion matrix (rows gold, columns predicted):")
    lines.append(" " * 10 + "".join(f"{p[:8]:>9}" for p in predicted_routes))
    for gold in SCORED:
        lines.append(f"{gold:<10}" + "".join(f"{result['matrix'][gold].get(p, 0):>9}" for p in predicted_routes))  # type: ignore[index]
    confusions = result["confusions"]
    lines.append("confusions (gold -> predicted): " + (", ".join(
        f"{c['gold']}->{c['predicted']} {c['count']}" for c in confusions[:12]) or "none"))  # type: ignore[index]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV, help="labelled CSV (instruction, route)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    try:
        rows = load(args.csv)
    except (OSError, KeyError, csv.Error, UnicodeDecodeError) as e:
        print(f"route_eval: cannot read {args.csv} ({e.__class__.__name__}: {e}); pass the path of a CSV with "
              "'instruction' and 'route' columns", file=sys.stderr)
        return 2
    result = evaluate(rows)
    print(json.dumps(result, indent=2) if args.json else report(result, args.csv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
