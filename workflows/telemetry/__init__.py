"""The bot's Prometheus metrics, created on first use: `telemetry.MESSAGES.labels(...).inc()`,
`generate_latest(telemetry.REGISTRY)`. They are defined in `metrics.py`; importing this package costs
nothing, so a command that records no metric (`supportbot route`) never loads prometheus_client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .metrics import *  # noqa: F403  (the names, for the type checker)


def __getattr__(name: str) -> Any:
    # Not `from . import metrics`: that asks this package for the attribute first, i.e. calls this function.
    metrics = importlib.import_module(f"{__name__}.metrics")
    try:
        value = getattr(metrics, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value  # later reads find it without this call
    return value
