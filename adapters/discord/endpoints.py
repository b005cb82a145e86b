"""Where discord.py connects: Discord itself, or the REST base and gateway URL from the settings (a
proxy, a local fake). discord.py reads both from class attributes (`Route.BASE`,
`DiscordWebSocket.DEFAULT_GATEWAY`), so they are set when a client starts — never at import — and
put back when it stops."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

_log = logging.getLogger(__name__)

API_VERSION = "v10"


def rest_base(url: str) -> str:
    """`http://host:port` or `…/api` or `…/api/v10` → the versioned REST base discord.py prefixes."""
    base = url.rstrip("/")
    path = yarl.URL(base).path.rstrip("/")
    if path.endswith("/api"):
        return f"{base}/{API_VERSION}"
    if "/api/v" in path:
        return base
    return f"{base}/api/{API_VERSION}"


@dataclass(frozen=True)
class Endpoints:
    rest: str
    gateway: yarl.URL


def current() -> Endpoints:
    return Endpoints(Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)


def apply(*, api_url: str | None, gateway_url: str | None) -> Endpoints:
    """Point discord.py at the configured URLs; returns what was there before (for `restore`)."""
    previous = current()
    if api_url:
        Route.BASE = rest_base(api_url)
        _log.info("Discord REST API at %s", Route.BASE)
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
        _log.info("Discord gateway at %s", gateway_url)
    return previous


def restore(previous: Endpoints) -> None:
    Route.BASE = previous.rest
    DiscordWebSocket.DEFAULT_GATEWAY = previous.gateway
