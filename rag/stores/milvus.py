"""Milvus: an embedded Milvus Lite file (``milvus_uri`` a path ending in ``.db``) or a Milvus
standalone/cluster (``http://host:19530``), with the same client code.

One collection holds a row per unit: ids, the report's catalogue scalars (region, level, year),
offsets, the text with a jieba analyzer feeding a BM25 function, and the dense vector. Report
filters run inside the engine as a ``filter`` expression.

Updates are incremental and atomic from a reader's view. Every row carries its report's
version tag (``doc_id@content-hash``). ``rag index`` writes the rows of new or changed reports
under their new tags, then publishes an index build whose manifest names the active tag of
every report (the atomic ``CURRENT`` rename, as for FAISS), and only then deletes rows of tags
no report uses any more. A reader searches only its manifest's tags, so it sees each report
either wholly old or wholly new, never half of each.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.core.locking import build_lock
from rag.core.progress import stage
from rag.core.types import Document, SkippedFile, Unit
from rag.genre.text import PUNCT, tokenize
from rag.stores.base import Candidates, StoreUnavailable, builds_dir
from rag.stores.index import (
    IndexBuilder,
    IndexUnavailable,
    Manifest,
    current_build,
    embed_units,
    load_build,
    read_manifest,
    report_hash,
)
from rag.stores.shards import Shard, ShardState

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from rag.core.settings import Settings
    from rag.embed.embedder import Embedder

_SCHEMES = ("http://", "https://", "tcp://", "unix:")
_MAX_TEXT = 65_535  # VARCHAR limit in bytes
_BATCH = 512


def is_lite(uri: str) -> bool:
    return not uri.startswith(_SCHEMES)


def _redacted(uri: str) -> str:
    """The URI for messages: any ``user:password@`` removed."""
    return re.sub(r"//[^/@]*@", "//***@", uri)


def search_text(text: str) -> str:
    """What BM25 analyses: punctuation becomes a space, as ``rag.genre.text.tokenize`` drops it, so
    the engine's jieba analyzer yields the same words as the FAISS store's BM25."""
    return PUNCT.sub(" ", text).strip()


def version_tag(doc_id: str, content_hash: str) -> str:
    return f"{doc_id}@{content_hash[:16]}"


def _quoted(values: Collection[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def _clip(text: str, limit: int = _MAX_TEXT) -> str:
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")


@contextmanager
def _quiet() -> Iterator[None]:
    """Lite logs its own traceback when it cannot open a file (our message says it instead), and
    its in-process gRPC server logs one for an RPC it does not implement that the client only
    probes (AllocTimestamp while an index is created)."""
    loggers = [logging.getLogger(name) for name in ("milvus_lite", "grpc._server")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def connect(settings: Settings) -> MilvusClient:
    """A client for ``settings.milvus_target``, or ``StoreUnavailable`` naming the URI and why."""
    uri = settings.milvus_target
    shown = _redacted(uri)
    if is_lite(uri):
        if not uri.endswith(".db"):
            raise StoreUnavailable(
                f"Milvus 地址无效：{shown}（本地 Milvus Lite 文件须以 .db 结尾，服务器地址须以 http:// 开头）"
                f" / Invalid Milvus URI {shown}: a Milvus Lite file must end in .db, a server URI start with http://")
        try:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"无法创建 Milvus Lite 目录：{shown}（{exc}）"
                                   f" / Cannot create the Milvus Lite folder for {shown}: {exc}") from exc
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise StoreUnavailable(
            "未安装 pymilvus，请安装 pymilvus[milvus-lite]。"
            " / pymilvus is not installed: pip install 'pymilvus[milvus-lite]'") from exc
    tokenize("")  # Lite's analyzer shares the process's jieba: load it here, quietly, as ours does
    try:
        with _quiet():
            client = MilvusClient(uri=uri, token=settings.milvus_token or "", timeout=settings.milvus_timeout_s)
            client.list_collections(timeout=settings.milvus_timeout_s)
    except Exception as exc:  # pymilvus raises MilvusException, grpc errors, OSError, ...
        why = str(getattr(exc, "message", "") or exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        hint = ("文件可能正被另一个进程使用（Milvus Lite 只允许一个进程）"
                " / the file may be open in another process (Milvus Lite allows one)") if is_lite(uri) else \
               ("请确认 Milvus 已启动、地址与令牌正确 / check that Milvus is running and the URI and token are right")
        raise StoreUnavailable(f"无法连接 Milvus：{shown}（{why}）；{hint.split(' / ')[0]}。"
                               f" / Cannot connect to Milvus at {shown} ({why}); {hint.split(' / ')[1]}.") from exc
    return client


def engine_config(settings: Settings) -> dict:
    """Where the engine is and how it indexes: recorded in the manifest, compared on load."""
    index = settings.milvus_index
    if index == "auto":
        index = "FLAT" if is_lite(settings.milvus_target) else "HNSW"
    return {"uri": _redacted(settings.milvus_target), "collection": settings.milvus_collection, "index_type": index}


class MilvusIndexer:
    """Brings the collection and the published build up to date with the corpus, embedding
    only new or changed reports; a model, chunker or engine change rebuilds the collection."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings, self.embedder = settings, embedder
        self.collection = settings.milvus_collection
        self.engine = engine_config(settings)

    def _previous(self, client: MilvusClient, *, chunker: dict, dim: int) -> Manifest | None:
        """The published manifest when the collection can be updated in place, else None."""
        try:
            old = read_manifest(builds_dir(self.settings))
        except IndexUnavailable:
            return None
        same = (old.store == "milvus" and old.engine == self.engine and old.model_id == self.embedder.model_id
                and old.chunker == chunker and old.dim == dim and old.format_version == Manifest.__dataclass_fields__[
                    "format_version"].default)
        return old if same and client.has_collection(self.collection) else None

    def _create(self, client: MilvusClient, dim: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        if client.has_collection(self.collection):
            client.drop_collection(self.collection)
        schema = client.create_schema(auto_id=False, description="gov-report-rag retrieval units")
        schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=512)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=256)
        schema.add_field("doc_ver", DataType.VARCHAR, max_length=512)  # doc_id@content hash: the version tag
        schema.add_field("unit_no", DataType.INT64)  # position of the unit within its report
        schema.add_field("section_id", DataType.VARCHAR, max_length=256)
        schema.add_field("section_path", DataType.VARCHAR, max_length=_MAX_TEXT)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("kind", DataType.VARCHAR, max_length=32)
        schema.add_field("region", DataType.VARCHAR, max_length=256)
        schema.add_field("level", DataType.VARCHAR, max_length=64)
        schema.add_field("year", DataType.INT64)  # the report's plan year; 0 when unknown
        schema.add_field("text", DataType.VARCHAR, max_length=_MAX_TEXT)  # exact: doc.text[start:end]
        schema.add_field("search_text", DataType.VARCHAR, max_length=_MAX_TEXT, enable_analyzer=True,
                         analyzer_params={"tokenizer": "jieba"})  # heading + text, punctuation blanked
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["search_text"], output_field_names=["sparse"]))
        params = client.prepare_index_params()
        kind = self.engine["index_type"]
        dense_params = {"M": 32, "efConstruction": 200} if kind == "HNSW" else {}
        params.add_index("dense", index_type=kind, metric_type="IP", params=dense_params)
        # k1/b as bm25s's defaults, so both stores weigh terms alike
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params={"bm25_k1": 1.5, "bm25_b": 0.75})
        for name in ("doc_id", "doc_ver", "year"):
            if not is_lite(self.settings.milvus_target):  # Lite filters by scanning; servers get scalar indexes
                params.add_index(name, index_type="INVERTED")
        with _quiet():
            client.create_collection(self.collection, schema=schema, index_params=params)

    def _rows(self, doc: Document, units: list[Unit], vectors: np.ndarray, tag: str) -> list[dict[str, Any]]:
        rep = doc.report
        return [{
            "pk": f"{tag}#{i}", "doc_id": doc.id, "doc_ver": tag, "unit_no": i, "section_id": u.section_id,
            "section_path": _clip(" › ".join(u.section_path)), "start": u.start, "end": u.end, "kind": u.kind,
            "region": rep.region or "", "level": rep.level or "", "year": int(rep.year or 0),
            "text": _clip(u.text),
            "search_text": _clip(search_text((u.section_path[-1] if u.section_path else "") + " " + u.text)) or " ",
            "dense": vectors[i].tolist(),
        } for i, u in enumerate(units)]

    def update(self, documents: list[Document], units: list[Unit], *, corpus_hash: str, chunker: dict,
               progress: bool = True, full: bool = False, skipped: Sequence[SkippedFile] = (),
               shard: Shard | None = None) -> tuple[Path | None, dict[str, int]]:
        """Returns the published build and what changed: reports written, kept and removed.
        ``full`` rewrites the collection from scratch. One update at a time per builds folder
        (``rag.core.locking.build_lock``), from writing rows to deleting the superseded ones. With
        ``shard``, only that slice's reports are written, and the build is published (else None)
        once every slice of this corpus is in."""
        client = connect(self.settings)
        try:
            with build_lock(builds_dir(self.settings)):
                return self._update(client, documents, units, corpus_hash=corpus_hash, chunker=chunker,
                                    progress=progress, full=full, skipped=skipped, shard=shard)
        except (IndexUnavailable, KeyboardInterrupt):
            raise
        except Exception as exc:
            if type(exc).__module__.split(".")[0] not in ("pymilvus", "grpc", "milvus_lite"):
                raise
            where = _redacted(self.settings.milvus_target)
            raise StoreUnavailable(f"写入 Milvus 失败：{where}（{exc}）；已发布的索引未改变。"
                                   f" / Writing to Milvus at {where} failed ({exc});"
                                   " the published index is unchanged.") from exc

    def _update(self, client: MilvusClient, documents: list[Document], units: list[Unit], *, corpus_hash: str,
                chunker: dict, progress: bool, full: bool, skipped: Sequence[SkippedFile],
                shard: Shard | None) -> tuple[Path | None, dict[str, int]]:
        dim = self.embedder.dim
        state = ShardState(builds_dir(self.settings))
        run = state.run_key(corpus=corpus_hash, model=self.embedder.model_id, chunker=chunker, engine=self.engine,
                            count=shard.count if shard else 0)
        done, fresh = state.read(run) if shard is not None else (set(), False)
        old = None if full else self._previous(client, chunker=chunker, dim=dim)
        created = not done and (full or old is None)  # a later slice keeps what the run's first one made
        if created:
            self._create(client, dim)
        old_tags = {d: version_tag(d, h) for d, h in (old.report_hashes if old else {}).items()}
        tags = {d.id: version_tag(d.id, report_hash(d)) for d in documents}
        changed = [d for d in documents if (created or fresh or old_tags.get(d.id) != tags[d.id])
                   and (shard is None or shard.holds(d.id))]
        written, embedded = self._write(client, changed, units, tags, dim=dim, progress=progress)
        changes = {"written": len(changed), "kept": len(documents) - len(changed), "removed": 0,
                   "units_written": written, "rebuilt": int(created)}
        if shard is not None:
            done = state.mark(run, shard, fresh=created)
            changes |= {"shards_done": len(done), "shards": shard.count}
            if len(done) < shard.count:
                return None, changes  # the published version stays until every slice is in
        builder = IndexBuilder(builds_dir(self.settings), self.embedder)
        with builder.staging() as staging:
            build = builder.publish(staging, documents, units, corpus_hash=corpus_hash, chunker=chunker, dim=dim,
                                    skipped=skipped, store="milvus", engine=self.engine, embedded=embedded)
        state.clear()
        # only now that readers follow the new manifest: drop every row of a tag no report uses
        client.delete(self.collection, filter=f"doc_ver not in {_quoted(sorted(tags.values()))}",
                      timeout=self.settings.milvus_timeout_s)
        changes["removed"] = len(set(old_tags) - set(tags))
        return build, changes

    def _write(self, client: MilvusClient, changed: list[Document], units: list[Unit], tags: dict[str, str], *,
               dim: int, progress: bool) -> tuple[int, int]:
        """Embeds and upserts the units of ``changed``; returns (rows written, texts embedded)."""
        by_doc: dict[str, list[Unit]] = {}
        for u in units:
            by_doc.setdefault(u.doc_id, []).append(u)
        todo = [u for d in changed for u in by_doc.get(d.id, [])]
        vectors, embedded = embed_units(self.embedder, todo, dim=dim, progress=progress)
        at = 0
        rows: list[dict[str, Any]] = []
        for d in changed:
            mine = by_doc.get(d.id, [])
            rows += self._rows(d, mine, vectors[at:at + len(mine)], tags[d.id])
            at += len(mine)
        # upsert: a rerun after a crash rewrites the same keys
        for i in stage("store", range(0, len(rows), _BATCH), enabled=progress and bool(rows), unit="batch"):
            client.upsert(self.collection, rows[i:i + _BATCH], timeout=self.settings.milvus_timeout_s)
        client.flush(self.collection)
        return len(rows), embedded


