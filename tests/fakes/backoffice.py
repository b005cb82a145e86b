"""The example back office (examples/backoffice/backoffice_server.py) as the webhook's test double,
with every request it receives recorded; a back office that accepts connections and never answers;
and an address where nothing listens."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Self

from aiohttp import web

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "backoffice" / "backoffice_server.py"
SECRET = "test-backoffice-secret"


def example_module() -> ModuleType:
    """The example server's module, loaded from its file (it is not a package of ours)."""
    if "backoffice_server" not in sys.modules:
        spec = importlib.util.spec_from_file_location("backoffice_server", EXAMPLE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["backoffice_server"] = module
        spec.loader.exec_module(module)
    return sys.modules["backoffice_server"]


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


class ExampleBackOffice:
    """The example server on 127.0.0.1 at a free port while entered; `received` lists every request."""

    def __init__(self, db_path: Path, *, secret: str = SECRET) -> None:
        self.db_path = db_path
        self.secret = secret
        self.received: list[Received] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tasks"

    async def __aenter__(self) -> Self:
        app = example_module().make_app(secret=self.secret, db_path=str(self.db_path))

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            body = await request.read()
            response = await handler(request)
            self.received.append(Received(dict(request.headers), body, response.status))
            return response

        app.middlewares.append(record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class HangingBackOffice:
    """Accepts connections, reads the request and never answers (a hung back office)."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/tasks"

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        await reader.read(65536)

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for writer in self._writers:
            writer.close()
        assert self._server is not None
        self._server.close()


def refused_url() -> str:
    """An address on loopback where nothing listens (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/tasks"
