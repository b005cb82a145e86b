"""An example back office for supportbot's webhook: an aiohttp server over SQLite.

It implements the contract of docs/backoffice.md (and docs/backoffice.openapi.yaml) end to end:

- verifies `X-Supportbot-Signature` (HMAC-SHA256 of `<timestamp>.<body>`) and rejects timestamps more
  than five minutes away (replays);
- stores every idempotency key with its answer: a repeated key gets the first answer again, and the
  task is carried out once;
- answers per kind from its tables: orders (W-40001 is held at customs), invoices, returns.

Run it:  python examples/backoffice/backoffice_server.py --port 8080 --secret s3cret --db backoffice.db
then:    SUPPORTBOT_BACKOFFICE=webhook SUPPORTBOT_BACKOFFICE_URL=http://127.0.0.1:8080/tasks \\
         SUPPORTBOT_BACKOFFICE_SECRET=s3cret .venv/bin/supportbot chat

It needs only aiohttp and aiosqlite, and imports nothing of supportbot: a team can port it to any language.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from typing import Any

import aiosqlite
from aiohttp import web

MAX_SKEW_S = 300
BACKOFFICE = web.AppKey("backoffice", "BackOffice")
KINDS = ("billing", "return", "status")

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, status TEXT NOT NULL, carrier TEXT,
    tracking_number TEXT, expected_delivery TEXT);
CREATE TABLE IF NOT EXISTS returns (case_ref TEXT PRIMARY KEY, product_name TEXT NOT NULL, reason TEXT);
CREATE TABLE IF NOT EXISTS requests (idempotency_key TEXT PRIMARY KEY, kind TEXT NOT NULL, case_ref TEXT NOT NULL,
    body TEXT NOT NULL, status INTEGER NOT NULL, answer TEXT NOT NULL, deliveries INTEGER NOT NULL DEFAULT 1,
    received_at REAL NOT NULL);
"""
ORDERS = [  # order_id, status, carrier, tracking number, expected delivery
    ("W-40001", "held at customs", "DHL Express", "JD014600003828475621", "after customs clearance, usually 2–4 days"),
    ("W-40002", "delivered", "UPS", "1Z999AA10123456784", "delivered on Monday"),
    ("W-40003", "in transit", "USPS", "9400111899223197428490", "Thursday"),
]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    return value.strip()[:200] if isinstance(value, str) else ""


