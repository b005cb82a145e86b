"""`supportbot cases …` from the terminal: lifecycle with exit codes and one-line errors, filters, and
CSV/JSON exports of a few hundred cases that round-trip every case and every column."""

from __future__ import annotations

import asyncio
import csv
import getpass
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.case_export import DETAIL_COLUMNS, EXPORT_COLUMNS
from storage import cases as case_store
from storage.cases import CaseFilter
from storage.db import Database
from storage.migrate import upgrade
from tests.harness.cases import seed_in

UNICODE = "Café ☕ 東京"
ACTOR = f"cli:{getpass.getuser()}"


def seed(db_url: str, specs: list[dict[str, Any]]) -> list[str]:
    async def _seed() -> list[str]:
        db = Database(db_url)
        try:
            await upgrade(db)
            async with db.write() as s:
                return [(await seed_in(s, **spec)).ref for spec in specs]
        finally:
            await db.aclose()

    return asyncio.run(_seed())


def test_lifecycle_from_the_terminal(cli: Any) -> None:
    [ref] = seed(cli.db_url, [{"customer": "u1"}])
    steps = [
        (("cases", "assign", ref, "slack:S2"), f"assigned {ref} to slack:S2 (in_progress)"),
        (("cases", "note", ref, 'Customer\'s 2nd call — "urgent"'), f"noted {ref}"),
        (("cases", "close", ref, "--reason", "refund issued"), f"closed {ref}"),
        (("cases", "reopen", ref.lower()), f"reopened {ref} (in_progress)"),
        (("cases", "resolve", ref, "--note", "sent a new one"), f"resolved {ref}"),
    ]
    for args, output in steps:
        result = cli(*args)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == output

    view = json.loads(cli("cases", "show", ref, "--json").stdout)
    assert view["case"]["status"] == "resolved" and view["case"]["assignee"] == "slack:S2"
    assert [(e["action"], e["actor"], e["note"]) for e in view["events"]] == [
        ("created", "bot", None),
        ("assigned", ACTOR, "slack:S2"),
        ("note", ACTOR, 'Customer\'s 2nd call — "urgent"'),
        ("closed", ACTOR, "refund issued"),
        ("reopened", ACTOR, None),
        ("resolved", ACTOR, "sent a new one"),
    ]
    assert all(datetime.fromisoformat(e["at"]).tzinfo is not None for e in view["events"])
    text = cli("cases", "show", ref).stdout
    assert "note by" in text and "Customer's 2nd call" in text and "[customer] I need help" in text


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("cases", "close", "{ref}"), 1, "error: case {ref} is already closed"),
        (("cases", "note", "RMA-NOPE0000", "hello"), 1, "error: no case RMA-NOPE0000 exists"),
        (("cases", "reopen", "RMA-NOPE0000"), 1, "error: no case RMA-NOPE0000 exists"),
        (("cases", "assign", "{ref}", "slack:S2"), 1, "error: case {ref} is closed; reopen it before assigning it"),
        (("cases", "note", "{ref}", " "), 1, "error: a note needs some text"),
        (("cases", "show", "RMA-NOPE0000"), 1, "error: No case RMA-NOPE0000 found among the cases you can see."),
        (("cases", "close"), 2, "Missing argument 'REF'"),
        (("cases", "list", "--since", "last week"), 2, "--since"),
        (("cases", "export", "--format", "xlsx"), 2, "--format"),
    ],
)
def test_refusals_exit_1_with_one_line_and_usage_errors_exit_2(
    cli: Any, args: tuple[str, ...], code: int, message: str
) -> None:
    [ref] = seed(cli.db_url, [{}])
    assert cli("cases", "close", ref).exit_code == 0
    result = cli(*(a.format(ref=ref) for a in args))
    assert result.exit_code == code
    if code == 1:
        assert result.stderr.strip() == message.format(ref=ref)
        assert result.stdout == ""
    else:
        assert message in result.stderr
    assert len([e for e in json.loads(cli("cases", "show", ref, "--json").stdout)["events"]]) == 2


