"""A page of an FAQ after extraction: its text, split into sections (by heading) and sentences.

The extracted text (see `extract` for its line format) is the single source: a page rebuilt from the
text a page cache stored has the same sections and sentences as a freshly extracted one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from .extract import split_sentences

_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)")
_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,3}[.)])\s+(.*\S)")


@dataclass(frozen=True)
class Section:
    heading: str  # "" for the text before a page's first heading
    level: int
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Page:
    url: str  # as the staff member gave it; what citations name
    title: str
    text: str
    content_hash: str
    sections: tuple[Section, ...]
    final_url: str = ""
    reused: bool = False  # the extraction came from the page cache (the page had not changed)

    @cached_property
    def sentences(self) -> tuple[str, ...]:
        return tuple(s for section in self.sections for s in section.sentences)


def parse_sections(text: str) -> tuple[Section, ...]:
    """Sections of an extracted text; code blocks are kept in the text but yield no sentences."""
    sections: list[Section] = []
    heading, level = "", 0
    sentences: list[str] = []
    in_code = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
            continue
        if in_code or not line.strip():
            continue
        if match := _HEADING.match(line):
            if heading or sentences:
                sections.append(Section(heading, level, tuple(sentences)))
            heading, level, sentences = match.group(2).strip(), len(match.group(1)), []
        elif match := _ITEM.match(line):
            sentences.extend(split_sentences(match.group(1)))
        elif " | " in line:
            sentences.append(" ".join(line.split()))  # a table row is one citable unit
        else:
            sentences.extend(split_sentences(line.strip()))
    if heading or sentences:
        sections.append(Section(heading, level, tuple(sentences)))
    return tuple(sections)


def build_page(
    *, url: str, title: str, text: str, content_hash: str, final_url: str = "", reused: bool = False
) -> Page:
    return Page(
        url=url,
        title=title.strip() or url,
        text=text,
        content_hash=content_hash,
        sections=parse_sections(text),
        final_url=final_url or url,
        reused=reused,
    )
