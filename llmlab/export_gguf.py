"""Export the bundled models as GGUF files, and check that the round trip is exact.

GGUF is the single-file format of llama.cpp, Ollama and LM Studio. This recipe writes one
with the ``gguf`` package's :class:`gguf.GGUFWriter`, the way llama.cpp's
``convert_hf_to_gguf.py`` lays out a Llama:

* architecture ``llama`` for both bundled models (llama.cpp stores a Mistral without a sliding
  window as a Llama: the two compute the same function); the query and key projections are
  permuted into llama.cpp's rotary layout (transformers undoes this on load);
* the tokenizer as a ``gpt2`` (byte-level BPE) vocabulary with its merges and GPT-2's
  pre-tokenizer (``tokenizer.ggml.pre = "gpt-2"``), which is exactly the bundled tokenizers'
  ``ByteLevel`` pre-tokenizer (GPT-2's regex, no prefix space). llama.cpp's own converter
  refuses these tokenizers as an unknown pre-tokenizer, hence the direct writer. ``<s>`` is
  added first (``add_bos_token``), as ``tokenizer.json`` does;
* weights as ``f32`` (exact) or ``q8_0`` (blocks of 32 int8 values and one float16 scale; the
  one-dimensional norms stay ``f32``, as llama.cpp does).

Run it as a module::

    python -m llmlab.export_gguf --model tiny-llama --type f32 --type q8_0 --out DIR

It prints the file sizes and, with ``--check`` (the default), the round trip measured on the
files just written: the number of texts of the whole docs test split and spam test split whose
GGUF token ids differ from ``tokenizer.json``'s (must be 0), the docs-test perplexity of each
file next to the safetensors model's (f32 must agree within 1e-5 relative), and the ratio of
each quantized file's perplexity to the f32 file's.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["GGUF_TYPES", "LLAMACPP_TYPES", "check_round_trip", "export_gguf", "main",
           "quantize_with_llamacpp"]

#: Weight types the recipe writes, and the GGUF ``general.file_type`` each one declares.
GGUF_TYPES = {"f32": 0, "q8_0": 7}

#: Types llama.cpp's own quantizer writes from an f32 file (needs ``llmlab[llamacpp]``): the
#: k-quants people download, which the ``gguf`` package cannot write. Value: llama_ftype.
LLAMACPP_TYPES = {"q4_K_M": 15, "q5_K_M": 17, "q6_K": 18}

#: Quantized types need every row to be a whole number of blocks of this many values.
_Q8_0_BLOCK = 32


def _check_type(kind):
    if kind not in GGUF_TYPES:
        raise ValueError(f"type={kind!r} is not supported; use one of {', '.join(GGUF_TYPES)}")


def _permute(weights, n_head, n_head_kv):
    """llama.cpp's rotary layout for q/k projections (as its converter's ``permute``)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    rows = weights.shape[0]
    return (
        weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _tokenizer_tables(tokenizer):
    """Tokens (by id), their GGUF types, merges, and special ids of a byte-level BPE tokenizer."""
    import json

    import gguf

    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    model = backend["model"]
    pre = backend.get("pre_tokenizer") or {}
    gpt2_pre = (
        pre.get("type") == "ByteLevel"
        and not pre.get("add_prefix_space")
        and pre.get("use_regex", True)
    )
    if model.get("type") != "BPE" or not gpt2_pre:
        raise ValueError(
            f"only byte-level BPE tokenizers with GPT-2's pre-tokenizer can be exported (got "
            f"model {model.get('type')!r}, pre-tokenizer {pre}); the bundled models have one"
        )
    if backend.get("normalizer") is not None:
        raise ValueError(
            "a tokenizer with a normalizer cannot be written as a gpt2 GGUF vocabulary"
        )
    vocab = dict(model["vocab"])
    for added in backend.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
    size = len(vocab)
    if sorted(vocab.values()) != list(range(size)):
        raise ValueError("the tokenizer's ids are not 0..n-1 without gaps")
    tokens = [""] * size
    for token, index in vocab.items():
        tokens[index] = token
    special = {a["id"] for a in backend.get("added_tokens", []) if a.get("special")}
    types = [
        int(gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL) for i in range(size)
    ]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return tokens, types, merges


def _adds_bos_eos(tokenizer):
    """Whether encoding adds BOS first / EOS last, read from what the tokenizer does.

    ``tokenizer.add_bos_token`` is not reliable: the bundled tokenizers add ``<s>`` through
    their ``tokenizer.json`` post-processor while that attribute says False.
    """
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    add_bos = bos is not None and len(full) > len(plain) and full[0] == bos
    add_eos = eos is not None and len(full) > len(plain) and full[-1] == eos
    if len(full) - len(plain) != int(add_bos) + int(add_eos):
        raise ValueError("the tokenizer adds special tokens other than BOS/EOS; cannot export")
    return add_bos, add_eos


def _config_checks(config):
    if config.model_type not in ("llama", "mistral"):
        raise ValueError(
            f"model_type={config.model_type!r} cannot be exported; use a 'llama' or 'mistral' model"
        )
    window = getattr(config, "sliding_window", None)
    if window is not None and window < config.max_position_embeddings:
        raise ValueError(
            f"sliding_window={window} is shorter than the context; a GGUF 'llama' has no window"
        )
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        raise ValueError("attention or MLP biases cannot be exported as a GGUF 'llama'")


def export_gguf(model="tiny-llama", out_dir=".", *, kind="f32", name=None):
    """Write one GGUF file of a bundled model (or a local Llama/Mistral folder).

    Parameters
    ----------
    model : str or os.PathLike, default="tiny-llama"
        A bundled model name or a local folder saved with ``save_pretrained``.
    out_dir : str or os.PathLike, default="."
        Folder to write into (created if missing).
    kind : {"f32", "q8_0"}, default="f32"
        Weight type of the matrices.
    name : str, optional
        ``general.name`` written in the file; defaults to the model folder's name.

    Returns
    -------
    pathlib.Path
        The file written, ``<out_dir>/<name>-<kind>.gguf``.

    Examples
    --------
    >>> from llmlab.export_gguf import export_gguf
    >>> path = export_gguf("tiny-llama", "/tmp/gguf", kind="q8_0")  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'tiny-llama-q8_0.gguf'
    """
    import gguf
    import torch

    from llmlab.loaders import load_model, load_tokenizer, resolve_model_path

    _check_type(kind)
    folder = Path(resolve_model_path(model))
    if not folder.is_dir():
        raise ValueError(
            f"model={os.fspath(model)!r} is already a GGUF file; export takes a bundled model "
            f"name or a Hugging Face model folder"
        )
    hf_model = load_model(str(folder))
    tokenizer = load_tokenizer(str(folder))
    config = hf_model.config
    _config_checks(config)
    name = name or folder.name
    qtype = gguf.GGMLQuantizationType.Q8_0 if kind == "q8_0" else gguf.GGMLQuantizationType.F32
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{kind}.gguf"

    tokens, types, merges = _tokenizer_tables(tokenizer)
    if len(tokens) != config.vocab_size:
        raise ValueError(f"tokenizer has {len(tokens)} tokens, the model {config.vocab_size}")
    writer = gguf.GGUFWriter(str(path), "llama")
    _write_hparams(writer, config, name=name, kind=kind)
    _write_tokenizer(writer, tokenizer, tokens, types, merges)
    state = {k: v.detach().to(torch.float32).numpy() for k, v in hf_model.state_dict().items()}
    _write_tensors(writer, _gguf_tensors(state, config), qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _head_dims(config):
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head
    return n_head, n_kv, head_dim


def _write_hparams(writer, config, *, name, kind):
    import gguf

    n_head, n_kv, head_dim = _head_dims(config)
    rope = getattr(config, "rope_parameters", None) or {}
    if rope.get("rope_type", "default") != "default":
        raise ValueError(f"rope_type={rope.get('rope_type')!r} is not exported; only 'default'")
    theta = rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))
    writer.add_name(name)
    writer.add_description(f"{name} exported by llmlab.export_gguf ({kind})")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(float(theta))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_vocab_size(config.vocab_size)
    writer.add_file_type(GGUF_TYPES[kind])
    if kind != "f32":
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