def test_list_filters(cli: Any) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    specs = [
        {
            "customer": f"u{i % 3}",
            "kind": ("return", "billing", "status")[i % 3 if i % 4 else 0],
            "created_at": start + timedelta(days=i),
        }
        for i in range(12)
    ]
    refs = seed(cli.db_url, specs)
    cli("cases", "close", refs[1])
    cli("cases", "assign", refs[2], "slack:S1")

    def listed(*args: str) -> set[str]:
        result = cli("cases", "list", "--json", *args)
        assert result.exit_code == 0, result.stderr
        return {c["ref"] for c in json.loads(result.stdout)}

    assert listed() == set(refs)
    assert listed("--user", "u1") == {r for r, s in zip(refs, specs, strict=True) if s["customer"] == "u1"}
    assert listed("--kind", "billing") == {r for r, s in zip(refs, specs, strict=True) if s["kind"] == "billing"}
    assert listed("--status", "closed") == {refs[1]} and listed("--status", "in_progress") == {refs[2]}
    assert listed("--assignee", "slack:S1") == {refs[2]}
    assert listed("--since", "2026-03-10") == set(refs[9:])
    assert listed("--since", "2026-03-10", "--user", "u0") == {refs[9]}
    newest = json.loads(cli("cases", "list", "--json", "--limit", "3").stdout)
    assert [c["ref"] for c in newest] == refs[::-1][:3]
    table = cli("cases", "list", "--status", "closed").stdout
    assert refs[1] in table and refs[2] not in table


TRICKY = [
    '=HYPERLINK("http://evil","x")',
    "+1-555-0100",
    "-5 units",
    "@SUM(A1:A2)",
    'plain, with "quotes"',
    "two\nlines",
    f"{UNICODE} — naïve ünïcödé 🚀",
    "\ttabbed",
]


def _specs(n: int) -> list[dict[str, Any]]:
    start = datetime(2026, 2, 1, tzinfo=UTC)
    specs: list[dict[str, Any]] = []
    for i in range(n):
        tricky = TRICKY[i % len(TRICKY)]
        kind = ("billing", "return", "status", "technical", "human")[i % 5]
        details: dict[str, Any] = {
            "billing": {
                "invoice_number": f"INV-{i}",
                "concern": tricky,
                "action_taken": "opened",
                "resolution_eta": "2 business days",
            },
            "return": {
                "product_name": f"{UNICODE} #{i}",
                "reason_for_return": tricky,
                "rma_number": "{ref}",
                "shipping_instructions": "Pack it",
            },
            "status": {
                "order_id": f"A-{i}",
                "current_status": "shipped",
                "carrier": "UPS",
                "tracking_number": f"1Z{i:06d}",
                "expected_delivery": tricky,
            },
            "technical": {"issue": tricky, "needed_from_customer": ["the version", f"{UNICODE}"]},
            "human": {"request": tricky, "vendor_extra": {"nested": [1, "☕"]}},
        }[kind]
        specs.append(
            {
                "customer": f"cust-{i % 7}",
                "platform": ("slack", "discord")[i % 2],
                "kind": kind,
                "details": details,
                "created_at": start + timedelta(minutes=i),
            }
        )
    return specs


def _expected_rows(db_url: str) -> dict[str, dict[str, Any]]:
    """Every case as it is stored, with its history, read independently of the exporter."""

    async def _read() -> dict[str, dict[str, Any]]:
        db = Database(db_url)
        try:
            async with db.session() as s:
                out = {}
                for case in await case_store.list_cases(s, CaseFilter(), limit=None):
                    events = await case_store.case_events(s, case.id)
                    out[case.ref] = {"case": case, "events": events}
                return out
        finally:
            await db.aclose()

    return asyncio.run(_read())


def _unguard(cell: str) -> str:
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


def _check_common(row: dict[str, Any], stored: dict[str, Any], *, as_text: bool) -> None:
    case, events = stored["case"], stored["events"]
    closes = [e for e in events if e.action == "closed"]
    expected: dict[str, Any] = {
        "ref": case.ref,
        "kind": case.kind,
        "status": case.status,
        "platform": case.platform,
        "customer_id": case.customer_id,
        "assignee": case.assignee,
        "needs_staff": case.needs_staff,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "closed_at": closes[-1].created_at.isoformat() if closes and case.status == "closed" else None,
        "close_reason": closes[-1].note if closes and case.status == "closed" else None,
        "last_event": events[-1].action,
        "last_event_at": events[-1].created_at.isoformat(),
        "events": len(events),
        "conversation_id": case.conversation_id,
    }
    details = dict(case.details)
    for column in DETAIL_COLUMNS:
        expected[column] = details.pop(column, None)
    expected["other_details"] = details or None
    for column, value in expected.items():
        if as_text:
            if isinstance(value, list):
                value = "; ".join(value)
            elif isinstance(value, dict):
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            elif isinstance(value, bool):
                value = str(value).lower()
            value = "" if value is None else str(value)
        assert row[column] == value, (case.ref, column)
    assert row["channel_id"] == "C-support" and row["thread_id"]


