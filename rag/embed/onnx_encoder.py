"""The built-in model on ONNX Runtime: a lean query/passage encoder that needs neither torch
nor sentence-transformers at serving time.

The query encode is most of an answer, and torch is most of a serving process's memory and
start-up. ``export_onnx`` (run once by the model build, with torch) writes an fp32 graph, traced
with eager attention and fused by ONNX Runtime's BERT optimizer, and checks it against
sentence-transformers (it matches to ~2e-7). ``OnnxEncoder`` then runs
that graph with the model's own fast tokenizer (``tokenizer.json``), the same prompts and
truncation as sentence-transformers, mean pooling and L2 normalisation in numpy.
``quantize_int8`` (``onnx_quantize="int8"``) derives an int8 graph from that one, checked against it:
the batched passage encode runs 2.5-3x faster, at a cosine of ~0.997 to fp32 (docs/scaling.md).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.core.paths import DATA_DIR

#: Bump when the exported graph or its check changes, so existing exports are redone.
EXPORT_FORMAT = 2
EXPORT_DIR = "onnx"
EXPORT_INFO = "export-info.json"
GRAPH = "model.onnx"
#: The word-embedding table (float32 rows, vocabulary × hidden), read by row at run time; see ``OnnxEncoder``.
EMBEDDINGS = "word_embeddings.f32"
_TABLE_INPUT = "word_embeddings"
MIN_COSINE = 0.9999  # below this the export is not trusted and the torch encoder serves instead
#: ``onnx_quantize`` choices. int8: the fp32 graph's weights quantised per output channel (activations per
#: batch at run time), 2.5-3x the fp32 batched encode on 2 cores; its vectors differ a little (docs/scaling.md).
QUANTIZATIONS = ("none", "int8")
#: Bump when the int8 graph or its check changes, so existing ones are redone.
INT8_FORMAT = 1
INT8_GRAPH = "model.int8.onnx"  # beside the fp32 graph: redoing the export (a new folder) drops it too
INT8_INFO = "int8-info.json"
#: An index's model id carries this when the int8 graph embedded it: its vectors are not the fp32 graph's.
INT8_SUFFIX = "+int8"
MIN_COSINE_INT8 = 0.99  # against the fp32 graph on check_texts(); below it the fp32 graph serves instead
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_CHECK_TEXTS = DATA_DIR / "encoder_check.txt"


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def wanted_export_info() -> dict[str, Any]:
    """What an export must have been made with to be reused: a different torch, exporter or
    runtime may export or run the graph differently, so any change redoes export and check."""
    return {"format": EXPORT_FORMAT, "torch": _version("torch"), "onnx": _version("onnx"),
            "onnxruntime": _version("onnxruntime")}


def read_export_info(folder: Path, name: str = EXPORT_INFO) -> dict[str, Any] | None:
    """The record an export (or, with ``name=INT8_INFO``, its int8 graph) left; None when absent or unreadable."""
    try:
        return json.loads((Path(folder) / EXPORT_DIR / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def export_is_current(folder: Path) -> bool:
    """True when the folder holds an export (passed or failed) made with today's versions;
    a failed one is not retried on every start, only when a version changes."""
    info = read_export_info(folder)
    return info is not None and all(info.get(k) == v for k, v in wanted_export_info().items())


def export_passed(folder: Path) -> bool:
    info = read_export_info(folder)
    export = Path(folder) / EXPORT_DIR
    return bool(info and info.get("passed") and (export / GRAPH).is_file() and (export / EMBEDDINGS).is_file())


# ---------------------------------------------------------------------------------- encoder


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


class OnnxEncoder:
    """Encodes like ``SentenceTransformer.encode`` for a Transformer → mean Pooling → Normalize
    folder, with the subset of its interface the ``Embedder`` uses (``prompts``, ``encode``,
    ``get_embedding_dimension``), so both encoders sit behind the same gate and cache."""

    def __init__(self, folder: Path, *, threads: int = 1, spin_us: int = 0, pin_to: Sequence[int] | None = None,
                 graph: Path | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = _read_json(folder / "config.json")
        st_config = _read_json(folder / "sentence_bert_config.json")
        self.prompts: dict[str, str] = _read_json(folder / "config_sentence_transformers.json").get("prompts", {})
        self.max_seq_length = int(st_config.get("max_seq_length") or config["max_position_embeddings"])
        self._dim = int(config["hidden_size"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        pad_id = int(config.get("pad_token_id") or 0)
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token=self.tokenizer.id_to_token(pad_id) or "<pad>")
        options = ort.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        # Helper threads that sleep between the ops of one encode are woken ~90 times per encode, and
        # on a VM each wake-up costs more than the op (2 threads: 6.7 ms a query, spinning 100 µs: 5.8).
        # Unbounded spinning, ORT's default, made each op wait for a thread that is not running when
        # another process holds the other core (2x slower); a short bound caps that cost.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin_us > 0 else "0")
        if spin_us > 0:
            options.add_session_config_entry("session.intra_op.spin_duration_us", str(spin_us))
            options.add_session_config_entry("session.force_spinning_stop", "1")  # nothing spins between encodes
        # Pinned (``pin_to``: the CPUs it owns): helper threads keep the last ones, and a question's thread
        # takes the others while it encodes. The kernel wakes a thread on the CPU of the thread that woke
        # it, so after a pause the question's thread often landed on a helper's CPU and the two shared
        # it: 10-11 ms a query instead of 4.7 back to back; pinned, 5.5 after a pause.
        self._pinned: tuple[set[int], set[int]] | None = None
        if pin_to and threads > 1 and len(pin_to) >= threads and hasattr(os, "sched_setaffinity"):  # Linux
            helpers = list(pin_to)[-(threads - 1):]
            options.add_session_config_entry("session.intra_op_thread_affinities",
                                             ";".join(str(c + 1) for c in helpers))
            self._pinned = set(pin_to) - set(helpers), set(os.sched_getaffinity(0))
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        graph = Path(graph or folder / EXPORT_DIR / GRAPH)
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self.session.get_inputs()]
        # The table is 384 MB of a 470 MB model, and a question uses a few dozen of its 250,000 rows.
        # Mapped, each row touched made a large page-cache folio resident (~0.7 MB a new token: 400 MB
        # of RSS after the dev set); read with pread, the rows stay in the page cache, shared by workers.
        self._table = open(graph.with_name(EMBEDDINGS), "rb", buffering=0)  # noqa: SIM115 (lives with the encoder)
        self._row_bytes = self._dim * 4

    def get_embedding_dimension(self) -> int:
        return self._dim

    def encode(self, texts: list[str], *, prompt_name: str | None = None, prompt: str | None = None,
               batch_size: int = 32, show_progress_bar: bool = False, **_: Any) -> np.ndarray:
        """L2-normalised mean-pooled embeddings, float32, one row per text in input order.
        Texts are batched longest first (as sentence-transformers does), so padding stays short."""
        prefix = prompt if prompt is not None else self.prompts.get(prompt_name or "", "")
        if not texts:
            return np.zeros((0, self._dim), np.float32)
        full = [prefix + t for t in texts]
        order = np.argsort([-len(t) for t in full], kind="stable")
        out = np.empty((len(full), self._dim), np.float32)
        starts: Iterable[int] = range(0, len(full), batch_size)
        if show_progress_bar:
            from tqdm import tqdm

            starts = tqdm(starts, desc="encoding", unit="batch")
        for start in starts:
            idx = order[start : start + batch_size]
            out[idx] = self._encode_batch([full[i] for i in idx])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], np.int64),
        }
        # the graph looks tokens up in the rows it is given: the batch's own, renumbered
        used, inverse = np.unique(feed["input_ids"], return_inverse=True)
        feed["input_ids"] = inverse.reshape(feed["input_ids"].shape)
        feed[_TABLE_INPUT] = self._rows(used)
        hidden = self._run({name: feed[name] for name in self._inputs})
        mask = feed["attention_mask"][:, :, None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        if self._pinned is None:
            return self.session.run(None, feed)[0]
        mine, everywhere = self._pinned
        os.sched_setaffinity(0, mine)  # this thread only; other Python threads keep every CPU
        try:
            return self.session.run(None, feed)[0]
        finally:
            os.sched_setaffinity(0, everywhere)

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        size = self._row_bytes
        fd = self._table.fileno()
        data = b"".join(os.pread(fd, size, int(i) * size) for i in ids)
        if len(data) != size * len(ids):
            raise ValueError(f"{EMBEDDINGS} is shorter than the vocabulary: the export is damaged")
        return np.frombuffer(data, "<f4").reshape(len(ids), self._dim)


# ----------------------------------------------------------------------------------- export


def check_texts() -> list[tuple[str, str]]:
    """The fidelity check's 200 (prompt name, text) pairs: the 98 lines of ``rag/data/encoder_check.txt``
    (report prose, figures, full-width and rare punctuation, English, stray spaces) plus two texts
    far beyond the model's window, so truncation is checked too; each as a query and as a passage."""
    lines = [ln for ln in _CHECK_TEXTS.read_text(encoding="utf-8").splitlines() if ln.strip()]
    long_text = "".join(lines)
    lines += [long_text, long_text * 2]
    return [(name, text) for name in ("query", "passage") for text in lines]


