"""Main text and title of a fetched page, and sentences of that text.

HTML goes through trafilatura, which leaves navigation, sidebars, footers, cookie banners and scripts
out. Its element tree is rendered here as light line-based text that keeps the structure the FAQ
needs and nothing that a quote could trip over (no markdown escapes)::

    ## A heading            (one to six '#', from h1–h6)
    A paragraph on one line.
    - a list item           (nested items indented by two spaces)
    cell | cell | cell      (a table row)
    ```                     (a code block between fences, kept verbatim)

This text is what gets stored (the page cache) and what `pages.build_page` parses back into sections
and sentences. Plain-text pages are passed through, paragraphs re-joined. `tools/extract_eval.py`
measures the extraction against reference texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

import trafilatura
from lxml import etree
from sentencex import segment
from trafilatura.settings import Document

# Measured with tools/extract_eval.py on the readability pages (mean token F1): these options 0.954;
# without images 0.951 (image captions are lost; the images themselves are not rendered); favor_recall
# changes no page; favor_precision 0.927 (recall 0.94 → 0.88); without tables 0.944. Comments are
# noise for an FAQ and cost no F1.
TRAFILATURA_OPTIONS: dict[str, bool] = {
    "include_comments": False,
    "include_tables": True,
    "include_images": True,
    "include_links": False,
    "favor_recall": False,
    "favor_precision": False,
}

_HEADING_TAIL = re.compile(r"[\s¶§#\u00b6\U0001f517]+$")  # Sphinx/Asciidoctor anchor marks after a heading
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LIST_OR_HEADING = re.compile(r"^\s*(#{1,6}\s|[-*•]\s|\d{1,3}[.)]\s)")


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str


def _inline(element: etree._Element) -> str:
    """The text of an element on one line; line breaks become spaces."""
    for br in element.iter("lb"):
        br.tail = " " + (br.tail or "")
    return " ".join("".join(element.itertext()).split())


def _detach(element: etree._Element) -> None:
    """Remove an element from its parent, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    element.tail = None
    parent.remove(element)


def clean_heading(text: str) -> str:
    return _HEADING_TAIL.sub("", " ".join(text.split()))


def _render(element: etree._Element, lines: list[str], depth: int = 0) -> None:
    tag = element.tag
    if tag == "head":
        rend = str(element.get("rend") or "h2")
        level = int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2
        text = clean_heading(_inline(element))
        if text:
            lines.append(f"{'#' * level} {text}")
    elif tag == "list":
        for item in element:
            if item.tag != "item":
                continue
            # nested lists and multi-line code blocks are rendered after the item's own line
            nested = [
                child
                for child in item
                if child.tag == "list" or (child.tag == "code" and "\n" in "".join(child.itertext()).strip())
            ]
            for child in nested:
                _detach(child)
            text = _inline(item)
            if text:
                lines.append(f"{'  ' * depth}- {text}")
            for child in nested:
                _render(child, lines, depth + 1 if child.tag == "list" else 0)
    elif tag == "table":
        for row in element.iter("row"):
            cells = [_inline(cell) for cell in row if cell.tag == "cell"]
            if any(cells):
                lines.append(" | ".join(cells))
    elif tag == "code" and depth == 0:
        code = "".join(element.itertext()).strip("\n")
        if code.strip():
            lines.extend(["```", code.replace("```", "'''"), "```"])
    elif tag in ("graphic", "lb"):
        return
    elif tag in ("div", "body", "main") or (tag == "quote" and len(element) and element[0].tag == "p"):
        for child in element:
            _render(child, lines, depth)
    else:  # p, quote, hi, ref and anything else inline-ish: one paragraph
        text = _inline(element)
        if text:
            lines.append(text)


def extract_html(html: str | bytes, *, url: str | None = None) -> Extracted:
    """Main content and title of an HTML page (empty text when no main content was found)."""
    options = cast(dict[str, Any], TRAFILATURA_OPTIONS)
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, **options)
    lines: list[str] = []
    if isinstance(doc, Document) and doc.body is not None:
        _render(doc.body, lines)
    title = clean_heading(doc.title or "") if isinstance(doc, Document) else ""
    text = _CONTROL.sub(" ", "\n".join(lines))
    if not title:
        title = next((line.lstrip("# ") for line in lines if line.startswith("#")), "")
    return Extracted(title=title, text=text)


def extract_plain(text: str) -> Extracted:
    """Plain text passed through: hard-wrapped lines of a paragraph joined, structure lines kept."""
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        current: list[str] = []
        for raw in para.split("\n"):
            if _LIST_OR_HEADING.match(raw) and current:
                lines.append(" ".join(current))
                current = []
            if raw.strip():
                current.append(raw.strip())
        if current:
            lines.append(" ".join(current))
    first = lines[0] if lines else ""
    title = clean_heading(first.lstrip("#")) if first.startswith("#") or len(first) <= 80 else ""
    return Extracted(title=title, text="\n".join(lines))


def split_sentences(text: str, *, language: str = "en") -> list[str]:
    """Sentences of one block of text (sentencex: rule-based, fast, many languages)."""
    return [s.strip() for s in segment(language, text) if len(s.strip()) > 1]
