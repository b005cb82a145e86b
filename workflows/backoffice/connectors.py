"""In-process connectors: back offices written in Python, installed as packages that declare an entry
point in the `supportbot.backoffice` group (name → a class with the `BackOffice` interface, made
with no arguments; an `async def aclose()` is called at shutdown when it has one).

    [project.entry-points."supportbot.backoffice"]
    acme-erp = "acme_connector:AcmeBackOffice"

`SUPPORTBOT_BACKOFFICE=acme-erp` (or a per-kind variable) then selects it.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from .base import BackOffice

GROUP = "supportbot.backoffice"
BUILTIN_MODES = ("simulated", "webhook", "staff")


class ConnectorError(Exception):
    """A connector that is not installed, does not load, or lacks the interface."""


def installed() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def check_mode(value: str) -> str:
    """A built-in mode or the name of an installed connector; raises ValueError with the choices."""
    if value in BUILTIN_MODES or value in installed():
        return value
    names = ", ".join([*BUILTIN_MODES, *sorted(installed())])
    raise ValueError(f"{value!r} is neither a built-in mode nor an installed connector (choose from {names})")


def load(name: str) -> BackOffice:
    entry = installed().get(name)
    if entry is None:
        raise ConnectorError(f"no back-office connector named {name!r} is installed (entry point group {GROUP})")
    try:
        office = entry.load()()
    except Exception as exc:
        raise ConnectorError(f"the back-office connector {name!r} did not load: {type(exc).__name__}: {exc}") from exc
    if not isinstance(office, BackOffice):
        raise ConnectorError(f"the back-office connector {name!r} has no `name` and `async def handle(task, ctx)`")
    return office