def _export_graph(folder: Path, out: Path) -> None:
    """TorchScript export of the model with eager attention, then ONNX Runtime's BERT fusions.

    The fused graph runs each layer's attention as one ``Attention`` op (and ``SkipLayerNormalization``,
    ``BiasGelu``, ``EmbedLayerNormalization``): 88 nodes against the torch.export graph's 537,
    whose unfused attention ORT does not recognise. Measured on the dev questions: 8.6 ms a query
    on one thread against 9.5, 4.9 against 5.8 on two. Eager attention is what makes the trace
    exact: the traced SDPA path gave a lossy graph (cosine 0.984 against torch)."""
    import warnings

    import torch
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions
    from tokenizers import Tokenizer
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager").eval()

    class LastHidden(torch.nn.Module):
        """Returns ``last_hidden_state`` only; pooling and normalisation stay outside the graph."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.enable_padding(pad_id=int(model.config.pad_token_id or 0))
    sample = tok.encode_batch(["query: 今年经济增长的预期目标是多少？", "passage: 城镇新增就业6万人以上。"])
    args = tuple(torch.tensor([getattr(e, a) for e in sample], dtype=torch.long)
                 for a in ("ids", "attention_mask", "type_ids"))
    axes = {name: {0: "batch", 1: "sequence"} for name in (*_INPUTS, "last_hidden_state")}
    with tempfile.TemporaryDirectory(dir=out) as raw, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python conditionals of the mask code
        traced = Path(raw) / GRAPH
        torch.onnx.export(LastHidden(model).eval(), args, str(traced), dynamo=False, opset_version=17,
                          input_names=list(_INPUTS), output_names=["last_hidden_state"], dynamic_axes=axes)
        fused = optimizer.optimize_model(str(traced), model_type="bert", opt_level=0, use_gpu=False,
                                         num_heads=model.config.num_attention_heads,
                                         hidden_size=model.config.hidden_size,
                                         optimization_options=FusionOptions("bert"))
        _lift_word_embeddings(fused.model, out / EMBEDDINGS)
        fused.save_model_to_file(str(out / GRAPH), use_external_data_format=True)


def _lift_word_embeddings(model: Any, path: Path) -> None:
    """Write the fused embedding node's word table to ``path`` and make it a graph input, which
    ``OnnxEncoder`` fills with the rows of each batch's tokens."""
    from onnx import TensorProto, helper, numpy_helper

    node = next((n for n in model.graph.node if n.op_type == "EmbedLayerNormalization"), None)
    if node is None:
        raise ValueError("ONNX Runtime's BERT fusions found no embedding layer to fuse")
    table = next(t for t in model.graph.initializer if t.name == node.input[2])
    rows = numpy_helper.to_array(table).astype("<f4")
    rows.tofile(path)
    model.graph.initializer.remove(table)
    model.graph.input.append(helper.make_tensor_value_info(_TABLE_INPUT, TensorProto.FLOAT, ["rows", rows.shape[1]]))
    node.input[2] = _TABLE_INPUT


