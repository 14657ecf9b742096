"""A reusable test suite for every store: subclass ``StoreContract`` and give it a ``store`` fixture
(a loaded ``Store`` over at least two reports) and a ``vector_of`` fixture (text -> query vector).

Checks what the answer layer relies on, whatever the engine: candidates best first, positions into
``store.units``, the report filter applied inside the search, and the catalogue it serves."""

from __future__ import annotations

import numpy as np
import pytest

QUESTIONS = ("今年经济增长的目标是多少？", "城镇新增就业", "What is the GDP growth target?")


class StoreContract:
    """The store protocol's behaviour (``rag.stores.base.Store``)."""

    @pytest.fixture
    def docs(self, store) -> list[str]:
        ids = [d.id for d in store.documents]
        assert len(ids) >= 2, "the contract needs a store of two reports or more"
        return ids

    def test_catalogue_is_consistent(self, store, docs):
        assert len(set(docs)) == len(docs)
        assert {u.doc_id for u in store.units} <= set(docs)
        for doc_id in docs:
            assert store.document(doc_id).id == doc_id
        assert store.document("no-such-report") is None

    def test_dense_candidates_are_positions_best_first(self, store, vector_of):
        for q in QUESTIONS:
            c = store.dense_candidates(vector_of(q), 10)
            assert 0 < len(c) <= 10 and c.ids.dtype == np.int64
            assert all(0 <= i < len(store.units) for i in c.ids.tolist())
            assert len(set(c.ids.tolist())) == len(c)
            assert np.all(np.diff(c.scores) <= 1e-6)

    def test_bm25_candidates_are_positions_best_first(self, store):
        for q in QUESTIONS[:2]:
            c = store.bm25_candidates(q, 10)
            assert 0 < len(c) <= 10
            assert all(0 <= i < len(store.units) for i in c.ids.tolist())
            assert np.all(np.diff(c.scores) <= 1e-6)

    def test_the_report_filter_runs_inside_the_search(self, store, docs, vector_of):
        vec = vector_of(QUESTIONS[0])
        for doc_id in docs:
            for c in (store.dense_candidates(vec, 5, doc_ids={doc_id}), store.bm25_candidates(QUESTIONS[0], 5,
                                                                                              doc_ids={doc_id})):
                assert len(c) > 0, doc_id  # k from that report, not the top k of all filtered afterwards
                assert {store.units[i].doc_id for i in c.ids.tolist()} == {doc_id}

    def test_an_empty_or_unknown_filter_finds_nothing(self, store, vector_of):
        vec = vector_of(QUESTIONS[0])
        for doc_ids in ([], ["no-such-report"]):
            assert len(store.dense_candidates(vec, 5, doc_ids=doc_ids)) == 0
            assert len(store.bm25_candidates(QUESTIONS[0], 5, doc_ids=doc_ids)) == 0

    def test_describe_names_the_engine_and_check_passes(self, store):
        info = store.describe()
        assert info["store"] == store.name
        assert not any("token" in k.lower() and v for k, v in info.items())
        store.check()
