"""The console as an aiohttp application, to mount at /console (`app.add_subapp("/console", …)`).

Security headers are set in `on_response_prepare`, which also covers refusals and router 404s (a
middleware would miss responses raised as exceptions). The CSP allows no script at all: the console
works with plain forms, and charts are SVG images."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ..wiring import Services
from . import auth
from .render import environment
from .routes import Handlers, route_table

STATIC = Path(__file__).resolve().parent / "static"
CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


async def security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def console_app(services: Services) -> web.Application:
    settings = services.settings
    secure = bool(settings.public_url and settings.public_url.startswith("https://"))
    handlers = Handlers(services, environment(), secure_cookies=secure)
    app = web.Application(
        middlewares=[
            auth.auth_middleware(
                lambda token: auth.load_session(services.db, token), handlers.is_staff, handlers.refuse
            )
        ]
    )
    app.add_routes(route_table(handlers))
    app.router.add_static("/static/", STATIC, append_version=False)
    app.on_response_prepare.append(security_headers)
    return app
