"""The int8 graph (``onnx_quantize="int8"``): made once from the fp32 export and checked against it,
used only when that check passed, and recorded in the index so that an index embedded by one graph
is never searched with queries from the other. Its speed is measured by ``rag bench``, not here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.core.settings import Settings
from rag.embed import onnx_encoder
from rag.embed.embedder import Embedder, ModelLoadError, build_builtin_model
from rag.embed.plan import EncoderPlan
from rag.pipeline import build_index, open_index
from rag.stores.index import IndexUnavailable, read_manifest


@pytest.fixture(scope="module")
def models_dir() -> Path:
    return Settings().models_dir


@pytest.fixture(scope="module")
def built(models_dir: Path) -> Path:
    """The model cache with its int8 graph, made here when absent (seconds; nothing is downloaded)."""
    return build_builtin_model(models_dir, progress=False, int8=True)


@pytest.fixture(scope="module")
def int8(built: Path, models_dir: Path) -> Embedder:
    return Embedder(EncoderPlan(models_dir=models_dir, onnx_quantize="int8"))


def test_int8_graph_was_checked_against_fp32_and_stamped(built: Path, monkeypatch) -> None:
    info = onnx_encoder.read_int8_info(built)
    assert info is not None and info["passed"] is True and info["min_cosine"] >= onnx_encoder.MIN_COSINE_INT8
    assert info["texts"] == len(onnx_encoder.check_texts())
    assert {k: info[k] for k in onnx_encoder.wanted_int8_info()} == onnx_encoder.wanted_int8_info()
    assert onnx_encoder.int8_passed(built) and (built / onnx_encoder.EXPORT_DIR / onnx_encoder.INT8_GRAPH).is_file()
    calls: list[Path] = []
    monkeypatch.setattr(onnx_encoder, "quantize_int8", lambda folder: calls.append(folder) or {})
    build_builtin_model(built.parent, progress=False, int8=True)
    assert calls == []  # a current int8 graph is not made again


def test_int8_vectors_agree_with_fp32_on_the_check_texts(built: Path) -> None:
    fp32 = onnx_encoder.OnnxEncoder(built, threads=1)
    int8 = onnx_encoder.OnnxEncoder(built, threads=1, graph=built / onnx_encoder.EXPORT_DIR / onnx_encoder.INT8_GRAPH)
    for name in ("query", "passage"):
        texts = [t for n, t in onnx_encoder.check_texts() if n == name]
        a, b = int8.encode(texts, prompt_name=name), fp32.encode(texts, prompt_name=name)
        cosines = (a * b).sum(axis=1)
        assert cosines.min() >= 0.99, (name, texts[int(cosines.argmin())])
        assert not np.array_equal(a, b)  # the int8 graph really ran
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_embedder_names_the_graph_it_serves(int8: Embedder, built: Path, models_dir: Path) -> None:
    fp32 = Embedder(EncoderPlan(models_dir=models_dir))
    assert int8.encoder == "onnx"
    assert int8.encoder_id == f"onnx-int8/{onnx_encoder.EXPORT_FORMAT}.{onnx_encoder.INT8_FORMAT}"
    assert int8.model_id == fp32.model_id + onnx_encoder.INT8_SUFFIX
    assert fp32.encoder_id == f"onnx-fp32/{onnx_encoder.EXPORT_FORMAT}"
    assert "int8 (min cosine to fp32" in int8.planned_encoder
    torch = Embedder(EncoderPlan(models_dir=models_dir, encoder="torch", onnx_quantize="int8"))
    assert torch.model_id == fp32.model_id  # quantisation is a choice of the ONNX graph only


def test_setting_reaches_the_embedder_and_bad_values_are_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RAG_ONNX_QUANTIZE", "int8")
    assert Settings().onnx_quantize == "int8"
    assert Embedder.from_settings(Settings(cache_dir=tmp_path)).plan.int8 is True
    with pytest.raises(ModelLoadError, match="未知量化方式.*Unknown ONNX quantisation"):
        Embedder(EncoderPlan(models_dir=tmp_path, onnx_quantize="int4"))


def test_failed_int8_check_falls_back_to_fp32_with_a_warning(built: Path, tmp_path: Path) -> None:
    folder = tmp_path / built.name
    folder.mkdir()
    for item in built.iterdir():
        if item.name != onnx_encoder.EXPORT_DIR and not item.name.startswith("."):
            (folder / item.name).symlink_to(item)
    export = folder / onnx_encoder.EXPORT_DIR
    export.mkdir()
    for item in (built / onnx_encoder.EXPORT_DIR).iterdir():
        if item.name not in (onnx_encoder.INT8_GRAPH, onnx_encoder.INT8_INFO):
            (export / item.name).symlink_to(item)
    failed = {**onnx_encoder.wanted_int8_info(), "passed": False, "min_cosine": 0.95}
    (export / onnx_encoder.INT8_INFO).write_text(json.dumps(failed))
    emb = Embedder(EncoderPlan(models_dir=tmp_path, onnx_quantize="int8"))
    assert emb.planned_encoder.endswith("fp32 (the int8 graph failed its check: 0.95)")
    with pytest.warns(UserWarning, match="int8.*0.95.*fp32"):
        assert emb.encoder_id == f"onnx-fp32/{onnx_encoder.EXPORT_FORMAT}"
    assert not emb.model_id.endswith(onnx_encoder.INT8_SUFFIX)  # the index will say fp32, as it is


def test_an_index_is_not_searched_with_the_other_graph(settings: Settings, int8: Embedder, tmp_path: Path) -> None:
    conf = settings.model_copy(update={"index_dir": tmp_path / "index", "onnx_quantize": "int8", "auto_rebuild": False})
    build_index(conf, int8, progress=False)
    manifest = read_manifest(conf.index_dir)
    assert manifest.model_id == int8.model_id and manifest.versions["encoder"] == int8.encoder_id
    assert open_index(conf, int8, progress=False).manifest.model_id == int8.model_id  # same graph: it serves
    fp32 = Embedder.from_settings(conf.model_copy(update={"onnx_quantize": "none"}))
    with pytest.raises(IndexUnavailable) as caught:
        open_index(conf.model_copy(update={"onnx_quantize": "none"}), fp32, progress=False)
    message = str(caught.value)
    assert "索引向量由 int8 编码图生成" in message and "embedded by the int8 graph and the configured graph is fp32" in message
    assert "RAG_ONNX_QUANTIZE" in message and "rag index" in message
    shutil.rmtree(conf.index_dir)