@dataclass
class MilvusStore:
    """The published build in memory and the collection it names, searched by candidate."""

    path: Path
    manifest: Manifest
    documents: list[Document]
    units: list[Unit]
    client: Any = field(repr=False)
    settings: Settings = field(repr=False)
    name: str = field(default="milvus", init=False)
    changes: dict[str, int] | None = None  # what the ``rag index`` that returned this store wrote

    def __post_init__(self) -> None:
        self.collection = self.settings.milvus_collection
        self.tags = {d: version_tag(d, h) for d, h in self.manifest.report_hashes.items()}
        first: dict[str, int] = {}
        for i, u in enumerate(self.units):
            first.setdefault(u.doc_id, i)
        self._first = {self.tags[d]: i for d, i in first.items() if d in self.tags}
        self._lite = is_lite(self.settings.milvus_target)

    @classmethod
    def load(cls, settings: Settings, *, verify: bool = True) -> MilvusStore:
        """Connects first (an unreachable engine is ``StoreUnavailable``, which no rebuild fixes),
        then reads the published build and checks the collection holds exactly its rows."""
        client = connect(settings)
        build = current_build(builds_dir(settings))
        manifest, documents, units = load_build(build, verify=verify)
        if manifest.store != "milvus" or manifest.engine != engine_config(settings):
            raise IndexUnavailable(f"index in {build} was built for {manifest.store} {manifest.engine}, "
                                   f"configured is milvus {engine_config(settings)}")
        if set(manifest.report_hashes) != {d.id for d in documents}:
            raise IndexUnavailable(f"index in {build} has no report versions; rebuild it")
        store = cls(build, manifest, documents, units, client, settings)
        store._check_rows()
        return store

    def _check_rows(self) -> None:
        """Loads the collection for search and checks it holds every unit of the manifest's versions."""
        where = _redacted(self.settings.milvus_target)
        if not self.client.has_collection(self.collection):
            raise IndexUnavailable(f"Milvus collection {self.collection} is missing at {where}")
        try:
            self.client.load_collection(self.collection, timeout=self.settings.milvus_timeout_s)
            found = self.client.query(self.collection, filter=f"doc_ver in {_quoted(self.tags.values())}",
                                      output_fields=["count(*)"], timeout=self.settings.milvus_timeout_s)
        except Exception as exc:
            raise IndexUnavailable(f"Milvus collection {self.collection} at {where} cannot be read: {exc}") from exc
        n = int(found[0]["count(*)"]) if found else 0
        if n != len(self.units):
            raise IndexUnavailable(f"Milvus collection {self.collection} holds {n} units of the published reports, "
                                   f"the manifest {len(self.units)}")

    def _filter(self, doc_ids: Collection[str] | None) -> str:
        if doc_ids is None:
            return ""  # rows of other versions (an update under way) are dropped in _candidates
        return f"doc_ver in {_quoted(sorted(self.tags[d] for d in doc_ids if d in self.tags))}"

    def _candidates(self, hits: list[dict]) -> Candidates:
        ids, scores = [], []
        for h in hits:
            e = h.get("entity", h)
            first = self._first.get(e.get("doc_ver"))
            if first is not None:
                ids.append(first + int(e["unit_no"]))
                scores.append(abs(float(h["distance"])))  # Lite returns BM25 as negative distances
        return Candidates(np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32))

    def _search(self, data: list, field_: str, k: int, params: dict, doc_ids: Collection[str] | None) -> Candidates:
        if doc_ids is not None and not any(d in self.tags for d in doc_ids):
            return Candidates.empty()
        try:
            res = self.client.search(self.collection, data=data, anns_field=field_, limit=k,
                                     filter=self._filter(doc_ids), output_fields=["doc_ver", "unit_no"],
                                     search_params=params, timeout=self.settings.milvus_timeout_s)
        except Exception as exc:
            where = _redacted(self.settings.milvus_target)
            raise StoreUnavailable(f"Milvus 查询失败：{where}（{exc}）"
                                   f" / Milvus search failed at {where}: {exc}") from exc
        return self._candidates(list(res[0]) if res else [])

    def dense_candidates(self, vector: np.ndarray, k: int, *, doc_ids: Collection[str] | None = None) -> Candidates:
        params: dict = {"metric_type": "IP"}
        if self.manifest.engine.get("index_type") == "HNSW":
            params["params"] = {"ef": max(self.settings.milvus_hnsw_ef, k)}
        return self._search([np.asarray(vector, dtype=np.float32).tolist()], "dense", k, params, doc_ids)

    def bm25_candidates(self, text: str, k: int, *, doc_ids: Collection[str] | None = None) -> Candidates:
        query = search_text(text)
        if not query:
            return Candidates.empty()
        return self._search([query], "sparse", k, {"metric_type": "BM25"}, doc_ids)

    def document(self, doc_id: str) -> Document | None:
        return next((d for d in self.documents if d.id == doc_id), None)

    def describe(self) -> dict:
        return {"store": "milvus", "path": str(self.path), **self.manifest.engine,
                "mode": "lite" if self._lite else "server"}

    def check(self) -> None:
        try:
            self.client.has_collection(self.collection, timeout=self.settings.milvus_timeout_s)
        except Exception as exc:
            where = _redacted(self.settings.milvus_target)
            raise StoreUnavailable(f"Milvus 无响应：{where}（{exc}）"
                                   f" / Milvus does not answer at {where}: {exc}") from exc
