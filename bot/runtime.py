"""Long-running mode (`supportbot run`): builds the chat adapters (each with the narrow `Handlers` of
the core, its tokens and URLs, and its own task group) and registers them as the core's platforms,
starts them and the HTTP server (/healthz, /metrics, Slack's HTTP endpoint), resumes unfinished
messages, and shuts down gracefully."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any, Literal

from aiohttp import web

from adapters.discord import DiscordAdapter
from adapters.platform import Platform
from adapters.slack import SlackAdapter
from adapters.tasks import TaskGroup

from .heap import frozen_heap
from .leases import CLAIM_LEASE_S
from .signals import stop_on_signals
from .wiring import Services, warm_up

_log = logging.getLogger(__name__)

RESUME_INTERVAL_S = 30.0
SHUTDOWN_GRACE_S = 20.0


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def slack_adapter(services: Services, *, mode: Literal["socket", "http"] = "socket") -> SlackAdapter:
    """The Slack adapter from the settings, registered as the core's `slack` platform."""
    s = services.settings
    adapter = SlackAdapter(
        services.handlers(),
        token=_secret(s.slack_bot_token),
        app_token=_secret(s.slack_app_token),
        signing_secret=_secret(s.slack_signing_secret),
        api_url=s.slack_api_url,
        mode=mode,
        tasks=TaskGroup("Slack", before=services.acks.wait),
    )
    services.add_platform(adapter)
    return adapter


def discord_adapter(services: Services, **options: Any) -> DiscordAdapter:
    """The Discord adapter from the settings, registered as the core's `discord` platform."""
    s = services.settings
    adapter = DiscordAdapter(
        services.handlers(),
        token=_secret(s.discord_bot_token),
        channel_ids=s.discord_channel_ids,
        api_url=s.discord_api_url,
        gateway_url=s.discord_gateway_url,
        staff_role_ids=s.staff_discord_role_ids,
        **options,
    )
    services.add_platform(adapter)
    return adapter


def start_line(services: Services, adapters: Sequence[Platform], *, host: str, port: int) -> str:
    """What `supportbot run` prints once it is up: adapters, address, back office (labelled when simulated)."""
    line = (
        f"supportbot running: {', '.join(a.name for a in adapters) or 'no adapter'}; "
        f"http://{host}:{port} (/healthz, /metrics); back office: {services.backoffices.describe()}"
    )
    if (notice := services.backoffices.notice) is not None:
        line += f" — {notice}"
    return line


async def outbound_platforms(services: Services) -> list[Platform]:
    """A worker process's platforms: each configured adapter without its inbound side — Slack's Web API
    client (no route mounted, no Socket Mode), Discord's REST client (no gateway) — started for delivery."""
    s = services.settings
    platforms: list[Platform] = []
    if s.slack_configured:
        # HTTP mode with no route mounted receives nothing; the signing secret is never used here.
        slack = SlackAdapter(
            services.handlers(),
            token=_secret(s.slack_bot_token),
            signing_secret=_secret(s.slack_signing_secret) or "outbound-only",
            api_url=s.slack_api_url,
            mode="http",
        )
        await slack.start_outbound()
        platforms.append(slack)
    if s.discord_configured:
        adapter = DiscordAdapter(
            services.handlers(),
            token=_secret(s.discord_bot_token),
            channel_ids=s.discord_channel_ids,
            api_url=s.discord_api_url,
            gateway_url=s.discord_gateway_url,
        )
        await adapter.start_outbound()
        platforms.append(adapter)
    return platforms


