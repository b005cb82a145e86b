"""Cases exported as rows: one row per case with stable columns (EXPORT_COLUMNS), written as CSV or JSON
(`supportbot cases export`; the console's CSV downloads use `csv_cell`).

CSV is UTF-8 with a byte-order mark, so spreadsheet programs detect the encoding, and any cell starting
with = + - @ (or a tab or carriage return) is prefixed with ' so a spreadsheet shows it as text instead
of running it as a formula. JSON is a list of objects with the same keys and native types. Cases are
read in batches and written as they arrive, so an export of many thousands of cases stays small in
memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from typing import IO, TYPE_CHECKING, Any

from storage import case_activity
from storage import cases as case_store

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.case_activity import CaseActivity
    from storage.cases import CaseFilter
    from storage.models import Case

# The workers' fields, each its own column; anything else goes to other_details as JSON.
DETAIL_COLUMNS = (
    "invoice_number",
    "concern",
    "action_taken",
    "resolution_eta",
    "product_name",
    "reason_for_return",
    "rma_number",
    "shipping_instructions",
    "order_id",
    "current_status",
    "carrier",
    "tracking_number",
    "expected_delivery",
    "issue",
    "needed_from_customer",
    "request",
)
EXPORT_COLUMNS = (
    "ref",
    "kind",
    "status",
    "platform",
    "customer_id",
    "assignee",
    "needs_staff",
    "created_at",
    "updated_at",
    "closed_at",
    "close_reason",
    "last_event",
    "last_event_at",
    "events",
    "conversation_id",
    "channel_id",
    "thread_id",
    *DETAIL_COLUMNS,
    "other_details",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "


def export_row(case: Case, activity: CaseActivity) -> dict[str, Any]:
    """One case as a flat row with native values (JSON); `csv_cell` turns each into text."""
    details = dict(case.details or {})
    row: dict[str, Any] = {
        "ref": case.ref,
        "kind": case.kind,
        "status": case.status,
        "platform": case.platform,
        "customer_id": case.customer_id,
        "assignee": case.assignee,
        "needs_staff": case.needs_staff,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "closed_at": activity.closed_at.isoformat() if activity.closed_at else None,
        "close_reason": activity.close_reason,
        "last_event": activity.last_action,
        "last_event_at": activity.last_at.isoformat() if activity.last_at else None,
        "events": activity.events,
        "conversation_id": case.conversation_id,
        "channel_id": activity.channel_id,
        "thread_id": activity.thread_id,
    }
    for column in DETAIL_COLUMNS:
        row[column] = details.pop(column, None)
    row["other_details"] = details or None
    return row


def csv_cell(value: Any) -> str:
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = LIST_SEPARATOR.join(str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


async def _export_rows(s: AsyncSession, flt: CaseFilter, limit: int | None) -> AsyncIterator[dict[str, Any]]:
    async for batch in case_store.iter_cases(s, flt, limit=limit):
        activity = await case_activity.case_activity(s, batch)
        for case in batch:
            yield export_row(case, activity[case.id])


async def write_export(s: AsyncSession, stream: IO[str], *, fmt: str, flt: CaseFilter, limit: int | None = None) -> int:
    """Write the matching cases to `stream` as CSV or JSON. Returns how many."""
    count = 0
    if fmt == "csv":
        stream.write("\ufeff")  # the byte-order mark: spreadsheets then read the file as UTF-8
        writer = csv.writer(stream)
        writer.writerow(EXPORT_COLUMNS)
        async for row in _export_rows(s, flt, limit):
            writer.writerow([csv_cell(row[c]) for c in EXPORT_COLUMNS])
            count += 1
        return count
    stream.write("[")
    async for row in _export_rows(s, flt, limit):
        stream.write(("," if count else "") + "\n  " + json.dumps(row, ensure_ascii=False))
        count += 1
    stream.write("\n]\n" if count else "]\n")
    return count
