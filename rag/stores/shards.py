"""Sharded builds into one Milvus collection: ``rag index --shard i/n`` embeds and writes the
reports of one deterministic slice; the published build (the version readers follow) flips
only when every slice of the same corpus, model and engine is in.

On a cluster each machine runs one slice against the same server URI and builds folder; here,
slices run one after the other into Milvus Lite (one writer at a time: the build lock). A slice is
chosen by a hash of the report id, so it does not depend on file order or on the other reports.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from rag.core.errors import RagError

STATE = "shards.json"


class ShardError(RagError, ValueError):
    """A ``--shard`` value that is not ``i/n`` with 1 ≤ i ≤ n; the message is bilingual."""


@dataclass(frozen=True)
class Shard:
    number: int  # 1-based, as the user writes it: 1/2, 2/2
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        num, sep, count = text.partition("/")
        try:
            shard = cls(int(num), int(count))
        except ValueError:
            shard = None
        if not sep or shard is None or not 1 <= shard.number <= shard.count:
            raise ShardError(f"分片格式应为 i/n（1 ≤ i ≤ n），例如 1/2：{text!r}"
                             f" / A shard is i/n with 1 ≤ i ≤ n, e.g. 1/2: {text!r}")
        return shard

    def holds(self, doc_id: str) -> bool:
        digest = hashlib.blake2b(doc_id.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") % self.count == self.number - 1

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"


class ShardState:
    """Which slices of one sharded run are in (``<builds>/shards.json``). A run is keyed by what
    makes its rows compatible: corpus, model, chunker, engine and slice count."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / STATE

    @staticmethod
    def run_key(**parts: object) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()

    def read(self, run: str) -> tuple[set[int], bool]:
        """Slices already written for ``run`` (none when another run, or none, is recorded), and
        whether the run started a fresh collection (then every slice writes all its reports)."""
        try:
            state = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return set(), False
        return (set(state.get("done", [])), bool(state.get("fresh"))) if state.get("run") == run else (set(), False)

    def mark(self, run: str, shard: Shard, *, fresh: bool) -> set[int]:
        done, was_fresh = self.read(run)
        done.add(shard.number)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{STATE}.{os.getpid()}")
        tmp.write_text(json.dumps({"run": run, "count": shard.count, "done": sorted(done),
                                   "fresh": fresh or was_fresh}), "utf-8")
        os.replace(tmp, self.path)
        return done

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
