"""The local documentation site the /faq tests fetch from (aiohttp on 127.0.0.1): the fixture pages,
the shared real pages when present, and endpoints that misbehave (redirect loops, huge and chunked
bodies, images, a server that never answers, a latin-1 body)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "faq"
SHARED_PAGES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pages"


@asynccontextmanager
async def serve_site() -> AsyncIterator[str]:
    """The test site: fixtures under /fixtures/, the shared pages under /shared/ (when present),
    plus misbehaving endpoints. Yields the base URL (http://127.0.0.1:PORT)."""
    never = asyncio.Event()

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/loop/{int(request.match_info['n']) + 1}")

    async def big(request: web.Request) -> web.Response:
        return web.Response(
            body=b"<html><body>" + b"<p>word </p>" * 300_000 + b"</body></html>", content_type="text/html"
        )

    async def big_chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(64):
            await response.write(b"<p>" + b"x" * 16_000 + b"</p>")
        await response.write_eof()
        return response

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png")

    async def slow(request: web.Request) -> web.Response:
        await never.wait()  # a server that never answers; the handler is cancelled at shutdown
        return web.Response(text="late")

    async def latin1(request: web.Request) -> web.Response:
        return web.Response(
            body="Caf\u00e9 cr\u00e8me is served all day.".encode("latin-1"),
            headers={"Content-Type": "text/plain; charset=iso-8859-1"},
        )

    app = web.Application()
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop/{n}", loop)
    app.router.add_get("/big", big)
    app.router.add_get("/big-chunked", big_chunked)
    app.router.add_get("/image.png", image)
    app.router.add_get("/slow", slow)
    app.router.add_get("/latin1", latin1)
    app.router.add_static("/fixtures/", FIXTURES)
    if SHARED_PAGES.is_dir():
        app.router.add_static("/shared/", SHARED_PAGES)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
