"""Load a model or tokenizer: resolve the name, then hand it to transformers or llama.cpp.

:func:`load_model` checks its options (:mod:`llmlab.loaders.placement`), resolves the name
(:mod:`llmlab.loaders.resolve`), and loads a folder or hub id with
``AutoModelForCausalLM.from_pretrained``, a GGUF file through transformers' GGUF support
(:mod:`llmlab.loaders.from_gguf`) or on llama.cpp's kernels (``backend="llama.cpp"``). It
leaves a :class:`llmlab.provenance.Provenance` on what it returns.
"""

from __future__ import annotations

import os

from llmlab.loaders.footprint import weight_placement
from llmlab.loaders.from_gguf import load_gguf_model, load_gguf_tokenizer
from llmlab.loaders.placement import (
    BACKENDS,
    bnb_config,
    check_quantization,
    device_map_for,
    quiet_progress,
    resolve_dtype,
)
from llmlab.loaders.resolve import hub_error, read_config, resolve_model_path
from llmlab.provenance import Provenance, attach_provenance

__all__ = ["load_model", "load_tokenizer"]


def load_model(name_or_path, *, quantization=None, dtype=None, device="cpu",
               backend="transformers", n_ctx=None):
    """Load a causal language model for evaluation, in eval mode.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A bundled model name (see :func:`list_bundled_models`), a local folder saved with
        ``save_pretrained``, a GGUF file (or a folder holding exactly one ``.gguf`` file), or
        a Hugging Face hub id (only where the hub is reachable).
    quantization : {None, "8bit", "4bit"}, default=None
        ``"8bit"`` is LLM.int8() and ``"4bit"`` is NF4, both through transformers'
        ``BitsAndBytesConfig``; on a GPU they run on bitsandbytes' CUDA kernels. On a GGUF
        file they apply to the dequantized weights (the file's own quantization is undone
        first, so the errors of both add up).
    dtype : {None, "float32", "bfloat16", "float16"} or torch.dtype, default=None
        Dtype of the weights that stay in floating point (all of them when not quantized;
        a GGUF file's weights are dequantized to it). None means float32, the safe choice on
        a CPU. For 4-bit it is also the compute dtype.
    device : {"cpu", "cuda", "auto"} or "cuda:N", default="cpu"
        ``"cuda"`` loads the whole model on one GPU (an error where CUDA is not available);
        ``"auto"`` spreads it over the available GPUs with accelerate's ``device_map="auto"``
        and falls back to the CPU, with a warning, where there is none.
    backend : {"transformers", "llama.cpp"}, default="transformers"
        ``"llama.cpp"`` runs a GGUF file on llama.cpp's own kernels in process (its
        quantized blocks as they are, as llama.cpp, Ollama and LM Studio do; needs
        ``llmlab[llamacpp]``); it takes a GGUF file only, on the CPU, with no
        ``quantization`` or ``dtype``.
    n_ctx : int, optional
        llama.cpp's context in tokens (default: the length the model was trained with).

    Returns
    -------
    model : transformers.PreTrainedModel or llmlab.backends.llamacpp.LlamaCppModel
        What comes back depends on ``backend`` and on what ``name_or_path`` names:

        - ``backend="transformers"`` with a bundled name, a folder or a hub id: the
          ``AutoModelForCausalLM`` class the config names (``LlamaForCausalLM``,
          ``MistralForCausalLM``, ...), a ``transformers.PreTrainedModel`` in eval mode;
          with ``quantization`` its linear layers are bitsandbytes' ``Linear8bitLt`` or
          ``Linear4bit``.
        - ``backend="transformers"`` with a GGUF file: a ``transformers.PreTrainedModel``
          too, its weights dequantized to ``dtype`` (a file llama.cpp stores in its
          ``llama`` layout, a Mistral included, comes back as ``LlamaForCausalLM``).
        - ``backend="llama.cpp"`` (a GGUF file only): a
          :class:`llmlab.backends.llamacpp.LlamaCppModel`, not a torch module: it has no
          ``parameters()`` or ``config``, and runs the file's blocks on llama.cpp's kernels.
          Every llmlab scorer takes it.

        :func:`llmlab.loaders.model_metadata` tells where any of them came from (file
        format, a GGUF file's quantization type, dequantized dtype, device).

    Raises
    ------
    ValueError
        For a bad ``quantization``, ``dtype``, ``device`` or ``backend``, a model that is not
        a causal LM (the error names its ``model_type``), or a GGUF file that cannot be
        loaded (:class:`llmlab.gguf.GGUFError`, which names the file: bad magic, truncated,
        unsupported architecture or quantization type).
    RuntimeError
        For ``device="cuda"`` on a machine without CUDA.

    Examples
    --------
    >>> import llmlab
    >>> model = llmlab.load_model("tiny-llama")  # doctest: +SKIP
    >>> model.config.model_type  # doctest: +SKIP
    'llama'
    >>> gguf_model = llmlab.load_model("exports/tiny-llama-q8_0.gguf")  # doctest: +SKIP
    >>> llmlab.loaders.model_metadata(gguf_model)["file_quantization"]  # doctest: +SKIP
    'Q8_0'
    """
    import torch

    check_quantization(quantization)
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not one of {BACKENDS}")
    if backend == "llama.cpp":
        return _load_llamacpp(name_or_path, quantization, dtype, device, n_ctx)
    if n_ctx is not None:
        raise ValueError("n_ctx is an option of backend='llama.cpp'; transformers models use "
                         "their own context length")
    torch_dtype = resolve_dtype(dtype) or torch.float32
    device_map = device_map_for(device)
    path = resolve_model_path(name_or_path)
    if os.path.isfile(path):  # resolve_model_path returns a file only for a GGUF
        return load_gguf_model(
            path, quantization=quantization, dtype=torch_dtype, device_map=device_map
        )
    return _load_transformers(path, quantization, torch_dtype, device_map)


