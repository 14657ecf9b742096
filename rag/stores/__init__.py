"""Where units and vectors live, behind one protocol: in-process FAISS + bm25s (the embedded
default) or Milvus (Lite in a local file, or a standalone/cluster server at a URI).

Both return their top ``candidate_k`` dense and BM25 candidates; fusion and the phrasing priors
happen in ``rag.answer.retrieval`` on those candidates only, so answers do not depend on the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.stores.base import Candidates, Store, StoreUnavailable, builds_dir

if TYPE_CHECKING:
    from rag.core.settings import Settings

__all__ = ["Candidates", "Store", "StoreUnavailable", "builds_dir", "describe_settings"]


def describe_settings(settings: Settings) -> dict:
    """The configured store as ``rag info`` shows it, without connecting (never the token)."""
    if settings.store == "milvus":
        from rag.stores.milvus import engine_config, is_lite

        return {"store": "milvus", **engine_config(settings),
                "mode": "lite" if is_lite(settings.milvus_target) else "server", "candidate_k": settings.candidate_k}
    from rag.stores.faiss import INDEX_TYPE

    return {"store": "faiss", "index_dir": str(settings.index_dir), "index_type": INDEX_TYPE,
            "candidate_k": settings.candidate_k}
