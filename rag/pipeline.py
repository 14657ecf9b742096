"""The composition root: corpus → chunks → index → retriever → composer, behind ``Pipeline``."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from rag.answer.composers.base import ComposerChain
from rag.answer.composers.commitments import CommitmentComposer
from rag.answer.composers.extractive import ExtractiveComposer
from rag.answer.composers.generative import GenerativeComposer
from rag.answer.guard import ConversationGuard
from rag.answer.query import QueryAnalyzer, QueryPart
from rag.answer.retrieval import BM25Retriever, DenseRetriever, HybridRetriever, Priors, Retriever, UnitFeatures
from rag.answer.routing.router import ReportRouter
from rag.answer.selection import ReportSelector, Selection, YearWords
from rag.answer.window_scorer import scorer_from
from rag.answer.windows.terms import TermWeights
from rag.commitments.extract import CommitmentExtractor
from rag.commitments.promises import PromiseCheck, PromiseTracker, track
from rag.core.progress import stage
from rag.core.settings import Settings, get_settings
from rag.core.types import Answer, Document, ScoredUnit, Unit
from rag.embed.embedder import Embedder
from rag.genre.lexicon import Lexicon
from rag.ingest.chunking import VERSION as CHUNKER_VERSION
from rag.ingest.chunking import SentenceChunker
from rag.ingest.corpus import CorpusLoader, CorpusRead, report_name, skipped_lines, source_url
from rag.stores import Store, StoreUnavailable
from rag.stores.faiss import FaissStore
from rag.stores.index import IndexBuilder, IndexUnavailable
from rag.stores.shards import Shard

RETRIEVERS = ("bm25", "dense", "hybrid")


def _chunker(settings: Settings) -> SentenceChunker:
    return SentenceChunker(max_chars=settings.max_unit_chars, min_chars=settings.min_unit_chars)


def _chunker_config(settings: Settings) -> dict:
    return {"name": "sentence", "version": CHUNKER_VERSION,
            "max_chars": settings.max_unit_chars, "min_chars": settings.min_unit_chars}


def build_index(settings: Settings, embedder: Embedder, *, progress: bool = True, strict: bool = False,
                full: bool = False) -> Store:
    """Parse, chunk, embed and publish a new index build; the old one stays until this succeeds.

    Files that cannot be read are named in the manifest (``skipped``) and the rest is indexed;
    ``strict`` refuses to build instead. On Milvus only new or changed reports are embedded and
    written (``rag.stores.milvus``) unless ``full``."""
    corpus_hash, got, documents, units = _read_corpus(settings, progress=progress, strict=strict)
    if settings.store == "milvus":
        from rag.stores.milvus import MilvusIndexer

        _, changes = MilvusIndexer(settings, embedder).update(
            documents, units, corpus_hash=corpus_hash, chunker=_chunker_config(settings), progress=progress,
            full=full, skipped=got.skipped)
        store = load_store(settings)
        store.changes = changes  # type: ignore[attr-defined]  # only MilvusStore has it
        return store
    IndexBuilder(settings.index_dir, embedder).build(
        documents, units, corpus_hash=corpus_hash, chunker=_chunker_config(settings), progress=progress,
        skipped=got.skipped,
    )
    return load_store(settings)


def _read_corpus(settings: Settings, *, progress: bool,
                 strict: bool) -> tuple[str, CorpusRead, list[Document], list[Unit]]:
    """The corpus's fingerprint, what reading it gave, its reports and their units (read, chunk stages)."""
    loader = CorpusLoader(settings.corpus_dir)
    corpus_hash = loader.fingerprint()
    got = loader.read(progress=progress)
    documents = loader.require(got, strict=strict)
    units = _chunker(settings).run(stage("chunk", documents, enabled=progress, total=len(documents)))
    return corpus_hash, got, documents, units


