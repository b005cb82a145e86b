"""Long-running mode (`supportbot run`): starts the chat adapters and the HTTP server (/healthz,
/metrics, Slack's HTTP endpoint), resumes unfinished messages, and shuts down gracefully.

Adapters are loaded by import path so that imports keep pointing one way (adapters → bot)."""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
from typing import Protocol

from aiohttp import web

from .service import CLAIM_LEASE_S
from .wiring import Services

_log = logging.getLogger(__name__)

ADAPTERS = {"slack": "adapters.slack:SlackAdapter", "discord": "adapters.discord:DiscordAdapter"}
RESUME_INTERVAL_S = 30.0
SHUTDOWN_GRACE_S = 20.0


class Adapter(Protocol):
    name: str

    @property
    def connected(self) -> bool: ...

    def routes(self) -> list[web.RouteDef]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def load_adapter(name: str, services: Services, **options: object) -> Adapter:
    module_name, _, attr = ADAPTERS[name].partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    return cls(services, **options)  # type: ignore[no-any-return]


def health_routes(services: Services, adapters: list[Adapter]) -> list[web.RouteDef]:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from storage import dead_letters, inbox
    from workflows import telemetry

    async def healthz(_request: web.Request) -> web.Response:
        database = await services.db.ping()
        connected = {a.name: a.connected for a in adapters}
        healthy = database and all(connected.values())
        return web.json_response({"status": "ok" if healthy else "degraded", "database": database,
                                  "adapters": connected}, status=200 if healthy else 503)

    async def metrics(_request: web.Request) -> web.Response:
        try:
            async with services.db.session() as s:
                telemetry.PENDING.set(await inbox.count_unfinished(s))
                telemetry.DEAD_LETTERS.set(await dead_letters.count_dead_letters(s))
        except Exception:  # the scrape still answers when the database is down
            _log.warning("could not count pending messages for /metrics")
        body = generate_latest(telemetry.REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/healthz", healthz), web.get("/metrics", metrics)]


async def serve(services: Services, adapters: list[Adapter], *, host: str, port: int,
                stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or `stop` is set); then stop taking work and drain within a bound."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass
    app = web.Application(client_max_size=1024 * 1024)
    app.add_routes(health_routes(services, adapters))
    for adapter in adapters:
        app.add_routes(adapter.routes())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    _log.info("HTTP server on http://%s:%d (/healthz, /metrics)", host, port)
    try:
        for adapter in adapters:
            await adapter.start()
    except BaseException:  # a refused token: nothing is left open behind the one-line error
        await runner.cleanup()
        for sig in handled:
            loop.remove_signal_handler(sig)
        raise

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
    retention = None
    if services.settings.retention_days:
        from .customers import retention_forever

        retention = asyncio.create_task(retention_forever(services.db, days=services.settings.retention_days,
                                                          stop=stop), name="retention")
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
        if retention is not None:
            retention.cancel()
            await asyncio.gather(retention, return_exceptions=True)
        await runner.cleanup()
        for sig in handled:
            loop.remove_signal_handler(sig)
        _log.info("stopped%s", "" if drained else " (some messages left in the inbox for the next start)")