def health_routes(services: Services, adapters: Sequence[Platform]) -> list[web.RouteDef]:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from storage import dead_letters, inbox, outbox
    from workflows import telemetry

    async def healthz(_request: web.Request) -> web.Response:
        database = await services.db.ping()
        connected = {a.name: a.connected for a in adapters}
        healthy = database and all(connected.values())
        return web.json_response(
            {
                "status": "ok" if healthy else "degraded",
                "database": database,
                "adapters": connected,
                "backoffice": services.backoffices.describe(),
            },
            status=200 if healthy else 503,
        )

    async def metrics(_request: web.Request) -> web.Response:
        try:
            async with services.db.session() as s:
                telemetry.PENDING.set(await inbox.count_unfinished(s))
                telemetry.DEAD_LETTERS.set(await dead_letters.count_dead_letters(s))
                for status, count in (await outbox.count_by_status(s)).items():
                    telemetry.STAFF_OUTBOX.labels(status).set(count)
        except Exception:  # the scrape still answers when the database is down
            _log.warning("could not count pending messages for /metrics")
        body = generate_latest(telemetry.REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/healthz", healthz), web.get("/metrics", metrics)]


async def serve(
    services: Services, adapters: Sequence[Platform], *, host: str, port: int, stop: asyncio.Event | None = None
) -> None:
    """Run until SIGINT/SIGTERM (or `stop` is set); then stop taking work and drain within a bound."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    remove_signal_handlers = stop_on_signals(stop)
    app = web.Application(client_max_size=1024 * 1024, middlewares=[services.acks.middleware])
    app.add_routes(health_routes(services, adapters))
    from .console.app import console_app  # the staff web console

    app.add_subapp("/console", console_app(services))
    for adapter in adapters:
        app.add_routes(adapter.routes())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    _log.info("HTTP server on http://%s:%d (/healthz, /metrics)", host, port)
    try:
        await warm_up(services)
        for adapter in adapters:
            await adapter.start()
    except BaseException:  # a refused token: nothing is left open behind the one-line error
        await runner.cleanup()
        remove_signal_handlers()
        raise
    print(start_line(services, adapters, host=host, port=port), file=sys.stderr, flush=True)

    async def resume_forever() -> None:
        while services.support.accepting:
            try:
                await services.support.resume()
            except Exception:
                _log.exception("resuming unfinished messages failed; will try again")
            try:  # sleeps until the next round or shutdown; never cancelled while it is working
                await asyncio.wait_for(stop.wait(), RESUME_INTERVAL_S)
            except TimeoutError:
                pass

    async def renew_claims_forever() -> None:
        while True:  # a lease outlives three missed renewals
            await asyncio.sleep(CLAIM_LEASE_S / 4)
            try:
                await services.support.renew_claims()
            except Exception:
                _log.exception("renewing message claims failed; will try again")

    resumer = asyncio.create_task(resume_forever(), name="resume-inbox")
    renewer = asyncio.create_task(renew_claims_forever(), name="renew-claims")
    # Cards, closing messages and reminders go out through the platforms running here (services.platforms).
    staff_loop = asyncio.create_task(services.staff.run(stop), name="staff-loop")
    retention = None
    if services.settings.retention_days:
        from .customers import retention_forever

        retention = asyncio.create_task(
            retention_forever(services.db, days=services.settings.retention_days, stop=stop), name="retention"
        )
    with frozen_heap():  # what start-up loaded, out of the collector's full walks
        try:
            await stop.wait()
        finally:
            _log.info("shutting down: no new work; finishing what is in flight (up to %.0fs)", SHUTDOWN_GRACE_S)
            deadline = loop.time() + SHUTDOWN_GRACE_S
            services.support.accepting = False  # new and waiting messages stay stored for the next start
            stop.set()
            for adapter in adapters:
                try:
                    await adapter.stop()
                except Exception:
                    _log.exception("stopping the %s adapter failed", adapter.name)
            drained = await services.support.drain(timeout_s=max(0.0, deadline - loop.time()))
            # The resumer's messages in flight were part of the drain; cancelled only if the bound ran out.
            done, _ = await asyncio.wait({resumer}, timeout=max(0.0, deadline - loop.time()) if drained else 0)
            if not done:
                resumer.cancel()
                await asyncio.gather(resumer, return_exceptions=True)
            renewer.cancel()  # claims left now are released, or expire, for the next start
            await asyncio.gather(renewer, return_exceptions=True)
            await asyncio.wait({staff_loop}, timeout=5)  # it stops between rounds; an unfinished post is retried
            staff_loop.cancel()
            await asyncio.gather(staff_loop, return_exceptions=True)
            if retention is not None:
                retention.cancel()
                await asyncio.gather(retention, return_exceptions=True)
            await runner.cleanup()
            remove_signal_handlers()
            _log.info("stopped%s", "" if drained else " (some messages left in the inbox for the next start)")
