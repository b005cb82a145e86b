"""The insights charts, drawn server-side as SVG by pygal. Each is served as an image of its own (an
`<img>` cannot run script), without pygal's JavaScript tooltips (nothing is fetched from elsewhere)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pygal
from pygal.style import Style

from .insights import Durations, Insights

_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222",
    foreground_strong="#111",
    foreground_subtle="#666",
    font_family="system-ui, sans-serif",
    colors=("#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2"),
)
_COMMON = dict(
    style=_STYLE,
    js=[],
    disable_xml_declaration=False,
    width=760,
    height=320,
    legend_at_bottom=True,
    show_minor_x_labels=False,
    x_label_rotation=30,
    truncate_legend=24,
    print_values=False,
)


def _svg(chart: pygal.graph.graph.Graph) -> bytes:
    """The chart as SVG without the configuration <script> pygal embeds for its JS tooltips (unused)."""
    from lxml import etree

    tree = chart.render_tree()
    for script in [e for e in tree.iter() if isinstance(e.tag, str) and e.tag.endswith("script")]:
        script.getparent().remove(script)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="utf-8"))


def _labels(days: list[date]) -> list[str]:
    return [d.strftime("%m-%d") for d in days]


def _per_day(title: str, series: dict[str, dict[date, int]], days: list[date]) -> bytes:
    chart = pygal.StackedBar(title=title, **_COMMON)
    chart.x_labels = _labels(days)
    chart.x_labels_major = _labels(days[:: max(1, len(days) // 10)])
    for name, counts in sorted(series.items()):
        chart.add(name, [counts.get(d, 0) for d in days])
    return _svg(chart)


def cases_per_day(data: Insights) -> bytes:
    return _per_day("Cases opened per day, by kind", data.cases_by_day, data.range.days())


def messages_per_day(data: Insights) -> bytes:
    return _per_day("Messages per day, by author", data.messages_by_day, data.range.days())


def _durations(title: str, d: Durations) -> bytes:
    chart = pygal.Bar(title=title, **_COMMON)
    chart.x_labels = ["p50", "p90", "p95"]
    chart.add("minutes", [d.p50_min, d.p90_min, d.p95_min])
    return _svg(chart)


def first_response(data: Insights) -> bytes:
    return _durations(f"First response, minutes ({data.first_response.count} cases)", data.first_response)


def time_to_close(data: Insights) -> bytes:
    return _durations(f"Time to close, minutes ({data.time_to_close.count} cases)", data.time_to_close)


def handled(data: Insights) -> bytes:
    chart = pygal.Pie(title="Cases handled by the bot alone vs. by staff", inner_radius=0.45, **_COMMON)
    for name, n in data.handled.items():
        chart.add(name, n)
    return _svg(chart)


def ratings(data: Insights) -> bytes:
    chart = pygal.Bar(title="Ratings", **_COMMON)
    chart.x_labels = sorted(data.ratings)
    chart.add("ratings", [data.ratings[k] for k in sorted(data.ratings)])
    return _svg(chart)


def fallbacks(data: Insights) -> bytes:
    return _per_day("Model fallbacks per day", {"fallbacks": data.fallbacks_by_day}, data.range.days())


# name → (draw, has data?)
CHARTS: dict[str, tuple[Callable[[Insights], bytes], Callable[[Insights], bool]]] = {
    "messages": (messages_per_day, lambda d: bool(d.messages_by_day)),
    "cases": (cases_per_day, lambda d: bool(d.cases_by_day)),
    "first-response": (first_response, lambda d: d.first_response.count > 0),
    "time-to-close": (time_to_close, lambda d: d.time_to_close.count > 0),
    "handled": (handled, lambda d: bool(d.handled)),
    "ratings": (ratings, lambda d: bool(d.ratings)),
    "fallbacks": (fallbacks, lambda d: bool(d.fallbacks_by_day)),
}
