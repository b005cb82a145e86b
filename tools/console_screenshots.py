"""Screenshots of every page of the staff console, on demo data, for the documentation.

    python tools/console_screenshots.py [--out docs/console] [--chromium /usr/bin/chromium]

Seeds a temporary SQLite database with the demo cases (one of them a hostile transcript) and a month
of generated history for the charts, serves the console on loopback, signs in with a one-time link in
Playwright-driven Chromium, and saves a PNG of each page at laptop width (and the queue and a case at
phone width, the first screen only). Exit 0 when every screenshot was written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable from a plain checkout, without installing the project

from aiohttp import web  # noqa: E402

from bot.bench.console_bulk import generate  # noqa: E402
from bot.bench.console_data import seed_demo  # noqa: E402
from bot.console.app import console_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import open_services  # noqa: E402
from storage import console as console_store  # noqa: E402
from storage.console import StaffIdentity  # noqa: E402

STAFF = StaffIdentity("slack", "U0SAM")
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
# (file name, path, viewport)
SHOTS = [
    ("queue.png", "/console/", LAPTOP),
    ("cases.png", "/console/cases", LAPTOP),
    ("search.png", "/console/cases?q=refund+invoice", LAPTOP),
    ("case.png", "/console/cases/RMA-4HD2M8QW", LAPTOP),
    ("case-hostile.png", "/console/cases/TEC-9XW3RTB1", LAPTOP),
    ("customer.png", "/console/customers/slack:U0ALICE", LAPTOP),
    ("faqs.png", "/console/faqs", LAPTOP),
    ("insights.png", "/console/insights", LAPTOP),
    ("queue-phone.png", "/console/", PHONE),
    ("case-phone.png", "/console/cases/INV_CASE_7K3Q9P2X", PHONE),
]


async def main(out: Path, chromium: str) -> int:
    from playwright.async_api import async_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="supportbot-console-shots-") as folder:
        settings = Settings(
            _env_file=None,
            SUPPORTBOT_DATABASE_URL=f"sqlite+aiosqlite:///{folder}/demo.db",  # type: ignore[call-arg]
            SUPPORTBOT_LLM="offline",
            SUPPORTBOT_STAFF_SLACK_USER_IDS=STAFF.user_id,
        )
        async with open_services(settings, use_settings_llm=False) as services:
            await generate(services.db, cases=400, messages_per_case=4, days=30, seed=3)
            await seed_demo(services.db)
            async with services.db.write() as s:
                token = await console_store.create_link(s, STAFF, ttl=timedelta(minutes=10))
            app = web.Application()
            app.add_subapp("/console", console_app(services))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            base = f"http://127.0.0.1:{runner.addresses[0][1]}"
            try:
                async with async_playwright() as p:
                    browser = await p.chromium.launch(executable_path=chromium, headless=True, args=["--disable-gpu"])
                    context = await browser.new_context(viewport=LAPTOP, device_scale_factor=1)
                    page = await context.new_page()
                    await page.goto(f"{base}/console/signin?token={token}")
                    await page.screenshot(path=str(out / "signin.png"))
                    await page.get_by_role("button", name="Sign in").click()
                    await page.wait_for_url(f"{base}/console/")
                    for name, path, viewport in SHOTS:
                        await page.set_viewport_size(viewport)
                        await page.goto(base + path)
                        await page.wait_for_load_state("networkidle")
                        await page.screenshot(path=str(out / name), full_page=viewport is LAPTOP)
                        print(out / name)
                    await browser.close()
            finally:
                await runner.cleanup()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.out, args.chromium)))
