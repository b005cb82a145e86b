"""HTML and CSV out of the console: one Jinja2 environment with autoescaping on for every template
(customer text is only ever inserted as escaped text; no template marks user data safe), the filters
the templates use, and CSV downloads whose cells cannot run as spreadsheet formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from ..case_export import csv_cell

TEMPLATES = Path(__file__).resolve().parent / "templates"
SUBJECT_KEYS = ("invoice_number", "product_name", "order_id", "issue", "request", "concern")


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(moment: datetime | None) -> str:
    return aware(moment).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def age(moment: datetime, now: datetime) -> str:
    minutes = max(0, int((now - aware(moment)).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} d {hours % 24} h"


def words(value: str) -> str:
    return str(value).replace("_", " ")


def subject(details: Any) -> str:
    if not isinstance(details, dict):
        return ""
    value = next((details[k] for k in SUBJECT_KEYS if details.get(k)), "")
    return str(value)[:80]


def safe_href(url: Any) -> str:
    """The URL if it is an absolute http(s) link, else "" (no javascript:, data: or relative tricks)."""
    if not isinstance(url, str):
        return ""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def durations(d: Any) -> str:
    if not d.count:
        return "no data"
    return f"{d.p50_min} / {d.p90_min} / {d.p95_min} min ({d.count} cases)"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        enable_async=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when, age=age, words=words, subject=subject, safe_href=safe_href, aware=aware, durations=durations
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


async def page(env: jinja2.Environment, template: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    html = await env.get_template(template).render_async(**context)
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-store"}
    )


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> web.Response:
    out = io.StringIO()
    out.write("\ufeff")  # spreadsheet programs detect UTF-8 by it
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(aware(v).isoformat() if isinstance(v, datetime) else v) for v in row])
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
