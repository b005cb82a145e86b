"""Helpers for the console tests: the console mounted as `supportbot run` mounts it, signing in with a
one-time link the way a browser does (open the link, press Sign in), and reading case events."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from storage import cases as case_store
from storage import console as console_store
from storage.console import StaffIdentity

STAFF = StaffIdentity("slack", "U0SAM")
STAFF_SETTINGS = {"SUPPORTBOT_STAFF_SLACK_USER_IDS": "U0SAM,U0ALEX"}


def mounted(services: Any) -> web.Application:
    from bot.console.app import console_app

    app = web.Application()
    app.add_subapp("/console", console_app(services))
    return app


async def new_link(services: Any, staff: StaffIdentity = STAFF, *, minutes: float = 10) -> str:
    async with services.db.write() as s:
        return await console_store.create_link(s, staff, ttl=timedelta(minutes=minutes))


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name} in: {html[:500]}"
    return found.group(1)


async def sign_in(client: TestClient, token: str) -> Any:
    """Open the link, then submit its Sign in form; returns the final response."""
    form_page = await client.get("/console/signin", params={"token": token})
    assert form_page.status == 200
    html = await form_page.text()
    return await client.post(
        "/console/signin", data={"token": hidden(html, "token"), "csrf_token": hidden(html, "csrf_token")}
    )


async def signed_in_csrf(client: TestClient) -> str:
    """The CSRF token of the signed-in session (from any page's sign-out form)."""
    response = await client.get("/console/faqs")
    assert response.status == 200
    return hidden(await response.text(), "csrf_token")


async def events_of(services: Any, ref: str) -> list[Any]:
    async with services.db.session() as s:
        case = await case_store.get_case(s, ref)
        assert case is not None
        return await case_store.case_events(s, case.id)


async def seeded_database(db_url: str) -> None:
    """Migrate the database and add the demo cases (what the bot would find on start)."""
    from bot.bench.console_data import seed_demo
    from storage import migrate
    from storage.db import Database

    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        await seed_demo(db)
    finally:
        await db.aclose()


async def link_for(db_url: str, staff: StaffIdentity = STAFF) -> str:
    """A sign-in token made in the bot's database, as `supportbot console link` makes it."""
    from storage.db import Database

    db = Database(db_url)
    try:
        async with db.write() as s:
            return await console_store.create_link(s, staff, ttl=timedelta(minutes=10))
    finally:
        await db.aclose()


async def events_of_case(db_url: str, ref: str) -> list[Any]:
    from storage.db import Database

    db = Database(db_url)
    try:
        async with db.session() as s:
            case = await case_store.get_case(s, ref)
            assert case is not None
            return await case_store.case_events(s, case.id)
    finally:
        await db.aclose()


async def wait_for_closing_message(fake: Any, channel: str, thread_ts: str, ref: str) -> None:
    """Until the customer's thread on the fake Slack gets a message naming the closed case."""

    def posted() -> bool:
        return any(
            c.args.get("channel") == channel and c.args.get("thread_ts") == thread_ts and ref in str(c.args)
            for c in fake.calls_to("chat.postMessage")
        )

    await fake.wait_until(posted, timeout=30)


def staff_loop_landed() -> bool:
    """Whether a close is carried to the customer's thread (the staff loop, bot/staff)."""
    import importlib.util

    return importlib.util.find_spec("bot.staff") is not None


async def status_of(services: Any, ref: str) -> str:
    async with services.db.session() as s:
        case = await case_store.get_case(s, ref)
        assert case is not None
        return case.status
