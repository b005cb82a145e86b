"""`supportbot inbox …`: messages given up after their attempts (dead letters), and trying them again.

A retried message goes back to the inbox with a fresh set of attempts; a running bot picks it up on
its next round (every 30 s), otherwise the next start does."""

from __future__ import annotations

import json
from typing import Any

import click

from .cli_common import Failure, run_async, settings_from


async def _with_db(ctx: click.Context, work: Any) -> Any:
    from storage.db import Database

    from .wiring import prepare_database

    db = Database(settings_from(ctx).database_url)
    try:
        await prepare_database(db)
        return await work(db)
    finally:
        await db.aclose()


@click.group()
def inbox() -> None:
    """The inbox: messages given up after their attempts, and retrying them."""


@inbox.command("failed")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def failed(ctx: click.Context, as_json: bool) -> None:
    """Messages given up after their attempts (dead letters), oldest first."""
    from storage import dead_letters

    async def work(db: Any) -> list[dead_letters.DeadLetter]:
        async with db.session() as s:
            return await dead_letters.dead_letters(s)

    rows = run_async(_with_db(ctx, work))
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "platform": r.platform,
                        "channel_id": r.channel_id,
                        "thread_id": r.thread_id,
                        "customer_id": r.customer_id,
                        "attempts": r.attempts,
                        "error": r.error,
                        "text": r.text,
                        "received_at": r.received_at.isoformat(),
                        "given_up_at": r.given_up_at.isoformat(),
                    }
                    for r in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not rows:
        click.echo("No failed messages.")
    for r in rows:
        text = " ".join(r.text.split())
        click.echo(
            f"{r.id:<8} {r.given_up_at:%Y-%m-%d %H:%M}  {r.platform}:{r.channel_id}/{r.thread_id}  "
            f"{r.customer_id}  attempts={r.attempts}  {' '.join(r.error.split())[:100]}  "
            f"“{text[:60]}{'…' if len(text) > 60 else ''}”"
        )


@inbox.command("retry")
@click.argument("message_id", required=False, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Retry every failed message.")
@click.pass_context
def retry(ctx: click.Context, message_id: int | None, retry_all: bool) -> None:
    """Put a failed message (ID, from `inbox failed`) or all of them back in the inbox."""
    from storage import dead_letters

    if (message_id is None) == (not retry_all):
        raise click.UsageError("give one message ID or --all")

    async def work(db: Any) -> list[int]:
        async with db.write() as s:
            return await dead_letters.retry(s, None if retry_all or message_id is None else [message_id])

    ids = run_async(_with_db(ctx, work))
    if message_id is not None and not ids:
        raise Failure(f"message {message_id} is not a failed message (see `supportbot inbox failed`)")
    click.echo(
        f"queued {len(ids)} message(s) for another try: a running bot answers them within 30 s, "
        "otherwise the next start does"
    )
