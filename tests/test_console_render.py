"""Rendering customer text into the console's pages, property-tested: whatever a customer writes (in a
message, a case detail, a note), the page has exactly the elements and attributes of the same page with
harmless text, the text reads back unchanged, and no link or source starts with `javascript:`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.console.render import environment, safe_href
from storage.console import StaffIdentity

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ENV = environment()
# Text that looks like markup in HTML, Markdown and Slack's mrkdwn, mixed with anything else.
HOSTILE_PIECES = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "<javascript:alert(1)|click>",
        '<a href="javascript:alert(1)">x</a>',
        '" onmouseover="alert(1)',
        "'",
        '"',
        "&lt;",
        "&amp;",
        "</div>",
        "<!--",
        "-->",
        "<![CDATA[",
        "{{ 7*7 }}",
        "{% if 1 %}",
        "\x00",
        "\u2028",
        "`code`",
        "*bold*",
        "<https://evil.example|bank>",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " \t\n",
        "<svg/onload=1>",
    ]
)
CUSTOMER_TEXT = st.lists(st.one_of(HOSTILE_PIECES, st.text(max_size=20)), max_size=8).map("".join)


class Shape(HTMLParser):
    """The page's elements with their attribute names, the text of `.text` blocks, and every URL."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.urls: list[str] = []
        self.texts: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(sorted(name for name, _ in attrs))))
        self.urls += [value or "" for name, value in attrs if name in ("href", "src", "action", "formaction")]
        if self._depth:
            self._depth += 1
        elif ("class", "text") in attrs:
            self._depth = 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.texts[-1] += data


def case_page(text: str, detail: str, note: str) -> str:
    case = SimpleNamespace(
        ref="TEC-1",
        kind="technical",
        status="open",
        platform="slack",
        customer_id="U1",
        assignee=None,
        needs_staff=True,
        details={"issue": detail, "needed_from_customer": "x"},
        created_at=NOW,
        updated_at=NOW,
    )
    message = SimpleNamespace(role="customer", author_id="U1", text=text, internal=False, created_at=NOW)
    internal = SimpleNamespace(role="staff", author_id="U2", text=text, internal=True, created_at=NOW)
    event = SimpleNamespace(action="note", actor="slack:U2", note=note, created_at=NOW)
    context: dict[str, Any] = {
        "root": "/console",
        "nav": "cases",
        "now": NOW,
        "staff": StaffIdentity("slack", "U2"),
        "csrf_token": "t",
        "case": case,
        "events": [event],
        "transcript": [message, internal],
        "conversation": None,
        "siblings": [],
        "transcript_total": 2,
        "done": "",
        "refused": "",
    }
    return asyncio.run(ENV.get_template("case.html").render_async(**context))


def shape(html: str) -> Shape:
    parser = Shape()
    parser.feed(html)
    parser.close()
    return parser


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=CUSTOMER_TEXT, detail=CUSTOMER_TEXT, note=CUSTOMER_TEXT)
def test_customer_text_never_becomes_markup(text: str, detail: str, note: str) -> None:
    page = shape(case_page(text, detail, note))
    # The same page with harmless text (empty stays empty: an empty detail or note is left out).
    baseline = shape(case_page(*("x" if value else "" for value in (text, detail, note))))
    assert page.tags == baseline.tags  # no element or attribute came from the text
    assert not any(url.strip().lower().startswith(("javascript:", "data:", "vbscript:")) for url in page.urls)
    assert page.texts == [text, text]  # the transcript shows the text as the customer wrote it


@given(
    url=st.one_of(
        CUSTOMER_TEXT,
        st.sampled_from(
            [
                " javascript:alert(1)",
                "java\tscript:x",
                "//evil.example",
                "data:text/html,<b>",
                "https:evil",
                "/relative",
            ]
        ),
    )
)
def test_only_absolute_http_links_are_linked(url: str) -> None:
    href = safe_href(url)
    assert href == "" or (href.strip().lower().startswith(("http://", "https://")) and href == url.strip())


def test_safe_href_keeps_real_links() -> None:
    assert safe_href("https://docs.example.com/returns?a=1") == "https://docs.example.com/returns?a=1"
    assert safe_href("javascript:alert(1)") == "" and safe_href("https:evil") == ""
