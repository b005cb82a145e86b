"""Measure the FAQ pipeline's main-text extraction against reference extractions.

    python tools/extract_eval.py [DIR] [--json] [--option NAME=true|false ...]

DIR holds one folder per page with `source.html` (the page as captured) and `expected.html` (the
reference main content), as in Mozilla Readability's test pages (../shared/data/readability by
default). The reference is the text of expected.html. Scores are token-level (lower-cased words,
counted as a multiset): precision = shared tokens / extracted tokens, recall = shared tokens /
reference tokens, F1 their harmonic mean. Prints one line per page and the mean. `--option` overrides
one of the trafilatura options in `workflows.faq.extract.TRAFILATURA_OPTIONS` to compare settings.
Exit 0 after a measurement, 2 when the folder is absent or holds no page.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable from a plain checkout, without installing the project

import lxml.html  # noqa: E402

from workflows.faq import extract  # noqa: E402

DEFAULT_DIR = ROOT.parent / "shared" / "data" / "readability"
_TOKEN = re.compile(r"\w+")


def tokens(text: str) -> Counter[str]:
    return Counter(_TOKEN.findall(text.lower()))


def reference_text(html: str) -> str:
    doc = lxml.html.fromstring(html)
    for element in doc.xpath("//script|//style"):
        element.drop_tree()
    return " ".join(doc.itertext())


def score(extracted: str, reference: str) -> dict[str, float]:
    got, want = tokens(extracted), tokens(reference)
    shared = sum((got & want).values())
    precision = shared / sum(got.values()) if got else 0.0
    recall = shared / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


@dataclass(frozen=True)
class PageScore:
    page: str
    title: str
    seconds: float
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Report:
    pages: list[PageScore]
    mean: dict[str, float]
    options: dict[str, bool]


def evaluate(folder: Path) -> Report:
    pages = []
    folders = [p for p in folder.iterdir() if (p / "source.html").is_file() and (p / "expected.html").is_file()]
    for page in sorted(folders):
        started = time.perf_counter()
        result = extract.extract_html((page / "source.html").read_bytes())
        elapsed = time.perf_counter() - started
        scores = score(result.text, reference_text((page / "expected.html").read_text(encoding="utf-8")))
        pages.append(PageScore(page=page.name, title=result.title, seconds=round(elapsed, 4), **scores))
    mean = {k: sum(getattr(p, k) for p in pages) / len(pages) if pages else 0.0 for k in ("precision", "recall", "f1")}
    return Report(pages=pages, mean=mean, options=dict(extract.TRAFILATURA_OPTIONS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=BOOL")
    args = parser.parse_args(argv)
    for option in args.option:
        name, _, value = option.partition("=")
        if name not in extract.TRAFILATURA_OPTIONS or value.lower() not in ("true", "false"):
            parser.error(f"--option {option!r}: expected one of {sorted(extract.TRAFILATURA_OPTIONS)}=true|false")
        extract.TRAFILATURA_OPTIONS[name] = value.lower() == "true"
    if not args.folder.is_dir():
        print(f"extract_eval: {args.folder} not found (the shared data is not present)", file=sys.stderr)
        return 2
    report = evaluate(args.folder)
    if not report.pages:
        print(f"extract_eval: no page folders with source.html and expected.html in {args.folder}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(asdict(report), indent=2))
        return 0
    print(f"{'page':28s} {'precision':>9s} {'recall':>7s} {'F1':>6s}  title")
    for page in report.pages:
        print(f"{page.page:28s} {page.precision:9.3f} {page.recall:7.3f} {page.f1:6.3f}  {page.title}")
    mean = report.mean
    print(f"{'mean':28s} {mean['precision']:9.3f} {mean['recall']:7.3f} {mean['f1']:6.3f}")
    print(f"options: {report.options}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
