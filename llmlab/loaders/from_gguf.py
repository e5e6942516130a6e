"""Load a GGUF file through transformers: its weights dequantized, its tokenizer rebuilt.

The header is read and checked first by :mod:`llmlab.gguf`, so a bad file gets an error
naming it rather than a deep traceback; :func:`llmlab.load_model` and
:func:`llmlab.load_tokenizer` call these for a ``.gguf`` file.
"""

from __future__ import annotations

import copy
import os

from llmlab.gguf import GGUFError, check_loadable, read_gguf_header
from llmlab.loaders.footprint import weight_placement
from llmlab.loaders.placement import bnb_config, quiet_progress
from llmlab.provenance import Provenance, attach_provenance

__all__ = ["load_gguf_model", "load_gguf_tokenizer"]


def load_gguf_model(path, *, quantization=None, dtype=None, device_map=None):
    """Load a GGUF file through transformers, dequantized; use :func:`llmlab.load_model`.

    The header is checked first (:func:`llmlab.gguf.read_gguf_header`,
    :func:`llmlab.gguf.check_loadable`). With ``quantization`` ("8bit" / "4bit") the
    dequantized weights are then quantized by bitsandbytes in memory (transformers refuses a
    ``quantization_config`` together with ``gguf_file``, so the state dict is handed over
    instead: no temporary folder). The model's :class:`llmlab.provenance.Provenance` records
    the file's quantization type.
    """
    import torch
    from transformers import AutoModelForCausalLM

    dtype = dtype or torch.float32
    info = read_gguf_header(path)
    check_loadable(info)
    folder = os.path.dirname(os.path.abspath(path))
    kwargs = {"gguf_file": os.path.abspath(path), "dtype": dtype}
    if device_map is not None and quantization is None:
        kwargs["device_map"] = device_map
    if info.architecture == "llama" and info.name == "mistral":
        kwargs["config"] = _llama_config(folder, kwargs["gguf_file"])
    try:
        with quiet_progress():
            model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    except (ValueError, KeyError, NotImplementedError, TypeError) as exc:
        raise GGUFError(
            f"transformers could not load {path!r} ({info.architecture!r}, "
            f"{info.quantization}): {exc.__class__.__name__}: {exc}"
        ) from exc
    # The weights are plain dequantized tensors now; the GgufConfig left on the config would
    # make save_pretrained write a folder that claims to be quantized.
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    if quantization is not None:
        model = _quantize_in_memory(model, quantization, dtype, device_map)
    model.eval()
    return attach_provenance(
        model,
        Provenance(
            source=os.fspath(path),
            format="gguf",
            dequantized=True,
            file_quantization=info.quantization,
            file_tensor_types=dict(info.tensor_types),
            file_bytes=info.n_bytes,
            architecture=info.architecture,
            quantization=quantization,
            dtype=str(dtype).replace("torch.", ""),
            device=weight_placement(model),
        ),
    )


def _quantize_in_memory(model, quantization, dtype, device_map):
    """The same model rebuilt from its state dict with bitsandbytes' ``quantization``."""
    config = copy.deepcopy(model.config)
    bnb = bnb_config(quantization, dtype, config, device_map)
    state = model.state_dict()
    cls = type(model)
    del model
    with quiet_progress():
        return cls.from_pretrained(
            None,
            config=config,
            state_dict=state,
            quantization_config=bnb,
            device_map=device_map or "cpu",
            dtype=dtype,
        )


def _llama_config(folder, gguf_file):
    """A LlamaConfig for a 'llama' file named exactly "mistral".

    transformers turns such a file's config into a Mistral one, and then finds no Mistral
    tensor names in the gguf package ("Unknown gguf model_type: mistral"). llama.cpp's
    'llama' layout is what the file holds, so it is loaded as the Llama it is.
    """
    from transformers import AutoConfig, LlamaConfig

    raw = AutoConfig.from_pretrained(folder, gguf_file=gguf_file).to_dict()
    for key in ("model_type", "architectures", "sliding_window", "transformers_version"):
        raw.pop(key, None)
    return LlamaConfig(**raw)


def load_gguf_tokenizer(path):
    """The tokenizer stored in a GGUF file (``AutoTokenizer`` with ``gguf_file``)."""
    from transformers import AutoTokenizer

    info = read_gguf_header(path)
    try:
        return AutoTokenizer.from_pretrained(
            os.path.dirname(os.path.abspath(path)), gguf_file=os.path.abspath(path)
        )
    except (ValueError, KeyError, NotImplementedError, TypeError) as exc:
        raise GGUFError(
            f"transformers could not build a tokenizer from {path!r} (tokenizer model "
            f"{info.metadata.get('tokenizer.ggml.model')!r}): {exc.__class__.__name__}: {exc}"
        ) from exc