def build_shard(settings: Settings, embedder: Embedder, shard: Shard, *, progress: bool = True,
                strict: bool = False, full: bool = False) -> tuple[Store | None, dict[str, int]]:
    """One slice of a sharded Milvus build (``rag index --shard i/n``): its reports embedded and
    written; the store once the last slice published the build, else None (readers keep the old)."""
    from rag.stores.milvus import MilvusIndexer

    corpus_hash, got, documents, units = _read_corpus(settings, progress=progress, strict=strict)
    build, changes = MilvusIndexer(settings, embedder).update(
        documents, units, corpus_hash=corpus_hash, chunker=_chunker_config(settings), progress=progress,
        full=full, skipped=got.skipped, shard=shard)
    if build is None:
        return None, changes
    store = load_store(settings)
    store.changes = changes  # type: ignore[attr-defined]
    return store, changes


def load_store(settings: Settings) -> Store:
    """The published index in the configured store, as it is (``stale_reasons`` says if it fits)."""
    if settings.store == "milvus":
        from rag.stores.milvus import MilvusStore

        return MilvusStore.load(settings)
    return FaissStore.load(settings.index_dir)


def stale_reasons(settings: Settings, embedder: Embedder) -> tuple[Store | None, list[str]]:
    """The loaded index and why it cannot serve this corpus and model (empty when it can). An
    unreachable engine raises ``StoreUnavailable``: rebuilding would not help."""
    corpus_hash = CorpusLoader(settings.corpus_dir).fingerprint()
    try:
        store = load_store(settings)
    except StoreUnavailable:
        raise
    except IndexUnavailable as exc:
        return None, [str(exc)]
    return store, store.manifest.stale_reasons(
        corpus_hash=corpus_hash, model_id=embedder.model_id, chunker=_chunker_config(settings)
    )


def open_index(settings: Settings, embedder: Embedder, *, progress: bool = True) -> Store:
    store, reasons = stale_reasons(settings, embedder)
    if store is not None and not reasons:
        return store
    if not settings.auto_rebuild:
        raise IndexUnavailable(
            f"索引不可用（{'；'.join(reasons)}），请先运行 `rag index`。"
            f" / The index cannot be used ({'; '.join(reasons)}); run `rag index` first."
        )
    if progress:
        print(f"正在重建索引 / Rebuilding the index: {'; '.join(reasons)}", flush=True)
    store = build_index(settings, embedder, progress=progress)
    if store.manifest.skipped:  # a rebuild nobody asked for must still say what it left out
        print("未索引的文件 / Files not indexed:\n" + skipped_lines(store.manifest.skipped), file=sys.stderr,
              flush=True)
    return store


def _timings(start: float, retrieved: float, composed: float) -> dict[str, float]:
    """An answer's ``timings_ms`` from three clock readings (retrieval, then composing)."""
    return {"retrieve": round((retrieved - start) * 1000, 2), "compose": round((composed - retrieved) * 1000, 2),
            "total": round((composed - start) * 1000, 2)}