def _write_tokenizer(writer, tokenizer, tokens, types, merges):
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    for key, setter in (
        ("bos_token_id", writer.add_bos_token_id),
        ("eos_token_id", writer.add_eos_token_id),
        ("pad_token_id", writer.add_pad_token_id),
        ("unk_token_id", writer.add_unk_token_id),
    ):
        value = getattr(tokenizer, key, None)
        if value is not None:
            setter(int(value))
    add_bos, add_eos = _adds_bos_eos(tokenizer)
    writer.add_add_bos_token(add_bos)
    if getattr(tokenizer, "chat_template", None):  # an instruct model's template travels along
        writer.add_chat_template(tokenizer.chat_template)
    writer.add_add_eos_token(add_eos)


# Hugging Face Llama module names -> llama.cpp's tensor names, per layer.
_RENAMES = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def _gguf_tensors(state, config):
    """(GGUF name, float32 array) in llama.cpp's order; q and k rows permuted to its rope."""
    n_head, n_kv, _ = _head_dims(config)
    tensors = [("token_embd.weight", state["model.embed_tokens.weight"])]
    for i in range(config.num_hidden_layers):
        for hf, gg in _RENAMES.items():
            w = state[f"model.layers.{i}.{hf}.weight"]
            if gg == "attn_q":
                w = _permute(w, n_head, n_head)
            elif gg == "attn_k":
                w = _permute(w, n_head, n_kv)
            tensors.append((f"blk.{i}.{gg}.weight", w))
    tensors.append(("output_norm.weight", state["model.norm.weight"]))
    if not getattr(config, "tie_word_embeddings", False):
        tensors.append(("output.weight", state["lm_head.weight"]))
    return tensors


