"""Who is working on a message: worker ids and claim leases.

Several processes may share one database: a message is claimed by a one-row update with a lease. A
process that dies (SIGKILL, OOM) leaves its claims; those of dead processes of this host are given
back at once (`dead_local_worker`), others when their lease ends."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.db import Database

CLAIM_LEASE_S = 120.0

HOST = socket.gethostname()[:40]  # worker ids fit Message.claimed_by (64 characters)
_LIVE_WORKERS: set[str] = set()  # worker ids of the services of this process


def new_worker_id() -> str:
    """host:pid:token — the token tells this process from an earlier one with the same pid (a container's pid 1)."""
    worker = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return worker


def register_live(worker: str) -> None:
    _LIVE_WORKERS.add(worker)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def dead_local_worker(worker: str, *, me: str) -> bool:
    """True if `worker` (host:pid[:token]) was a process on this host that is gone: its pid is not
    running, or it is our own pid but no service of this process (we are its restart, e.g. pid 1 in a
    container)."""
    host, sep, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if not sep or host != HOST or not pid_text.isdigit() or worker == me or worker in _LIVE_WORKERS:
        return False
    pid = int(pid_text)
    return pid == os.getpid() or not _pid_alive(pid)


async def release_dead_claims(
    db: Database,
    *,
    me: str,
    claims: Callable[[AsyncSession, str], Awaitable[Sequence[tuple[int, str]]]],
    release: Callable[[AsyncSession, int, str], Awaitable[bool]],
) -> int:
    """Give back the rows (inbox messages, outbox rows) that processes of this host were working on when
    they died, instead of waiting out their lease. `claims(session, host prefix)` lists (row id, worker);
    `release(session, row id, worker)` gives one back if that worker still holds it. Returns how many."""
    async with db.session() as s:
        held = await claims(s, f"{HOST}:")
    released = 0
    for row_id, worker in held:
        if dead_local_worker(worker, me=me):
            async with db.write() as s:
                released += await release(s, row_id, worker)
    return released