class BackOffice:
    def __init__(self, db: aiosqlite.Connection, *, secret: str, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.secret = secret
        self.clock = clock

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("X-Supportbot-Timestamp", "")
        given = request.headers.get("X-Supportbot-Signature", "")
        if not timestamp.isdigit() or abs(self.clock() - int(timestamp)) > MAX_SKEW_S:
            return _error(401, "missing or stale X-Supportbot-Timestamp")
        if not hmac.compare_digest(signature(self.secret, timestamp, body), given):
            return _error(401, "bad X-Supportbot-Signature")
        try:
            task = json.loads(body)
        except ValueError:
            return _error(400, "the body is not JSON")
        problem = _invalid(task)
        if problem:
            return _error(422, problem)
        key = task["idempotency_key"]
        seen = await self._first_answer(key)
        if seen is None:
            answer = await self._answer(task)
            inserted = await self.db.execute(
                "INSERT OR IGNORE INTO requests (idempotency_key, kind, case_ref, body, status, answer, received_at) "
                "VALUES (?, ?, ?, ?, 200, ?, ?)",
                (key, task["kind"], task["case_ref"], body.decode(), json.dumps(answer), self.clock()),
            )
            await self.db.commit()
            if inserted.rowcount == 1:
                return web.json_response(answer)
            seen = await self._first_answer(key)  # the same key arrived twice at once: the first one wins
        assert seen is not None
        await self.db.execute("UPDATE requests SET deliveries = deliveries + 1 WHERE idempotency_key = ?", (key,))
        await self.db.commit()
        return web.json_response(json.loads(seen[1]), status=seen[0])

    async def _first_answer(self, key: str) -> tuple[int, str] | None:
        """A repeated key (a retry) gets the first answer again; the task is not carried out twice."""
        async with self.db.execute("SELECT status, answer FROM requests WHERE idempotency_key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return (int(row[0]), str(row[1])) if row else None

    async def _answer(self, task: dict[str, Any]) -> dict[str, Any]:
        params, ref = task["params"], task["case_ref"]
        match task["kind"]:
            case "status":
                order_id = _text(params, "order_id").upper()
                async with self.db.execute(
                    "SELECT status, carrier, tracking_number, expected_delivery FROM orders WHERE order_id = ?",
                    (order_id,),
                ) as cur:
                    row = await cur.fetchone()
                if row is None:
                    return {
                        "details": {"order_id": order_id},
                        "needs_staff": True,
                        "message": f"We can't find order {order_id} in our system.",
                    }
                status, carrier, tracking, eta = row
                message = (
                    "Customs sometimes asks for an invoice; we'll send it for you if they do."
                    if status == "held at customs"
                    else None
                )
                return {
                    "details": {
                        "order_id": order_id,
                        "current_status": status,
                        "carrier": carrier,
                        "tracking_number": tracking,
                        "expected_delivery": eta,
                    },
                    "message": message,
                    "needs_staff": False,
                }
            case "return":
                product, reason = _text(params, "product_name"), _text(params, "reason_for_return")
                await self.db.execute(
                    "INSERT OR IGNORE INTO returns (case_ref, product_name, reason) VALUES (?, ?, ?)",
                    (ref, product, reason),
                )
                return {
                    "details": {
                        "product_name": product,
                        "reason_for_return": reason,
                        "rma_number": ref,
                        "shipping_instructions": "Take the parcel to any post office and show the RMA "
                        "number; postage is paid on delivery to us.",
                    },
                    "needs_staff": False,
                }
            case _:
                invoice = _text(params, "invoice_number").upper()
                return {
                    "details": {
                        "invoice_number": invoice,
                        "concern": _text(params, "concern"),
                        "action_taken": f"Accounts opened a review of invoice {invoice}",
                        "resolution_eta": "3 business days",
                    },
                    "needs_staff": False,
                }


def _invalid(task: object) -> str | None:
    """What is wrong with a task request, or None."""
    if not isinstance(task, dict):
        return "the body must be a JSON object"
    if task.get("kind") not in KINDS:
        return f"kind must be one of {', '.join(KINDS)}"
    for name in ("case_ref", "idempotency_key"):
        if not isinstance(task.get(name), str) or not task[name]:
            return f"{name} must be a non-empty string"
    if not isinstance(task.get("params"), dict):
        return "params must be an object"
    customer = task.get("customer")
    if (
        not isinstance(customer, dict)
        or not isinstance(customer.get("platform"), str)
        or not isinstance(customer.get("id"), str)
    ):
        return "customer must be an object with platform and id"
    conversation = task.get("conversation")
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
        return "conversation must be an object with an id"
    return None


async def open_db(path: str) -> aiosqlite.Connection:
    db = await aiosqlite.connect(path)
    await db.executescript(SCHEMA)
    await db.executemany("INSERT OR IGNORE INTO orders VALUES (?, ?, ?, ?, ?)", ORDERS)
    await db.commit()
    return db


def make_app(*, secret: str, db_path: str, clock: Callable[[], float] = time.time) -> web.Application:
    """The back office as an aiohttp application: POST /tasks; GET /healthz."""
    app = web.Application(client_max_size=256 * 1024)

    async def lifespan(app: web.Application):  # type: ignore[no-untyped-def]
        db = await open_db(db_path)
        app[BACKOFFICE] = BackOffice(db, secret=secret, clock=clock)
        yield
        await db.close()

    async def tasks(request: web.Request) -> web.Response:
        return await request.app[BACKOFFICE].handle(request)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.cleanup_ctx.append(lifespan)
    app.add_routes([web.post("/tasks", tasks), web.get("/healthz", healthz)])
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--db", default="backoffice.db", help="SQLite file (created and seeded)")
    parser.add_argument(
        "--secret",
        default=os.environ.get("SUPPORTBOT_BACKOFFICE_SECRET"),
        help="shared secret (default: $SUPPORTBOT_BACKOFFICE_SECRET)",
    )
    args = parser.parse_args()
    if not args.secret:
        parser.error("--secret (or SUPPORTBOT_BACKOFFICE_SECRET) is required")
    web.run_app(make_app(secret=args.secret, db_path=args.db), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
