"""A bounded memory of recently seen keys (least recently seen forgotten first): the in-process
"seen this already" checks of the adapters and the core. The database stays the real guard."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

DEFAULT_MAX = 4096


class Recent(Generic[K, V]):
    def __init__(self, maxsize: int = DEFAULT_MAX) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[K, V] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        """The remembered value (refreshing the key), or None."""
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def first_sight(self, key: K, value: V) -> bool:
        """Remember `key`; True if it was not remembered before."""
        seen = key in self._items
        if seen:
            self._items.move_to_end(key)
        else:
            self.put(key, value)
        return not seen