def _load_transformers(path, quantization, torch_dtype, device_map):
    """A folder or hub id through ``AutoModelForCausalLM``, its config checked first."""
    from transformers import AutoModelForCausalLM

    config = read_config(path)
    kwargs = {"dtype": torch_dtype}
    if quantization is not None:
        kwargs["quantization_config"] = bnb_config(quantization, torch_dtype, config, device_map)
        kwargs["device_map"] = device_map or "cpu"
    elif device_map is not None:
        kwargs["device_map"] = device_map
    try:
        with quiet_progress():
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as exc:
        if os.path.isdir(path):
            raise OSError(f"could not load the model weights in {path!r}: {exc}") from exc
        raise hub_error(path, exc) from None
    model.eval()
    return attach_provenance(
        model,
        Provenance(
            source=path,
            format="transformers",
            quantization=quantization,
            dtype=str(torch_dtype).replace("torch.", ""),
            device=weight_placement(model),
        ),
    )


def _load_llamacpp(name_or_path, quantization, dtype, device, n_ctx):
    from llmlab.backends.llamacpp import load_llamacpp

    path = resolve_model_path(name_or_path)
    if not os.path.isfile(path):
        raise ValueError(
            f"backend='llama.cpp' runs a GGUF file; {name_or_path!r} is a Hugging Face model "
            f"({path}). Export one with `python -m llmlab.export_gguf`, or use "
            f"backend='transformers'"
        )
    for name, value, allowed in (("quantization", quantization, None), ("dtype", dtype, None),
                                 ("device", device, "cpu")):
        if value != allowed:
            raise ValueError(
                f"{name}={value!r} does not apply to backend='llama.cpp': the GGUF file's own "
                f"quantization is what runs, on the CPU"
            )
    return load_llamacpp(path, n_ctx=n_ctx)


def load_tokenizer(name_or_path):
    """Load the tokenizer of a bundled model, a local folder, a GGUF file or a hub id.

    Uses ``AutoTokenizer``; for a GGUF file (or a folder holding exactly one) the tokenizer
    is built from the vocabulary, merges and special tokens stored in the file.

    Examples
    --------
    >>> import llmlab
    >>> tok = llmlab.load_tokenizer("tiny-llama")  # doctest: +SKIP
    >>> tok.decode(tok("def f(): pass")["input_ids"], skip_special_tokens=True)  # doctest: +SKIP
    'def f(): pass'
    """
    from transformers import AutoTokenizer

    path = resolve_model_path(name_or_path)
    if os.path.isfile(path):  # a GGUF file
        return load_gguf_tokenizer(path)
    try:
        return AutoTokenizer.from_pretrained(path)
    except OSError as exc:
        if os.path.isdir(path):
            raise OSError(f"could not load a tokenizer from {path!r}: {exc}") from exc
        raise hub_error(path, exc) from None