@dataclass
class Pipeline:
    """Load once, ask many times: ``Pipeline.load().ask("今年GDP要涨多少？")``."""

    settings: Settings
    store: Store
    embedder: Embedder
    analyzer: QueryAnalyzer
    retrievers: dict[str, Retriever]
    composer: ExtractiveComposer  # always there: the default answer and any other's fallback
    commitments: CommitmentComposer  # extracted once here; the API and UI list its ``items``
    selector: ReportSelector  # the catalogue: which reports a question or a filter is about
    router: ReportRouter  # answers over several reports, labelled per report
    promises: dict[str, PromiseCheck]  # target id → its fate in the same place's next report
    generative: GenerativeComposer | None = None  # set when an LLM server is configured
    guard: ConversationGuard | None = None  # greetings and junk, answered before retrieval

    @property
    def chain(self) -> ComposerChain:
        """The composers that answer from retrieval hits, over one report or once per report: an
        LLM's verified answer when one is configured (it falls back to the extractive), else the
        extractive. The tracker's lists come before retrieval (``_from_records``)."""
        return ComposerChain((self.generative or self.composer,))

    @classmethod
    def load(cls, settings: Settings | None = None, *, progress: bool = False, embedder: Embedder | None = None,
             store: Store | None = None) -> Pipeline:
        """``embedder`` and ``store`` reuse what is loaded already (a server switching to a new
        build keeps its model); without ``store`` the index is opened, and rebuilt when stale."""
        settings = settings or get_settings()
        embedder = embedder or Embedder.from_settings(settings)
        store = store or open_index(settings, embedder, progress=progress)
        if embedder.dim != store.manifest.dim:  # also loads the model now, not on the first question
            raise IndexUnavailable(
                f"model dimension {embedder.dim} != index dimension {store.manifest.dim}; run `rag index`")
        lexicon = Lexicon.default()
        features = UnitFeatures(store.units, lexicon, store.documents)
        priors = Priors()
        dense = DenseRetriever(store, embedder, features, priors, candidate_k=settings.candidate_k)
        bm25 = BM25Retriever(store, features, priors, candidate_k=settings.candidate_k)
        hybrid = HybridRetriever(dense, bm25, fusion=settings.fusion, rrf_k=settings.rrf_k,
                                 dense_weight=settings.dense_weight, bm25_weight=settings.bm25_weight)
        analyzer = QueryAnalyzer(lexicon)
        composer = ExtractiveComposer(store.documents, store.units, TermWeights(store.units), lexicon,
                                      intent_words=analyzer.intent_words, refusal_threshold=settings.refusal_threshold,
                                      scorer=scorer_from(settings.answer_scorer))
        items = CommitmentExtractor(lexicon).run(store.documents)
        checks = track(items, store.documents, PromiseTracker(lexicon))
        scope = lexicon.table("scope")
        selector = ReportSelector(store.documents, YearWords(
            tuple(scope["plan_time"]), tuple(scope["last_year"]),
            periods=tuple(w for w in scope["review_time"] if w not in scope["last_year"])))
        return cls(settings, store, embedder, analyzer,
                   {"bm25": bm25, "dense": dense, "hybrid": hybrid}, composer,
                   CommitmentComposer(items, lexicon), selector,
                   ReportRouter(selector, items, checks, plan_words=scope["plan"], lexicon=lexicon), checks,
                   GenerativeComposer.from_settings(settings, store.documents, composer),
                   ConversationGuard(settings.ui_examples, lexicon))

    @property
    def several_reports(self) -> bool:
        return len(self.store.documents) > 1

    def search(self, query: str, k: int = 10, *, retriever: str = "hybrid",
               documents: Collection[str] | None = None) -> list[ScoredUnit]:
        """Ranked units; a place or year named in the query narrows the reports, within ``documents``."""
        parts = self.analyzer.analyze(query)
        selection = self.router.scope.select(query, parts[:1], restrict=documents)[0]
        if selection.unknown:
            return []
        return self.retrievers[retriever].retrieve(parts[0], k, doc_ids=selection.doc_ids)

    def _events(self, question: str, top_k: int | None, history: list[str] | None, retriever: str, *,
                stream: bool, documents: Collection[str] | None = None) -> Iterator[dict]:
        """The one answer path, for one report or several: the answers that need no retrieval (the
        guard's, the scope refusal, the tracker's lists), else retrieval and the composer chain —
        over the one report's hits, or once per selected report through the router, which labels
        each answer with its report. A streaming composer's deltas come as they arrive (when
        ``stream`` is set), then ``{"type": "final", "answer": Answer}``."""
        k = top_k or self.settings.top_k
        t0 = time.perf_counter()
        said = self.guard.run(question) if self.guard else None  # "你好", markup, SQL …: no retrieval, no figure
        if said is not None:
            said.timings_ms = _timings(t0, t0, time.perf_counter())
            yield {"type": "final", "answer": said}
            return
        parts = self.analyzer.analyze(question, history)
        selections = self.router.scope.select(question, parts, self.leans_on(question, history or []), documents)
        across = self.several_reports or documents is not None or any(s.unknown or s.gap for s in selections)
        answer = self._from_records(question, parts, selections, labelled=across)
        ranker = self.retrievers[retriever]
        t1 = t2 = time.perf_counter()
        if answer is None and across:
            answer = self.router.answer(question, self._without_places(question, parts, history), selections,
                                        lambda p, d: ranker.retrieve(p, k, doc_ids=d), self.chain)
            t1 = t2 = time.perf_counter()
        elif answer is None:
            hits = [ranker.retrieve(p, k) for p in parts]
            t1 = time.perf_counter()
            scope = [s.doc_ids for s in selections]
            answer = (yield from self.chain.stream(question, parts, hits, documents=scope)) if stream else \
                self.chain.run(question, parts, hits, documents=scope)
            t2 = time.perf_counter()
        self._add_pages(answer)
        answer.timings_ms = _timings(t0, t1, t2)
        yield {"type": "final", "answer": answer}

    def _from_records(self, question: str, parts: list[QueryPart], selections: list[Selection], *,
                      labelled: bool) -> Answer | None:
        """The answers that come before retrieval, each gate once: the refusal when no report can
        answer, the tracker's missed or kept targets, the commitments listed within the selected
        reports (``labelled``: with their reports' names, as over several reports)."""
        gated = self.router.gate(question, selections)
        if gated is not None:
            return gated
        listed = self.commitments.run(question, parts, (), documents=[s.doc_ids for s in selections])
        return None if listed is None else self.router.scope.label(listed, always=labelled)

    def _without_places(self, question: str, parts: list[QueryPart], history: list[str] | None) -> list[QueryPart]:
        """The parts again without place names: inside its own report a name only favours sentences
        that repeat it («建设江城数字产业园» for «江城地区生产总值»)."""
        bare = self.analyzer.analyze(self.selector.strip_places(question) or question,
                                     [self.selector.strip_places(h) for h in history or []])
        return bare if len(bare) == len(parts) else parts

    def leans_on(self, question: str, history: list[str]) -> list[str]:
        """The earlier turns a question leans on, oldest first: none when it asks afresh («买车还有
        补贴吗»); for a follow-up («那过去五年呢？») the turns back to the one that asked afresh."""
        chain: list[str] = []
        leaning = self.analyzer.follows_up(question)
        for turn in reversed(history):
            if not leaning:
                break
            chain.append(turn)
            leaning = self.analyzer.follows_up(turn)
        return chain[::-1]

    def _add_pages(self, answer: Answer) -> None:
        """Every citation learns its PDF page, its report's name and where the report was
        published here, whichever composer made it: users never see a file name."""
        for c in answer.citations:
            doc = self.store.document(c.doc)
            c.page = doc.page_at(c.start) if doc is not None else None
            c.report = report_name(doc) if doc is not None else c.doc
            c.source_url = source_url(doc) if doc is not None else None

    def ask(self, question: str, top_k: int | None = None, *, history: list[str] | None = None,
            retriever: str = "hybrid", documents: Collection[str] | None = None) -> Answer:
        """``history`` holds earlier user questions, oldest first, for follow-ups ("那过去五年呢？");
        ``documents`` restricts the answer to those report ids."""
        *_, final = self._events(question, top_k, history, retriever, stream=False, documents=documents)
        return final["answer"]

    def ask_stream(self, question: str, top_k: int | None = None, *, history: list[str] | None = None,
                   retriever: str = "hybrid", documents: Collection[str] | None = None) -> Iterator[dict]:
        """Server-sent-event payloads: ``{"type": "delta", "text": …}`` pieces of the answer (an LLM's
        tokens as they arrive), then ``{"type": "final", "answer": {…}}`` with the complete, verified
        answer JSON. ``{"type": "reset"}`` before the final event tells clients to drop the text
        streamed so far: verification rejected it, and the fallback answer's pieces follow."""
        shown = ""
        for event in self._events(question, top_k, history, retriever, stream=True, documents=documents):
            if event["type"] == "delta":
                shown += event["text"]
                yield event
                continue
            answer = event["answer"]
            if answer.answer != shown:
                if shown:
                    yield {"type": "reset"}
                for piece in re.findall(r"(?s).+?(?:[。；！？]|\[\d+\]|$)", answer.answer):
                    if piece:
                        yield {"type": "delta", "text": piece}
            yield {"type": "final", "answer": answer.to_dict()}
