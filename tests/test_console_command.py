"""/console in chat: a private one-time link for staff (that signs in), a refusal for anyone else."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.commands.registry import Caller, CommandContext
from tests.harness.console import STAFF_SETTINGS, mounted, sign_in


async def run_console(services: Any, caller: Caller) -> Any:
    return await services.registry.dispatch("console", "", CommandContext(caller=caller, services=services))


async def test_staff_get_a_private_link_that_signs_them_in(make_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.wiring import open_services

    settings = make_settings(SUPPORTBOT_PUBLIC_URL="http://support.example.com:8080/", **STAFF_SETTINGS)
    async with open_services(settings, use_settings_llm=False) as services:
        result = await run_console(services, Caller("slack", "U0SAM", is_staff=True))
        assert result.ok and result.ephemeral
        found = re.search(r"http://support\.example\.com:8080/console/signin\?token=([\w-]+)", result.text)
        assert found and result.data["url"] in result.text
        async with TestClient(TestServer(mounted(services))) as client:
            signed_in = await sign_in(client, found.group(1))
            assert signed_in.status == 200 and "slack:U0SAM" in await signed_in.text()


async def test_discord_staff_by_role_can_sign_in(make_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.wiring import open_services

    settings = make_settings(SUPPORTBOT_STAFF_DISCORD_ROLE_IDS="900000000000000001")
    async with open_services(settings, use_settings_llm=False) as services:
        result = await run_console(services, Caller("discord", "400000000000000009", is_staff=True))
        token = result.data["url"].split("token=")[1]
        async with TestClient(TestServer(mounted(services))) as client:
            assert (await sign_in(client, token)).status == 200


async def test_customers_are_refused(make_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.wiring import open_services

    async with open_services(make_settings(**STAFF_SETTINGS), use_settings_llm=False) as services:
        result = await run_console(services, Caller("slack", "U0CUSTOMER", is_staff=False))
        assert not result.ok and "staff only" in result.text and "token" not in result.text
