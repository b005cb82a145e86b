"""The staff console under a large history: response times of the queue, list, search and case pages
with 100k cases and 1M messages, on SQLite and (given a server) PostgreSQL.

The history is loaded before the console's migration (as on a deployment that adds the console to an
existing database), then the migration builds the full-text indexes; both times are reported. Pages are
fetched over HTTP on loopback by a signed-in client, one request at a time, so each figure is one
page's own latency."""

from __future__ import annotations

import contextlib
import random
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy.engine import make_url

from bot.settings import Settings
from storage import console as console_store
from storage import migrate
from storage.console import StaffIdentity
from storage.db import Database

from ..cases import KINDS
from .console_bulk import bulk_ref, generate, order_id
from .measure import ms, percentile

CONSOLE_REVISION = "0004"
TARGET_P95_MS = 150.0
_STAFF = StaffIdentity("slack", "U0BENCH")


@dataclass
class PageTiming:
    page: str
    path: str
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    rows_hint: str = ""


@dataclass
class BackendResult:
    database: str
    cases: int
    messages: int
    load_s: float
    index_s: float
    pages: list[PageTiming] = field(default_factory=list)


@dataclass
class ConsoleBenchResult:
    backends: list[BackendResult]
    target_p95_ms: float = TARGET_P95_MS


def _paths(cases: int, rng: random.Random) -> dict[str, Callable[[], str]]:
    def some_case() -> str:
        i = rng.randrange(cases)
        return f"/console/cases/{bulk_ref(KINDS[i % len(KINDS)], i)}"

    return {
        "queue": lambda: "/console/",
        "list, newest": lambda: "/console/cases",
        "list, page 40": lambda: "/console/cases?page=40",
        "list, status+kind": lambda: "/console/cases?status=open&kind=billing",
        "list, customer": lambda: f"/console/cases?customer=slack:U{rng.randrange(20_000):05d}",
        "list, date range": lambda: "/console/cases?from=2000-01-01&to=2100-01-01&platform=discord",
        "search, an order id": lambda: f"/console/cases?q={order_id(rng.randrange(cases))}",
        "search, a reference": lambda: f"/console/cases?q={some_case().rsplit('/', 1)[1]}",
        "search, common word": lambda: "/console/cases?q=refund",
        "search, two words": lambda: "/console/cases?q=broken+charger",
        "case page": some_case,
    }


@contextlib.asynccontextmanager
async def _postgres_database(server_url: str) -> AsyncIterator[str]:
    """A throw-away database on the given server, dropped afterwards."""
    import asyncpg

    base = make_url(server_url)
    name = f"sbbench_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(
            host=base.host, port=base.port or 5432, user=base.username, password=base.password, database=base.database
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _before_console_revision(url: str) -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config(url)).get_revision(CONSOLE_REVISION)
    assert script is not None and isinstance(script.down_revision, str)
    return script.down_revision


async def _load(url: str, *, cases: int, messages_per_case: int, say: Callable[[str], None]) -> tuple[float, float]:
    """The history at the revision before the console's, then the console's migration; their times."""
    db = Database(url)
    try:
        await migrate.upgrade(db, _before_console_revision(url))
        started = time.perf_counter()
        await generate(db, cases=cases, messages_per_case=messages_per_case, progress=say)
        load_s = time.perf_counter() - started
        say(f"  loaded in {load_s:.0f} s; building the console's indexes …")
        started = time.perf_counter()
        await migrate.upgrade(db)
        index_s = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            async with db.engine.begin() as conn:
                await conn.exec_driver_sql("ANALYZE")
    finally:
        await db.aclose()
    return load_s, index_s


async def measure_pages(
    url: str, *, cases: int, requests: int, label: str = "", say: Callable[[str], None] = lambda _m: None
) -> list[PageTiming]:
    """Each page `requests` times (after three unmeasured), over HTTP, as a signed-in staff member."""
    from bot.console.app import console_app
    from bot.wiring import open_services

    settings = Settings(
        _env_file=None,
        SUPPORTBOT_DATABASE_URL=url,
        SUPPORTBOT_LLM="offline",
        SUPPORTBOT_STAFF_SLACK_USER_IDS=_STAFF.user_id,
    )
    timings = []
    async with open_services(settings, use_settings_llm=False) as services:
        async with services.db.write() as s:
            token, _ = await console_store.create_session(s, _STAFF, ttl=timedelta(hours=1))
        app = web.Application()
        app.add_subapp("/console", console_app(services))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        rng = random.Random(11)
        try:
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookies={"sb_console": token}) as http:
                for page, make_path in _paths(cases, rng).items():
                    times = []
                    for n in range(requests + 3):  # three warm-up requests, not counted
                        path = make_path()
                        began = time.perf_counter()
                        async with http.get(path) as response:
                            body = await response.read()
                            if response.status != 200:
                                raise RuntimeError(f"{path} answered {response.status}: {body[:200]!r}")
                        if n >= 3:
                            times.append(time.perf_counter() - began)
                    timings.append(
                        PageTiming(
                            page=page,
                            path=path,
                            requests=len(times),
                            p50_ms=ms(percentile(times, 50)),
                            p95_ms=ms(percentile(times, 95)),
                            max_ms=ms(max(times)),
                        )
                    )
                    say(f"  {label} {page}: p95 {timings[-1].p95_ms} ms")
        finally:
            await runner.cleanup()
    return timings


async def _measure_backend(
    label: str, url: str, *, cases: int, messages_per_case: int, requests: int, say: Callable[[str], None]
) -> BackendResult:
    say(f"  {label}:")
    load_s, index_s = await _load(url, cases=cases, messages_per_case=messages_per_case, say=say)
    result = BackendResult(
        database=label,
        cases=cases,
        messages=cases * messages_per_case,
        load_s=round(load_s, 1),
        index_s=round(index_s, 1),
    )
    result.pages = await measure_pages(url, cases=cases, requests=requests, label=label, say=say)
    return result


async def run(
    *,
    cases: int,
    messages_per_case: int = 10,
    requests: int = 50,
    postgres_url: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ConsoleBenchResult:
    say = progress or (lambda _message: None)
    backends = []
    with tempfile.TemporaryDirectory(prefix="supportbot-bench-console-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'console.db'}"
        backends.append(
            await _measure_backend(
                "SQLite", url, cases=cases, messages_per_case=messages_per_case, requests=requests, say=say
            )
        )
    if postgres_url:
        async with _postgres_database(postgres_url) as url:
            backends.append(
                await _measure_backend(
                    "PostgreSQL", url, cases=cases, messages_per_case=messages_per_case, requests=requests, say=say
                )
            )
    return ConsoleBenchResult(backends=backends)
