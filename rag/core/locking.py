"""One index build at a time per index folder: an exclusive ``flock`` on the folder itself,
held from the first staged file to the published pointer. The kernel drops it when the
process ends, killed or not, so a dead build never blocks the next one."""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.core.errors import RagError


class IndexBusy(RagError, RuntimeError):
    """Another build held the folder for longer than we were willing to wait."""


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def build_lock(index_dir: Path, *, timeout_s: float = 600.0, poll_s: float = 0.2,
               notify: Callable[[str], None] = _say) -> Iterator[None]:
    """Holds the folder's lock; waits (saying so once through ``notify``) while another build
    holds it, and raises ``IndexBusy`` with a bilingual message after ``timeout_s``."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        deadline = time.monotonic() + timeout_s
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexBusy(
                        f"另一个索引构建仍在进行（{index_dir}），已等待 {timeout_s:.0f} 秒，请稍后再运行 `rag index`。"
                        f" / Another index build is still running in {index_dir} after {timeout_s:.0f} s;"
                        " run `rag index` again later.") from None
                if not told:
                    notify(f"另一个索引构建正在进行，等待其完成… / Another index build is running in {index_dir}; "
                           "waiting for it to finish…")
                    told = True
                time.sleep(poll_s)
        yield
    finally:
        os.close(fd)  # releases the lock


def fsync_tree(path: Path) -> None:
    """Every file under ``path``, then every folder, flushed to disk: a published build is whole
    on disk before the pointer names it."""
    folders = [path]
    for root, dirs, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        folders += [Path(root) / d for d in dirs]
    for folder in folders:
        fsync_dir(folder)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