def _write_tensors(writer, tensors, qtype):
    import gguf
    import numpy as np

    for tensor_name, w in tensors:
        w = np.ascontiguousarray(w, dtype=np.float32)
        if qtype == gguf.GGMLQuantizationType.F32 or w.ndim == 1:
            writer.add_tensor(tensor_name, w)
            continue
        if w.shape[-1] % _Q8_0_BLOCK:
            raise ValueError(
                f"{tensor_name} has rows of {w.shape[-1]} values, not a multiple of {_Q8_0_BLOCK}"
            )
        writer.add_tensor(tensor_name, gguf.quants.quantize(w, qtype), raw_dtype=qtype)


def quantize_with_llamacpp(f32_path, out_path, kind="q4_K_M"):
    """Quantize an f32 GGUF file with llama.cpp's own quantizer (``llama_model_quantize``).

    This is what ``llama-quantize`` does; rows that are not a whole number of k-quant blocks
    (256 values) get llama.cpp's fallback type for that tensor, as with any model.
    """
    if kind not in LLAMACPP_TYPES:
        raise ValueError(f"kind={kind!r} is not one of {sorted(LLAMACPP_TYPES)}")
    import ctypes

    from llmlab.backends.llamacpp import require_llama_cpp

    llama_cpp = require_llama_cpp()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = LLAMACPP_TYPES[kind]
    params.nthread = 0
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    code = llama_cpp.llama_model_quantize(
        os.fsencode(f32_path), os.fsencode(out_path), ctypes.byref(params))
    if code != 0:
        raise RuntimeError(f"llama.cpp could not quantize {f32_path} to {kind} (code {code})")
    return out_path


def _mismatches(reference, other, texts):
    ref = reference(texts)["input_ids"]
    got = other(texts)["input_ids"]
    return sum(1 for a, b in zip(ref, got) if list(a) != list(b))


def check_round_trip(model, paths, *, out=None):
    """Measure a model's GGUF files against the safetensors model and ``tokenizer.json``.

    Parameters
    ----------
    model : str
        The bundled model (or folder) the files were exported from.
    paths : dict of {str: path}
        ``{kind: gguf_path}``; ``"f32"`` is the reference for the others' ratios.
    out : file-like, optional
        Where to print the figures (default: standard output).

    Returns
    -------
    dict
        ``{"tokenizer_mismatches": {split: n}, "perplexity": {"safetensors": p, kind: p},
        "rel_diff_f32": r, "ratio_to_f32": {kind: r}}``.
    """
    from llmlab import datasets
    from llmlab.loaders import load_model, load_tokenizer
    from llmlab.perplexity import perplexity

    out = out or sys.stdout
    reference = load_tokenizer(model)
    texts = {
        "docs test": datasets.load_docs("test"),
        "spam test": datasets.load_spam("test")[0],
    }
    result = {"tokenizer_mismatches": {}, "perplexity": {}, "ratio_to_f32": {}}
    for kind, path in paths.items():
        tok = load_tokenizer(path)
        for split, split_texts in texts.items():
            n = _mismatches(reference, tok, split_texts)
            result["tokenizer_mismatches"][f"{kind} {split}"] = n
            print(
                f"{kind}: {n} of {len(split_texts)} {split} texts tokenize differently from "
                f"tokenizer.json",
                file=out,
            )
    docs = texts["docs test"]
    base = perplexity(load_model(model), reference, docs).perplexity
    result["perplexity"]["safetensors"] = base
    print(f"docs test perplexity, safetensors: {base:.6f}", file=out)
    for kind, path in paths.items():
        ppl = perplexity(load_model(path), load_tokenizer(path), docs).perplexity
        result["perplexity"][kind] = ppl
        print(f"docs test perplexity, {kind} GGUF: {ppl:.6f}", file=out)
    if "f32" in result["perplexity"]:
        f32 = result["perplexity"]["f32"]
        rel = abs(f32 - base) / base
        result["rel_diff_f32"] = rel
        print(f"f32 GGUF vs safetensors: relative difference {rel:.2e} (must be <= 1e-5)", file=out)
        for kind in paths:
            if kind != "f32":
                ratio = result["perplexity"][kind] / f32
                result["ratio_to_f32"][kind] = ratio
                print(f"{kind} / f32 perplexity ratio: {ratio:.5f}", file=out)
    return result


def main(argv=None):
    """Command line: ``python -m llmlab.export_gguf --model NAME --type T --out DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m llmlab.export_gguf",
        description="Write GGUF files of a bundled model and measure the round trip.",
    )
    parser.add_argument("--model", default="tiny-llama", help="bundled model name or folder")
    parser.add_argument(
        "--type",
        dest="types",
        action="append",
        choices=sorted(GGUF_TYPES),
        help="weight type; repeat for several (default: f32 and q8_0)",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="only write the files; skip the tokenizer and perplexity round trip",
    )
    args = parser.parse_args(argv)
    kinds = args.types or ["f32", "q8_0"]
    paths = {}
    for kind in dict.fromkeys(kinds):
        path = export_gguf(args.model, args.out, kind=kind)
        paths[kind] = path
        print(f"wrote {path} ({os.path.getsize(path) / 2**20:.2f} MiB)")
    if args.check:
        check_round_trip(args.model, paths)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