def test_export_round_trips_every_case_and_column(cli: Any, tmp_path: Path) -> None:
    refs = seed(cli.db_url, _specs(320))
    for ref in refs[:40]:
        assert cli("cases", "close", ref, "--reason", "=cmd|' /C calc'!A0").exit_code == 0
    assert cli("cases", "reopen", refs[0]).exit_code == 0
    stored = _expected_rows(cli.db_url)

    result = cli("cases", "export", "--output", str(tmp_path / "cases.csv"))
    assert result.exit_code == 0, result.stderr
    assert "exported 320 case(s)" in result.stderr
    raw = (tmp_path / "cases.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and not (tmp_path / "cases.csv.part").exists()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert len(rows) == 321
    # No cell can be read as a formula by a spreadsheet.
    assert not [c for r in rows[1:] for c in r if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    seen = {}
    for cells in rows[1:]:
        row = {k: _unguard(v) for k, v in zip(EXPORT_COLUMNS, cells, strict=True)}
        _check_common(row, stored[row["ref"]], as_text=True)
        seen[row["ref"]] = row
    assert set(seen) == set(refs)
    assert seen[refs[1]]["close_reason"] == "=cmd|' /C calc'!A0" and seen[refs[0]]["closed_at"] == ""
    assert any(UNICODE in r["product_name"] for r in seen.values())
    assert any(r["concern"] == "two\nlines" for r in seen.values())

    as_json = cli("cases", "export", "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    objects = json.loads(as_json.stdout)
    assert isinstance(objects, list) and len(objects) == 320
    assert [o["ref"] for o in objects] == [r[0] for r in rows[1:]]  # the same rows, in the same order
    for obj in objects:
        assert tuple(obj) == EXPORT_COLUMNS
        _check_common(obj, stored[obj["ref"]], as_text=False)
    assert {o["ref"] for o in objects if o["other_details"]} == {
        r for r, v in stored.items() if v["case"].kind == "human"
    }
    assert next(o for o in objects if o["kind"] == "human")["other_details"] == {"vendor_extra": {"nested": [1, "☕"]}}


def test_export_filters_and_limit(cli: Any) -> None:
    refs = seed(cli.db_url, _specs(30))
    for ref in refs[:4]:
        cli("cases", "close", ref)

    def exported(*args: str) -> list[dict[str, Any]]:
        result = cli("cases", "export", "--format", "json", *args)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    assert {o["ref"] for o in exported("--status", "closed")} == set(refs[:4])
    assert {o["ref"] for o in exported("--kind", "technical")} == set(refs[3::5])
    assert {o["ref"] for o in exported("--user", "cust-2")} == set(refs[2::7])
    assert {o["ref"] for o in exported("--since", "2026-02-01T00:25")} == set(refs[25:])
    assert [o["ref"] for o in exported("--limit", "7")] == refs[::-1][:7]
    assert exported("--user", "nobody") == []
    empty_csv = cli("cases", "export", "--user", "nobody").stdout_bytes
    assert empty_csv == "\ufeff".encode() + ",".join(EXPORT_COLUMNS).encode() + b"\r\n"


def test_export_of_many_cases_reads_in_batches(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The exporter asks storage for bounded batches, never for every case at once."""
    refs = seed(cli.db_url, _specs(230))
    sizes: list[int] = []
    real = case_store.iter_cases

    async def spy(session: Any, flt: Any = CaseFilter(), *, batch_size: int = 500, limit: int | None = None) -> Any:
        async for batch in real(session, flt, batch_size=100, limit=limit):
            sizes.append(len(batch))
            yield batch

    monkeypatch.setattr(case_store, "iter_cases", spy)
    objects = json.loads(cli("cases", "export", "--format", "json").stdout)
    assert sizes == [100, 100, 30]
    assert [o["ref"] for o in objects] == refs[::-1]
