"""One progress bar per build stage (read/parse, chunk, embed, store), on stderr.

A build of a national collection runs for a long while; each stage says how far it is, so a user
can tell a slow stage from a stuck one. Bars are off when ``enabled`` is false (tests, servers)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

STAGES = {"read": "读取/解析 read", "chunk": "切分 chunk", "embed": "嵌入 embed", "store": "写入 store",
          "check": "检查 check", "copy": "复制 copy"}


def stage(name: str, items: Iterable[T], *, enabled: bool, total: int | None = None, unit: str = "file") -> Iterator[T]:
    """``items`` as they are, behind a bar named after the stage when ``enabled``."""
    if not enabled:
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, desc=STAGES.get(name, name), total=total, unit=unit, leave=True, dynamic_ncols=True)


class Counter:
    """A bar advanced by hand (``update(n)``), for stages that work in batches of unknown size."""

    def __init__(self, name: str, total: int, *, enabled: bool, unit: str = "unit") -> None:
        self._bar = None
        if enabled and total:
            from tqdm import tqdm

            self._bar = tqdm(desc=STAGES.get(name, name), total=total, unit=unit, leave=True, dynamic_ncols=True)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
