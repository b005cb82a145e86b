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
    return await client.post("/console/signin", data={"token": hidden(html, "token"),
                                                      "csrf_token": hidden(html, "csrf_token")})


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


async def status_of(services: Any, ref: str) -> str:
    async with services.db.session() as s:
        case = await case_store.get_case(s, ref)
        assert case is not None
        return case.status
