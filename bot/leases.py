"""Who is working on a message: worker ids and claim leases.

Several processes may share one database: a message is claimed by a one-row update with a lease. A
process that dies (SIGKILL, OOM) leaves its claims; those of dead processes of this host are given
back at once (`dead_local_worker`), others when their lease ends."""

from __future__ import annotations

import os
import socket
import uuid

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
