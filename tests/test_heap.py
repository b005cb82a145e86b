"""The start-up heap is frozen out of the collector while the bot serves: garbage is collected first,
what is left is frozen, and everything is thawed at the end."""

from __future__ import annotations

import gc
import weakref

from bot.heap import frozen_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _walked(obj: object) -> bool:
    """The collector's generations hold it (the frozen generation is not among them)."""
    return any(o is obj for o in gc.get_objects())


def test_garbage_goes_first_and_the_rest_is_frozen_until_the_end() -> None:
    gc.disable()  # no automatic collection may free the cycle before frozen_heap does
    try:
        kept = _Node()
        cycle_a, cycle_b = _Node(), _Node()
        cycle_a.other, cycle_b.other = cycle_b, cycle_a  # only the cycle collector can free these
        gone = weakref.ref(cycle_a)
        del cycle_a, cycle_b
        assert gone() is not None
        with frozen_heap():
            assert gone() is None  # collected, not frozen
            assert gc.get_freeze_count() > 0
            assert not _walked(kept)  # frozen: full collections skip it
        assert gc.get_freeze_count() == 0
        assert _walked(kept)
    finally:
        gc.enable()
