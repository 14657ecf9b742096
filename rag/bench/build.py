"""The index build against its floors, in one run (``rag bench``, phase ``build``).

Three figures, each beside what bounds it, measured alternately so that load from other
processes on a shared machine hits both sides alike:

- the build, end to end (read, parse, chunk, embed, BM25, write, publish), in embedded units a
  second, beside the bare batched encode of exactly the texts it embedded (``Embedder.encode_passages``
  in one call): what the build adds to the encoder;
- the batched ONNX passage encode, fp32 and int8 graphs (``onnx_quantize``), beside a 2-thread and
  a 1-thread torch (sentence-transformers) encode of the same passages: what the encoder gains over
  the library it replaces;
- the ONNX encodes at several batch sizes, so the default is chosen by measurement.

A collection of 1,467 reports is not built to measure this: ``sample`` reports, taken at even steps
through the sorted file list (deterministic), are linked into a temporary corpus.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.bench.stats import ratio, summary

if TYPE_CHECKING:
    from rag.core.settings import Settings
    from rag.embed.embedder import Embedder


def sample_corpus(corpus: Path, n: int, into: Path) -> list[Path]:
    """``n`` report files of ``corpus`` at even steps through its sorted file list, linked into
    ``into`` with their relative paths (so ids and folders are as in the collection); 0 = all."""
    from rag.ingest.corpus import CorpusLoader

    files = CorpusLoader(corpus).files()
    picked = files if n <= 0 or n >= len(files) else [files[round(i * len(files) / n)] for i in range(n)]
    for f in picked:
        target = into / f.relative_to(corpus)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(f.resolve())
    return picked


def recall_at_10(settings: Settings, embedder: Embedder, queries: int = 50) -> dict:
    """The store's dense top 10 (fp16 candidates, exact re-scoring) against exact search over the
    fp32 rows, for questions made of units' texts, over all reports and within one report."""
    import numpy as np

    from rag.stores.faiss import FaissStore

    store = FaissStore.load(settings.index_dir)
    exact = np.asarray(store.exact)
    picks = list(range(0, len(store.units), max(1, len(store.units) // queries)))[:queries]
    vectors = embedder.encode_queries([store.units[i].text for i in picks])
    hits, filtered = 0, 0.0
    times = []
    for i, q in zip(picks, vectors, strict=True):
        truth = set(np.argsort(-(exact @ q), kind="stable")[:10].tolist())
        t0 = time.perf_counter()
        got = store.dense_candidates(q, 10)
        times.append((time.perf_counter() - t0) * 1000)
        hits += len(truth & set(got.ids.tolist()))
        doc = store.units[i].doc_id
        mine = np.flatnonzero([u.doc_id == doc for u in store.units])
        truth = set(mine[np.argsort(-(exact[mine] @ q), kind="stable")[:10]].tolist())
        filtered += len(truth & set(store.dense_candidates(q, 10, doc_ids={doc}).ids.tolist())) / min(10, mine.size)
    return {"recall_at_10": round(hits / (10 * len(picks)), 4),
            "recall_at_10_one_report": round(filtered / len(picks), 4),
            "dense_search_ms": summary(times), "index_type": store.describe()["index_type"]}


@dataclass
class BuildBench:
    """Builds a sample ``runs`` times into a fresh index folder, alternating with the bare encodes."""

    settings: Settings
    sample: int = 20
    runs: int = 1
    passages: int = 400  # the torch/ONNX comparison's passages, spread over the sample's units
    batch_sizes: tuple[int, ...] = (16, 32, 64)

    def run(self, embedder: Embedder, log=lambda msg: None) -> dict:
        from rag.pipeline import build_index

        with tempfile.TemporaryDirectory(prefix="rag-bench-build-") as tmp:
            corpus = Path(tmp) / "corpus"
            picked = sample_corpus(self.settings.corpus_dir, self.sample, corpus)
            conf = self.settings.model_copy(update={"corpus_dir": corpus, "index_dir": Path(tmp) / "index"})
            embedder.encode_passages(["预热 warm-up"])  # the model is loaded before any clock runs
            builds, bares, store = [], [], None
            for i in range(self.runs):
                shutil.rmtree(conf.index_dir, ignore_errors=True)  # nothing to reuse: every unit embedded
                log(f"bench: build {i + 1}/{self.runs} of {len(picked)} reports")
                t0 = time.perf_counter()
                store = build_index(conf, embedder, progress=False)
                builds.append(time.perf_counter() - t0)
                texts = list(dict.fromkeys(u.embed_text for u in store.units))  # what the build embedded
                t0 = time.perf_counter()
                embedder.encode_passages(texts)
                bares.append(time.perf_counter() - t0)
            assert store is not None
            embedded = store.manifest.embedded
            out = {"reports": len(store.documents), "units": len(store.units), "embedded": embedded,
                   "chars": sum(len(d.text) for d in store.documents), "build_s": summary(builds),
                   "bare_encode_s": summary(bares),
                   "build_units_per_s": round(embedded / summary(builds)["p50"], 2),
                   "bare_units_per_s": round(embedded / summary(bares)["p50"], 2),
                   "build_vs_bare": ratio(summary(bares)["p50"], summary(builds)["p50"])}
            out |= recall_at_10(conf, embedder)
            step = max(1, len(texts) // self.passages)
            out |= self.encoders(embedder, texts[::step][: self.passages], log)
        return out

    def encoders(self, embedder: Embedder, texts: list[str], log) -> dict:
        """The fp32 and int8 ONNX graphs' batched encodes (each batch size; int8 when its graph passed
        its check) against torch on 2 threads and on 1, round after round, on the same passages."""
        import torch
        from sentence_transformers import SentenceTransformer

        log(f"bench: torch (2 and 1 threads) and ONNX (fp32, int8) encode of {len(texts)} passages")
        before = torch.get_num_threads()
        model = SentenceTransformer(embedder.model_path, device="cpu", local_files_only=True)
        graphs = {name: g for name, g in (("onnx", embedder.onnx_graph("fp32")),
                                          ("onnx_int8", embedder.onnx_graph("int8"))) if g is not None}
        runs: dict[str, list[float]] = {"torch_2_threads": [], "torch_1_thread": [],
                                        **{f"{g}_batch_{b}": [] for g in graphs for b in self.batch_sizes}}
        try:
            for _ in range(max(3, self.runs)):
                for threads, key in ((2, "torch_2_threads"), (1, "torch_1_thread")):
                    torch.set_num_threads(threads)
                    t0 = time.perf_counter()
                    model.encode(texts, prompt="passage: ", batch_size=32, normalize_embeddings=True,
                                 convert_to_numpy=True)
                    runs[key].append(len(texts) / (time.perf_counter() - t0))
                for (g, encoder), b in ((item, b) for item in graphs.items() for b in self.batch_sizes):
                    t0 = time.perf_counter()
                    encoder.encode(texts, prompt_name="passage", batch_size=b)
                    runs[f"{g}_batch_{b}"].append(len(texts) / (time.perf_counter() - t0))
        finally:
            torch.set_num_threads(before)
        return {"passages": len(texts), "onnx_threads": embedder.onnx_threads,
                **self._ratios({k: summary(v) for k, v in runs.items() if v}, embedder.encoder_id)}

    def _ratios(self, rates: dict[str, dict], encoder_id: str) -> dict:
        """Each graph at the configured batch size against torch and each other; ``onnx_vs_torch_2``
        (the acceptance figure) is the graph the build used."""
        def at(graph: str) -> float | None:
            r = (rates.get(f"{graph}_batch_{self.settings.embed_batch_size}")
                 or rates.get(f"{graph}_batch_{self.batch_sizes[0]}"))
            return r["p50"] if r else None

        fp32, int8 = at("onnx"), at("onnx_int8")
        used = int8 if encoder_id.startswith("onnx-int8") else fp32
        torch2, torch1 = rates["torch_2_threads"]["p50"], rates["torch_1_thread"]["p50"]
        best = max((k for k in rates if k.startswith("onnx")), key=lambda k: rates[k]["p50"])
        return {"encode_units_per_s": rates, "build_encoder": encoder_id,
                "onnx_vs_torch_2": ratio(used, torch2) if used else None,
                "onnx_vs_torch_1": ratio(used, torch1) if used else None,
                "fp32_vs_torch_2": ratio(fp32, torch2) if fp32 else None,
                "int8_vs_torch_2": ratio(int8, torch2) if int8 else None,
                "int8_vs_fp32": ratio(int8, fp32) if int8 and fp32 else None,
                "configured_batch": self.settings.embed_batch_size, "fastest": best.replace("_batch_", " batch ")}
