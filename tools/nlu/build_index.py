"""Rebuild the routing index (workflows/offline/model/route_index.npz) from public data and our own examples.

    python tools/nlu/build_index.py [--bitext CSV] [--exclude-half odd|even] [--output PATH]

Embeds every labelled example with the encoder the bot uses and stores the unit vectors (float16), their
routes and a version record (encoder sha256, sha256 of each input file, counts). The same inputs give the
same file. `--exclude-half` keeps only one half of Bitext (split by a hash of the text), so the other half
can measure generalisation: `tools/route_eval.py` with `--index` on the file this writes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from workflows.offline import semantic  # noqa: E402
from workflows.types import ROUTES  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent / "examples.txt"
BITEXT = ROOT.parent / "shared" / "data" / "bitext" / "bitext-dev.csv"
VERSION = "routes-2"


def bitext_half(text: str) -> str:
    """Which half of Bitext a text belongs to, by a stable hash (for held-out measurement)."""
    return "odd" if hashlib.sha256(text.encode("utf-8")).digest()[0] % 2 else "even"


def load_examples(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            route, text = line.split("\t", 1)
            if route not in ROUTES:
                raise ValueError(f"{path}: unknown route {route!r}")
            rows.append((text.strip(), route))
    return rows


def load_bitext(path: Path, exclude_half: str | None) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = [
            (" ".join(r["instruction"].split()), r["route"].strip())
            for r in csv.DictReader(f)
            if (r.get("route") or "").strip()
        ]
    return [(t, r) for t, r in rows if exclude_half is None or bitext_half(t) != exclude_half]


def build(rows: list[tuple[str, str]], meta: dict[str, object], output: Path) -> None:
    rows = list(dict.fromkeys(rows))  # the same (text, route) once
    routes = [r for r in ROUTES if any(route == r for _, route in rows)]
    vectors = np.concatenate(
        [semantic.encoder().encode([t for t, _ in rows[i : i + 64]]) for i in range(0, len(rows), 64)]
    )
    labels = np.array([routes.index(r) for _, r in rows], dtype=np.int8)
    meta = {
        **meta,
        "version": VERSION,
        "routes": routes,
        "examples": len(rows),
        "per_route": {r: int((labels == i).sum()) for i, r in enumerate(routes)},
        "encoder": {
            "package": semantic.ENCODER_PACKAGE,
            "sha256": semantic.ENCODER_SHA256,
            "max_tokens": semantic.MAX_TOKENS,
        },
    }
    buffer = io.BytesIO()
    # stored, not compressed: float16 vectors hardly compress, and inflating them took 20 ms of every first route
    np.savez(buffer, vectors=vectors.astype(np.float16), labels=labels, meta=np.array(json.dumps(meta)))
    output.write_bytes(buffer.getvalue())
    print(f"{output}: {len(rows)} examples {meta['per_route']}, {output.stat().st_size // 1024} KiB")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bitext", type=Path, default=BITEXT)
    parser.add_argument("--examples", type=Path, default=EXAMPLES)
    parser.add_argument("--exclude-half", choices=("odd", "even"))
    parser.add_argument("--output", type=Path, default=semantic.INDEX_PATH)
    args = parser.parse_args()
    for path in (args.examples, args.bitext):
        if not path.is_file():
            print(
                f"build_index: {path} not found; pass --bitext / --examples with the files to build from",
                file=sys.stderr,
            )
            return 2
    own = load_examples(args.examples)
    bitext = load_bitext(args.bitext, args.exclude_half)
    meta = {
        "inputs": {args.examples.name: _sha(args.examples), args.bitext.name: _sha(args.bitext)},
        "bitext_half_excluded": args.exclude_half,
    }
    build(own + bitext, meta, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
