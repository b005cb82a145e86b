"""`supportbot customers …`: one customer's data as JSON (right of access), and erasing it (right to
erasure). The operator is the actor recorded on an erasure (`cli:<os user>`)."""

from __future__ import annotations

import json

import click

from .cli_common import Failure, run_async, settings_from


def _customer(value: str) -> object:
    from .customers import CustomerId

    try:
        return CustomerId.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="PLATFORM:ID") from None


@click.group()
def customers() -> None:
    """A customer's data: export it, erase it."""


@customers.command("export")
@click.argument("customer")
@click.pass_context
def export_customer(ctx: click.Context, customer: str) -> None:
    """Print every message, case, event and rating of PLATFORM:ID as JSON."""
    from storage.db import Database

    from .customers import export_customer as export
    from .wiring import prepare_database

    who = _customer(customer)

    async def _export() -> dict[str, object]:
        db = Database(settings_from(ctx).database_url)
        try:
            await prepare_database(db)
            return await export(db, who)  # type: ignore[arg-type]
        finally:
            await db.aclose()

    click.echo(json.dumps(run_async(_export()), ensure_ascii=False, indent=2))


@customers.command("erase")
@click.argument("customer")
@click.option("--yes", is_flag=True, help="Confirm: erasing cannot be undone.")
@click.pass_context
def erase_customer(ctx: click.Context, customer: str, yes: bool) -> None:
    """Erase the texts and names of PLATFORM:ID (references, statuses and times are kept)."""
    from storage.db import Database

    from .cli_cases import cli_actor
    from .customers import CustomerId, erase_customer, erasure_preview
    from .wiring import prepare_database

    who = _customer(customer)
    assert isinstance(who, CustomerId)

    async def _erase() -> str:
        db = Database(settings_from(ctx).database_url)
        try:
            await prepare_database(db)
            if not yes:
                messages, cases = await erasure_preview(db, who)
                raise Failure(
                    f"erasing {who} ({messages} message(s), {cases} case(s)) cannot be undone; "
                    "run again with --yes to erase"
                )
            erased = await erase_customer(db, who, actor=cli_actor())
            return (
                f"erased {who}: {erased.messages} message(s), {erased.cases} case(s), {erased.notes} note(s), "
                f"{erased.pending} pending task(s), {erased.ratings} rating(s)"
            )
        finally:
            await db.aclose()

    click.echo(run_async(_erase()))
