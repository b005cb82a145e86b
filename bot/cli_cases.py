"""`supportbot cases …`: the case history from the terminal (the operator counts as staff)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from .cli import run_async, settings_from

STATUSES = ["open", "in_progress", "resolved", "closed"]
KINDS = ["billing", "return", "status", "technical", "human"]


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use a date like 2026-11-01 or 2026-11-01T09:30", param_hint="--since") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group()
def cases() -> None:
    """Review and manage the stored cases."""


@cases.command("list")
@click.option("--user", default=None, help="Only this customer's cases.")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--kind", type=click.Choice(KINDS), default=None)
@click.option("--since", default=None, help="Only cases opened on or after this date (ISO 8601).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_cases(ctx: click.Context, user: str | None, status: str | None, kind: str | None, since: str | None,
               limit: int, as_json: bool) -> None:
    """Case history, newest first."""
    from storage import cases as case_store
    from storage.cases import CaseFilter

    from .commands.cases import case_json
    from .wiring import open_services

    flt = CaseFilter(customer_id=user, status=status, kind=kind, since=_since(since))

    async def _list() -> list[dict]:
        async with open_services(settings_from(ctx), use_settings_llm=False) as services:
            async with services.db.session() as s:
                return [case_json(c) for c in await case_store.list_cases(s, flt, limit=limit)]

    rows = run_async(_list())
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No cases match.")
    for c in rows:
        subject = (c["details"].get("invoice_number") or c["details"].get("product_name")
                   or c["details"].get("order_id") or c["details"].get("issue") or "")
        click.echo(f"{c['ref']:<18} {c['status']:<12} {c['kind']:<10} {c['platform']}:{c['customer_id']:<14} "
                   f"{c['created_at'][:16].replace('T', ' ')}  {str(subject)[:40]}")


@cases.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show_case(ctx: click.Context, ref: str, as_json: bool) -> None:
    """One case: fields, event history and the conversation transcript."""
    from .commands.cases import load_case_view, render_case
    from .commands.registry import Caller, CommandContext, CommandError
    from .wiring import open_services

    async def _show() -> dict:
        async with open_services(settings_from(ctx), use_settings_llm=False) as services:
            cctx = CommandContext(caller=Caller("shell", "operator", is_staff=True), services=services)
            try:
                return await load_case_view(cctx, ref)
            except CommandError as exc:
                raise click.ClickException(str(exc)) from None

    view = run_async(_show())
    click.echo(json.dumps(view, ensure_ascii=False, indent=2) if as_json else render_case(view).text)
