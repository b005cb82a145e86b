"""The example back office on its own: signature and timestamp checks, idempotent answers, per-kind answers."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from backoffice_server import make_app, signature

SECRET = "example-secret"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    runner = web.AppRunner(make_app(secret=SECRET, db_path=str(tmp_path / "bo.db")))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/tasks"
    finally:
        await runner.cleanup()


def task(kind: str, params: dict[str, str], *, key: str = "key-1", ref: str = "STS-TEST0001") -> bytes:
    return json.dumps(
        {
            "kind": kind,
            "params": params,
            "case_ref": ref,
            "customer": {"platform": "slack", "id": "U1"},
            "conversation": {"id": "7"},
            "idempotency_key": key,
        }
    ).encode()


async def post(url: str, body: bytes, *, secret: str = SECRET, at: float | None = None) -> tuple[int, Any]:
    timestamp = str(int(time.time() if at is None else at))
    headers = {
        "Content-Type": "application/json",
        "X-Supportbot-Timestamp": timestamp,
        "X-Supportbot-Signature": signature(secret, timestamp, body),
    }
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as response:
        return response.status, await response.json()


async def test_order_w40001_is_held_at_customs(server: str) -> None:
    status, answer = await post(server, task("status", {"order_id": "w-40001"}))
    assert status == 200 and answer["needs_staff"] is False
    assert answer["details"]["current_status"] == "held at customs"
    assert answer["details"]["tracking_number"] == "JD014600003828475621"


async def test_an_unknown_order_needs_staff(server: str) -> None:
    status, answer = await post(server, task("status", {"order_id": "W-99999"}))
    assert status == 200 and answer["needs_staff"] is True and "W-99999" in answer["message"]
    assert "current_status" not in answer["details"]


async def test_a_return_gets_the_case_ref_as_rma_and_billing_a_review(server: str) -> None:
    _, ret = await post(
        server, task("return", {"product_name": "Kettle", "reason_for_return": "leaks"}, key="r", ref="RMA-TEST0001")
    )
    assert ret["details"]["rma_number"] == "RMA-TEST0001" and ret["details"]["shipping_instructions"]
    _, bill = await post(server, task("billing", {"invoice_number": "inv-1"}, key="b"))
    assert "INV-1" in bill["details"]["action_taken"] and bill["details"]["resolution_eta"]


async def test_a_repeated_idempotency_key_gets_the_first_answer(server: str, tmp_path: Path) -> None:
    first = await post(
        server, task("return", {"product_name": "Kettle", "reason_for_return": "leaks"}, key="same", ref="RMA-FIRST")
    )
    again = await post(
        server, task("return", {"product_name": "Kettle", "reason_for_return": "leaks"}, key="same", ref="RMA-FIRST")
    )
    assert first == again
    import sqlite3

    with sqlite3.connect(tmp_path / "bo.db") as db:
        assert db.execute("SELECT deliveries FROM requests WHERE idempotency_key = 'same'").fetchone() == (2,)
        assert db.execute("SELECT count(*) FROM returns").fetchone() == (1,)


async def test_bad_signatures_stale_timestamps_and_bad_bodies_are_refused(server: str) -> None:
    body = task("status", {"order_id": "W-40001"})
    assert (await post(server, body, secret="wrong"))[0] == 401
    assert (await post(server, body, at=time.time() - 600))[0] == 401  # a replay, ten minutes later
    assert (await post(server, b"not json"))[0] == 400
    assert (await post(server, task("refund", {})))[0] == 422
