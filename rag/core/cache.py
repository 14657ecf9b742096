"""A bounded memo kept by a component: the same question text, unit or word comes back again
and again (a question's parts, a conversation's turns, units that answer many questions)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def get_or_make(cache: dict[K, V], key: K, make: Callable[[K], V], limit: int) -> V:
    """``cache[key]``, made on a miss; a cache at ``limit`` entries is emptied first, which bounds
    it without an LRU's bookkeeping on every hit."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= limit:
            cache.clear()
        found = cache[key] = make(key)
    return found
