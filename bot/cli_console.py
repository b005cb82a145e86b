"""`supportbot console …`: the staff web console. `link` prints a one-time sign-in URL for a staff
member; `serve` runs the console alone (with /healthz), without any chat adapter."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

import click

from .cli_common import Failure, run_async, settings_from

_log = logging.getLogger(__name__)
DEFAULT_PORT = 3000


@click.group()
def console() -> None:
    """The staff web console."""


@console.command("link")
@click.option(
    "--user", "staff_id", required=True, help="Staff member: slack:U123, discord:123, or an id from the staff lists."
)
@click.option(
    "--minutes", type=click.IntRange(1, 24 * 60), default=10, show_default=True, help="How long the link stays valid."
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="The server's port, for the URL when SUPPORTBOT_PUBLIC_URL is not set.",
)
@click.pass_context
def link(ctx: click.Context, staff_id: str, minutes: int, port: int) -> None:
    """Print a one-time sign-in URL for a staff member."""
    from storage import console as console_store

    from .console.auth import NotStaff, public_base, resolve_staff, signin_url
    from .wiring import open_services

    settings = settings_from(ctx)

    async def _link() -> str:
        async with open_services(settings, use_settings_llm=False) as services:
            try:
                staff = resolve_staff(settings, staff_id, services.is_staff)
            except NotStaff as exc:
                raise Failure(str(exc)) from None
            async with services.db.write() as s:
                token = await console_store.create_link(s, staff, ttl=timedelta(minutes=minutes))
            _log.info("console: sign-in link made for %s (%d min)", staff.actor, minutes)
            return signin_url(public_base(settings, port), token)

    click.echo(run_async(_link()))


@console.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the console alone (and /healthz) until interrupted."""
    from aiohttp import web

    from .console.app import console_app
    from .runtime import health_routes
    from .wiring import open_services

    settings = settings_from(ctx)

    async def _serve() -> None:
        async with open_services(settings, use_settings_llm=False) as services:

            async def to_console(_request: web.Request) -> web.StreamResponse:
                raise web.HTTPFound("/console/")

            app = web.Application(client_max_size=1024 * 1024)
            app.add_routes([*health_routes(services, []), web.get("/", to_console)])
            app.add_subapp("/console", console_app(services))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
            click.echo(f"console on http://{host}:{port}/console/", err=True)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            try:
                await stop.wait()
            finally:
                await runner.cleanup()

    run_async(_serve())