def verify_export(folder: Path, graph: Path | None = None, threads: int = 1) -> float:
    """Minimum cosine between the ONNX encoder and sentence-transformers on ``check_texts()``."""
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    return _worst_cosine(OnnxEncoder(folder, threads=threads, graph=graph), reference)


def _worst_cosine(ours: OnnxEncoder, reference: Any) -> float:
    """Minimum cosine of ``ours`` against ``reference`` (anything with ``encode``) on ``check_texts()``."""
    worst = 1.0
    for name in ("query", "passage"):
        texts = [t for n, t in check_texts() if n == name]
        a = ours.encode(texts, prompt_name=name, batch_size=16)
        b = reference.encode(texts, prompt_name=name, batch_size=16, convert_to_numpy=True, normalize_embeddings=True)
        worst = min(worst, float((a * b).sum(axis=1).min()))
    return worst


def export_onnx(folder: Path) -> dict[str, Any]:
    """Export and check the graph into ``folder/onnx`` (atomically: a temp dir renamed into place)
    and return its export info. A failed export or check is recorded too (``passed: false``,
    with why), so that every later start falls back to torch at once instead of exporting again."""
    folder = Path(folder)
    info: dict[str, Any] = {**wanted_export_info(), "threshold": MIN_COSINE, "texts": len(check_texts()),
                            "exporter": "torch.onnx.export(dynamo=False), eager attention",
                            "fusions": "onnxruntime.transformers bert", "precision": "fp32"}
    tmp = Path(tempfile.mkdtemp(prefix=f".{EXPORT_DIR}.tmp-{os.getpid()}-", dir=folder))
    try:
        try:
            _export_graph(folder, tmp)
            info["min_cosine"] = round(verify_export(folder, tmp / GRAPH), 7)
            info["passed"] = info["min_cosine"] >= MIN_COSINE
        except ImportError:
            raise  # a missing package is this machine's state, not the model's: do not record it
        except Exception as exc:  # recorded, so the fallback is immediate next time
            info.update(passed=False, error=f"{type(exc).__name__}: {exc}"[:500])
        (tmp / EXPORT_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        for path in (tmp, *tmp.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)  # the cache may be shared
        _swap(tmp, folder / EXPORT_DIR)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return info


def _swap(tmp: Path, target: Path) -> None:
    """Rename into place; a concurrent export that finished first wins, an outdated one is replaced."""
    if target.exists():
        if export_is_current(target.parent):
            return
        old = target.with_name(f".{EXPORT_DIR}.tmp-{os.getpid()}-old")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(target, old)
        shutil.rmtree(old, ignore_errors=True)
    try:
        os.rename(tmp, target)
    except OSError:
        if not target.exists():
            raise


# ------------------------------------------------------------------------------------- int8


def wanted_int8_info() -> dict[str, Any]:
    """What an int8 graph must have been made with to be reused (the fp32 graph it comes from is
    the one beside it: a new export replaces the whole folder)."""
    return {"int8_format": INT8_FORMAT, "onnxruntime": _version("onnxruntime")}


def read_int8_info(folder: Path) -> dict[str, Any] | None:
    return read_export_info(folder, INT8_INFO)


def int8_is_current(folder: Path) -> bool:
    """True when an int8 graph was made (passed or failed) beside today's export with today's runtime."""
    info = read_int8_info(folder)
    return info is not None and all(info.get(k) == v for k, v in wanted_int8_info().items())


def int8_passed(folder: Path) -> bool:
    info = read_int8_info(folder)
    graph = Path(folder) / EXPORT_DIR / INT8_GRAPH
    return bool(export_passed(folder) and info and info.get("passed") and graph.is_file())


def quantize_int8(folder: Path) -> dict[str, Any]:
    """Quantise the fp32 export's graph to int8 beside it, check it against the fp32 graph (not
    torch: a serving process can make it) and return its info, recorded passed or failed like the
    export's. The word-embedding table stays the fp32 rows the encoder reads per batch."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    export = Path(folder) / EXPORT_DIR
    info: dict[str, Any] = {**wanted_int8_info(), "threshold": MIN_COSINE_INT8, "texts": len(check_texts()),
                            "quantizer": "onnxruntime.quantization.quantize_dynamic",
                            "weights": "QInt8, per channel", "activations": "QUInt8, per batch", "precision": "int8"}
    tmp = export / f".{INT8_GRAPH}.tmp-{os.getpid()}"  # beside the table the check's encoder reads
    try:
        try:
            quantize_dynamic(str(export / GRAPH), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": TensorProto.FLOAT})  # types of the fused ops' outputs
            reference = OnnxEncoder(folder, threads=1)
            info["min_cosine"] = round(_worst_cosine(OnnxEncoder(folder, threads=1, graph=tmp), reference), 5)
            info["passed"] = info["min_cosine"] >= MIN_COSINE_INT8
            if info["passed"]:
                tmp.chmod(0o644)  # the cache may be shared
                os.replace(tmp, export / INT8_GRAPH)
        except ImportError:
            raise
        except Exception as exc:  # recorded, so the fp32 graph serves at once next time
            info.update(passed=False, error=f"{type(exc).__name__}: {exc}"[:500])
        written = export / f".{INT8_INFO}.tmp-{os.getpid()}"
        written.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        written.chmod(0o644)
        os.replace(written, export / INT8_INFO)  # last: a reader sees a graph only with its record
    finally:
        tmp.unlink(missing_ok=True)
    return info
