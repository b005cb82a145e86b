"""Shared fixtures. Every test runs with the network closed except loopback, and with real model
requests blocked: an accidental call to a real service fails the test instead of leaving the machine."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Settings come only from what a test sets: no developer .env or exported token leaks in.
for _var in list(os.environ):
    if _var.startswith("SUPPORTBOT_TEST_"):
        continue
    if _var.startswith(("SUPPORTBOT_", "SLACK_", "DISCORD_")) or _var in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        del os.environ[_var]

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_local(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False
    return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        raise ConnectionRefusedError(f"test network guard: connection to {address!r} refused (loopback only)")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_local(address):
        raise ConnectionRefusedError(f"test network guard: connection to {address!r} refused (loopback only)")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    name = host.decode() if isinstance(host, bytes) else host
    if name not in (None, "localhost"):
        try:
            ipaddress.ip_address(str(name).split("%")[0])
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, f"test network guard: no DNS for {name!r}") from None
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def _block_real_model_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        from workflows.llm import gemini
    except ImportError:
        return
    monkeypatch.setattr(gemini, "ALLOW_REAL_REQUESTS", False)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    return SHARED_DATA


TEST_DB = os.environ.get("SUPPORTBOT_TEST_DB", "sqlite")  # `postgres` runs the suite on PostgreSQL
POSTGRES_URL = os.environ.get("SUPPORTBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://127.0.0.1:5432/test")


def postgres_reason() -> str | None:
    """None when PostgreSQL answers at POSTGRES_URL, else why not."""
    import asyncio

    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)

    async def probe() -> None:
        conn = await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
            timeout=3,
        )
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # any failure means: no PostgreSQL here
        return f"PostgreSQL not reachable at {url.host}:{url.port or 5432} ({type(exc).__name__})"
    return None


_PG_REASON: list[str | None] = []


def require_postgres() -> str:
    """A fresh PostgreSQL database URL for one test, or skip with the reason."""
    if not _PG_REASON:
        _PG_REASON.append(postgres_reason())
    if _PG_REASON[0]:
        pytest.skip(_PG_REASON[0])
    return POSTGRES_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL database (created and dropped around the test)."""
    import asyncio
    import uuid

    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    base = make_url(require_postgres())
    name = f"sbtest_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(
            host=base.host, port=base.port or 5432, user=base.username, password=base.password, database=base.database
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def db_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if TEST_DB == "postgres":  # migrated here, as an operator would with `supportbot db upgrade`
        import asyncio

        from storage import migrate
        from storage.db import Database

        url = str(request.getfixturevalue("postgres_url"))

        async def upgrade() -> None:
            db = Database(url)
            try:
                await migrate.upgrade(db)
            finally:
                await db.aclose()

        asyncio.run(upgrade())
        return url
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def make_settings(db_url: str):  # type: ignore[no-untyped-def]
    """Settings for a test: a temporary SQLite file, the offline engine, plus any overrides."""
    from bot.settings import Settings

    def _make(**overrides: object) -> Settings:
        values: dict[str, object] = {"SUPPORTBOT_DATABASE_URL": db_url, "SUPPORTBOT_LLM": "offline"}
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return _make


@pytest.fixture
async def services(make_settings) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    """Fully wired services on a fresh SQLite database with the offline engine."""
    from bot.wiring import open_services

    async with open_services(make_settings()) as svc:
        yield svc


@pytest.fixture
def env_clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Run from an empty folder (no .env) with no supportbot variables."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def cli(env_clean: Path, db_url: str) -> Iterator[object]:
    """Runs `supportbot …` in-process on the test's database (`cli("cases", "list")` → click's Result;
    `cli.db_url`); restores the logging it reconfigures."""
    import logging

    from click.testing import CliRunner, Result

    from bot.cli import main

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    runner = CliRunner()
    env = {"SUPPORTBOT_DATABASE_URL": db_url, "SUPPORTBOT_LLM": "offline"}

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    invoke.db_url = db_url  # type: ignore[attr-defined]
    yield invoke
    root.handlers[:], root.level = handlers, level


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, run only the tests that use a database (the rest ran on the first pass)."""
    if TEST_DB != "postgres":
        return
    keep = [item for item in items if "db_url" in getattr(item, "fixturenames", ())]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


# --- /faq: the local documentation site, a fetcher allowed to reach it, services that may use it ---


@pytest.fixture
async def site() -> AsyncIterator[str]:
    """The local documentation site (tests/fakes/site.py); yields its base URL."""
    from tests.fakes.site import serve_site

    async with serve_site() as base:
        yield base


@pytest.fixture
async def fetcher() -> AsyncIterator[object]:
    """A page fetcher allowed to reach the loopback site."""
    from workflows.faq import PageFetcher

    async with PageFetcher(allowed_hosts=["127.0.0.1"]) as f:
        yield f


@pytest.fixture
async def faq_services(make_settings) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    """Services whose /faq may fetch from 127.0.0.1 (the local site)."""
    from bot.wiring import open_services

    async with open_services(make_settings(SUPPORTBOT_FAQ_ALLOWED_HOSTS="127.0.0.1")) as svc:
        yield svc
