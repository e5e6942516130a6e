"""Load self-hosted causal language models the way practitioners do.

Everything goes through transformers' ``from_pretrained``: :func:`load_model` wraps
``AutoModelForCausalLM.from_pretrained`` (with a ``BitsAndBytesConfig`` for 8-bit and
4-bit loading on the CPU) and :func:`load_tokenizer` wraps ``AutoTokenizer``. What this
module adds is name resolution and errors that say what is wrong:

1. a *bundled* name (``llmlab.list_bundled_models()``) is looked up inside the package;
2. an existing local folder is loaded from disk;
3. anything else is treated as a Hugging Face hub id, which works only where the hub is
   reachable and offline mode is off. Nothing is downloaded unless such an id is asked for.

A GGUF file (llama.cpp's format), or a folder holding exactly one, loads through
transformers' GGUF support: the weights are dequantized to ``dtype`` and the tokenizer is
built from the file (see :mod:`llmlab.gguf` for the checks made first). ``device=`` places the
model on the CPU, on a CUDA GPU, or across the GPUs (accelerate's ``device_map="auto"``).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
from collections import Counter
from importlib import resources
from pathlib import Path

from .gguf import GGUFFootprint

__all__ = [
    "QUANTIZATIONS",
    "list_bundled_models",
    "resolve_model_path",
    "load_model",
    "load_tokenizer",
    "memory_footprint",
    "parameters_by_dtype",
    "check_4bit_compatible",
    "DEVICES",
    "model_metadata",
    "BACKENDS",
    "quiet_bitsandbytes",
    "GGUFFootprint",
]

#: The values ``quantization=`` accepts.
QUANTIZATIONS = (None, "8bit", "4bit")

#: bitsandbytes' 4-bit CPU kernels need each quantized layer's output size to be a
#: multiple of this (otherwise they fail mid-forward with ``N must be divisible by block_n``).
BNB_4BIT_MULTIPLE = 32

_DTYPES = ("float32", "bfloat16", "float16")

#: The values ``device=`` accepts (``"cuda:N"`` picks one GPU).
DEVICES = ("cpu", "cuda", "auto")

#: The model backends ``load_model`` takes (``"llama.cpp"`` needs ``llmlab[llamacpp]``).
BACKENDS = ("transformers", "llama.cpp")


def _models_root() -> Path:
    return Path(str(resources.files("llmlab") / "models"))


def list_bundled_models() -> list[str]:
    """Return the names of the models that ship inside the package, sorted.

    Examples
    --------
    >>> import llmlab
    >>> "tiny-llama" in llmlab.list_bundled_models()  # doctest: +SKIP
    True
    """
    root = _models_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file())


def _offline() -> bool:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}:
            return True
    return False


_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def _looks_like_path(name: str) -> bool:
    """A hub id is ``name`` or ``org/name``; anything else is meant as a path."""
    return not _HUB_ID.match(name) or name.startswith((".", "~"))


def _known(bundled, name=None) -> str:
    text = ", ".join(bundled) or "none"
    close = difflib.get_close_matches(name, bundled, n=1) if name else []
    return text + (f" (did you mean {close[0]!r}?)" if close else "")


def resolve_model_path(name_or_path: str | os.PathLike) -> str:
    """Resolve a bundled name, a local folder or a hub id.

    Returns the local folder for a bundled name or a folder, the ``.gguf`` file for a GGUF
    file or a folder (without ``config.json``) holding exactly one, and the id itself for a
    hub id.

    Raises
    ------
    TypeError
        If ``name_or_path`` is not a string or path.
    ValueError
        For an empty name, or a hub id while offline.
    FileNotFoundError
        For a path that does not exist, or a folder without ``config.json`` nor ``.gguf``.
    llmlab.gguf.GGUFError
        For a folder holding several ``.gguf`` files (they are listed).
    """
    if isinstance(name_or_path, os.PathLike):
        name_or_path = os.fspath(name_or_path)
    if not isinstance(name_or_path, str):
        raise TypeError(
            f"name_or_path must be a bundled model name, a folder or a hub id (str), "
            f"got {type(name_or_path).__name__}"
        )
    name = name_or_path.strip()
    if not name:
        raise ValueError(
            f"name_or_path is empty; bundled models are: {_known(list_bundled_models())}"
        )
    bundled = list_bundled_models()
    if name in bundled:
        return str(_models_root() / name)
    expanded = os.path.expanduser(name)
    if os.path.exists(expanded):
        from .gguf import find_gguf

        gguf_file = find_gguf(expanded)
        if gguf_file is not None:
            return gguf_file
        if not os.path.isdir(expanded):
            raise FileNotFoundError(
                f"{name!r} is a file, not a model folder nor a GGUF file; pass the folder that "
                f"holds config.json, or a .gguf file"
            )
        if not os.path.isfile(os.path.join(expanded, "config.json")):
            raise FileNotFoundError(
                f"folder {name!r} holds no config.json, so it is not a Hugging Face model folder "
                f"(save one with model.save_pretrained(folder)), and no .gguf file either"
            )
        return expanded
    if _looks_like_path(name):
        raise FileNotFoundError(
            f"model folder {name!r} does not exist; bundled models are: "
            f"{_known(bundled, os.path.basename(name.rstrip('/')))}"
        )
    # A hub id ("org/name" or "name").
    if _offline():
        raise ValueError(
            f"{name!r} is not a bundled model (bundled models: {_known(bundled, name)}) nor a "
            f"local folder, and the Hugging Face hub is offline here (HF_HUB_OFFLINE or "
            f"TRANSFORMERS_OFFLINE is set), so it cannot be downloaded as a hub id. Use a "
            f"bundled model or a local folder."
        )
    return name


def _check_quantization(quantization):
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"quantization={quantization!r} is not supported; use one of "
            f"None, '8bit', '4bit'"
        )


def _resolve_dtype(dtype):
    import torch

    if dtype is None:
        return None
    if isinstance(dtype, torch.dtype):
        if dtype not in (torch.float32, torch.bfloat16, torch.float16):
            raise ValueError(f"dtype={dtype} is not supported; use one of {', '.join(_DTYPES)}")
        return dtype
    if isinstance(dtype, str):
        key = dtype.replace("torch.", "")
        key = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}.get(key, key)
        if key in _DTYPES:
            return getattr(torch, key)
    raise ValueError(f"dtype={dtype!r} is not supported; use one of {', '.join(_DTYPES)}")


def _read_config(path: str):
    """Return the transformers config of a local folder or hub id, checking it is a causal LM."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    if os.path.isdir(path):
        with open(os.path.join(path, "config.json"), encoding="utf-8") as fh:
            try:
                raw = json.load(fh)
            except json.JSONDecodeError as exc:
                raise ValueError(f"config.json in {path!r} is not valid JSON: {exc}") from None
        model_type = raw.get("model_type")
        causal_classes = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
        listed = raw.get("architectures") or []
        # bert and its kin have a causal-LM class in transformers, but a checkpoint saved as
        # BertModel / BertForMaskedLM is an encoder: its architectures say what it is.
        not_causal_checkpoint = listed and not any(
            a in causal_classes or a.endswith(("ForCausalLM", "LMHeadModel")) for a in listed
        )
        if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or not_causal_checkpoint:
            archs = ", ".join(listed) or "unknown architecture"
            raise ValueError(
                f"the model in {path!r} (model_type={model_type!r}, {archs}) is not a causal "
                f"language model; llmlab evaluates causal LMs such as Llama and Mistral"
            )
    try:
        config = AutoConfig.from_pretrained(path)
    except OSError as exc:
        raise _hub_error(path, exc) from None
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise ValueError(
            f"{path!r} (model_type={config.model_type!r}) is not a causal language model"
        )
    return config


def _hub_error(name: str, exc: Exception) -> Exception:
    return OSError(
        f"could not load {name!r} from the Hugging Face hub ({exc.__class__.__name__}: "
        f"{str(exc).splitlines()[0] if str(exc) else ''}). If this machine is offline, use a "
        f"bundled model ({', '.join(list_bundled_models()) or 'none'}) or a local folder."
    )


def check_4bit_compatible(config) -> None:
    """Raise ValueError if bitsandbytes' 4-bit kernels cannot run this architecture.

    Builds the model on the ``meta`` device (no memory, no weights) and checks that every
    linear layer that would be quantized has an output size that is a multiple of 32.
    ``lm_head`` stays in full precision, as transformers leaves it.
    """
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    bad = []
    for name, module in skeleton.named_modules():
        if isinstance(module, torch.nn.Linear) and not name.endswith("lm_head"):
            if module.out_features % BNB_4BIT_MULTIPLE:
                bad.append(f"{name} (out_features={module.out_features})")
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ValueError(
            f"4-bit quantization needs every linear layer's output size to be a multiple of "
            f"{BNB_4BIT_MULTIPLE} (bitsandbytes' CPU kernels assert otherwise); these are not: "
            f"{shown}. Load it with quantization='8bit' or None instead."
        )


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
        ``quantization`` or ``dtype``. The result is a :class:`llmlab.backends.llamacpp.
        LlamaCppModel`, which every scorer takes.
    n_ctx : int, optional
        llama.cpp's context in tokens (default: the length the model was trained with).

    Returns
    -------
    model : transformers.PreTrainedModel
        The model, in eval mode. :func:`model_metadata` tells where it came from (file format,
        a GGUF file's quantization type, dequantized dtype, device).

    Raises
    ------
    ValueError
        For a bad ``quantization``, ``dtype`` or ``device``, a model that is not a causal LM,
        or a GGUF file that cannot be loaded (:class:`llmlab.gguf.GGUFError`, which names the
        file: bad magic, truncated, unsupported architecture or quantization type).
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
    from transformers import AutoModelForCausalLM

    _check_quantization(quantization)
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not one of {BACKENDS}")
    if backend == "llama.cpp":
        return _load_llamacpp(name_or_path, quantization, dtype, device, n_ctx)
    if n_ctx is not None:
        raise ValueError("n_ctx is an option of backend='llama.cpp'; transformers models use "
                         "their own context length")
    torch_dtype = _resolve_dtype(dtype) or torch.float32
    device_map = _device_map(device)
    path = resolve_model_path(name_or_path)
    if os.path.isfile(path):  # resolve_model_path returns a file only for a GGUF
        from .gguf import load_gguf_model

        return load_gguf_model(
            path, quantization=quantization, dtype=torch_dtype, device_map=device_map
        )
    config = _read_config(path)

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
        raise _hub_error(path, exc) from None
    model.eval()
    model.llmlab_metadata = {
        "source": path,
        "format": "transformers",
        "dequantized": False,
        "file_quantization": None,
        "quantization": quantization,
        "dtype": str(torch_dtype).replace("torch.", ""),
        "device": weight_placement(model),
    }
    return model


def _load_llamacpp(name_or_path, quantization, dtype, device, n_ctx):
    from .backends.llamacpp import load_llamacpp

    path = resolve_model_path(name_or_path)
    if not os.path.isfile(path):
        raise ValueError(
            f"backend='llama.cpp' runs a GGUF file; {name_or_path!r} is a Hugging Face model "
            f"({path}). Export one with python -m llmlab.export_gguf, or use "
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


def bnb_config(quantization, torch_dtype, config, device_map):
    """The ``BitsAndBytesConfig`` for 8-bit / 4-bit; checks 4-bit's CPU-kernel limit.

    Also quiets bitsandbytes' per-matmul warning (:func:`quiet_bitsandbytes`): every loader
    of a quantized model builds its config here.
    """
    from transformers import BitsAndBytesConfig

    quiet_bitsandbytes()

    _require_bitsandbytes()
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    if device_map is None or device_map == "cpu":
        check_4bit_compatible(config)  # only bitsandbytes' CPU kernels have this limit
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch_dtype,
    )


def _device_map(device):
    """Check ``device`` and turn it into a ``device_map`` (None: plain CPU load).

    ``"cuda"`` without CUDA is a RuntimeError that says what torch sees; ``"auto"`` without
    a GPU warns and loads on the CPU.
    """
    import warnings

    import torch

    if not isinstance(device, str) or not (device in DEVICES or re.fullmatch(r"cuda:\d+", device)):
        raise ValueError(
            f"device={device!r} is not supported; use one of 'cpu', 'cuda', 'auto' (or 'cuda:N')"
        )
    if device == "cpu":
        return None
    has_cuda = torch.cuda.is_available()
    if device == "auto":
        if has_cuda:
            return "auto"
        warnings.warn(
            "device='auto': no CUDA GPU is available here, so the model loads on the CPU",
            UserWarning,
            stacklevel=3,
        )
        return None
    if not has_cuda:
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only"
        raise RuntimeError(
            f"device={device!r} needs a CUDA GPU, but torch.cuda.is_available() is False "
            f"(torch {torch.__version__}, a {build} build). Use device='cpu', or "
            f"device='auto' to use a GPU only where there is one"
        )
    index = int(device.split(":")[1]) if ":" in device else 0
    if index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r}: only {torch.cuda.device_count()} CUDA device(s) are visible"
        )
    return {"": index}


def weight_placement(model):
    """Where the weights are: ``"cpu"``, ``"cuda:0"``, or ``{"cuda:0": n, ...}`` if spread."""
    places = Counter(str(p.device) for p in model.parameters())
    if len(places) == 1:
        return next(iter(places))
    return dict(sorted(places.items()))


def quiet_bitsandbytes() -> None:
    """Silence bitsandbytes' per-matmul warning ("MatMul8bitLt: inputs will be cast ...").

    An 8-bit layer logs it on every forward pass whose inputs are not float16: hundreds of
    lines in a notebook cell, none of them actionable. Errors still show.
    """
    import logging

    logging.getLogger("bitsandbytes.autograd._functions").setLevel(logging.ERROR)


@contextlib.contextmanager
def quiet_progress():
    """Hide transformers' per-tensor "Loading weights" bar (noise for small local models)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _require_bitsandbytes():
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:  # pragma: no cover - bitsandbytes is a dependency
        raise ImportError(
            "quantized loading needs bitsandbytes: pip install 'bitsandbytes>=0.49'"
        ) from exc


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
        from .gguf import load_gguf_tokenizer

        return load_gguf_tokenizer(path)
    try:
        return AutoTokenizer.from_pretrained(path)
    except OSError as exc:
        if os.path.isdir(path):
            raise OSError(f"could not load a tokenizer from {path!r}: {exc}") from exc
        raise _hub_error(path, exc) from None


def _tensor_bytes(t) -> int:
    return t.numel() * t.element_size()


def model_metadata(model) -> dict:
    """Where a loaded model came from and how it is held in memory.

    Returns a dict with ``source``, ``format`` (``"transformers"`` or ``"gguf"``),
    ``dequantized`` (True for GGUF: the file's blocks were expanded to ``dtype``),
    ``file_quantization`` (the GGUF header's type, e.g. ``"Q8_0"``; None otherwise),
    ``quantization`` (bitsandbytes, if any), ``dtype`` and ``device``. A model not loaded by
    :func:`load_model` gets what can be read from it.
    """
    meta = dict(getattr(model, "llmlab_metadata", None) or {})
    if meta.get("backend") == "llama.cpp":
        return meta
    if not meta:
        meta = {
            "source": getattr(model.config, "name_or_path", None),
            "format": "transformers",
            "dequantized": False,
            "file_quantization": None,
            "quantization": None,
            "dtype": str(getattr(model, "dtype", "")).replace("torch.", ""),
        }
    meta["device"] = weight_placement(model)
    return meta


def memory_footprint(model) -> int:
    """Bytes the model's weights take in memory: parameters and buffers as stored.

    Quantized weights count at their packed size (int8 for 8-bit, two 4-bit values per
    byte for NF4) plus their quantization state (scales per row or per block), which
    ``model.get_memory_footprint()`` leaves out for 4-bit. Shared (tied) tensors count once.
    For a model loaded from a GGUF file the result is a :class:`GGUFFootprint` (an int)
    whose ``note`` says that the weights are dequantized and what the file's type was.
    """
    if getattr(model, "llmlab_metadata", {}).get("backend") == "llama.cpp":
        return int(model.file_bytes)  # llama.cpp maps the file's blocks as they are
    seen = set()
    total = 0
    for tensor in list(model.parameters()) + list(model.buffers()):
        key = (tensor.data_ptr(), tensor.numel(), tensor.dtype)
        if tensor.data_ptr() and key in seen:
            continue
        seen.add(key)
        total += _tensor_bytes(tensor)
        total += _quant_state_bytes(tensor)
    meta = getattr(model, "llmlab_metadata", None) or {}
    if meta.get("format") == "gguf":
        return GGUFFootprint(
            total,
            file_quantization=meta["file_quantization"],
            file_bytes=meta["file_bytes"],
            dtype=meta.get("quantization") or meta["dtype"],
        )
    return total


def _quant_state_bytes(param) -> int:
    total = 0
    scb = getattr(param, "SCB", None)
    if scb is not None:
        total += _tensor_bytes(scb)
    state = getattr(param, "quant_state", None)
    if state is not None:
        for attr in ("absmax", "code"):
            t = getattr(state, attr, None)
            if t is not None:
                total += _tensor_bytes(t)
        nested = getattr(state, "state2", None)
        if nested is not None:
            for attr in ("absmax", "code"):
                t = getattr(nested, attr, None)
                if t is not None:
                    total += _tensor_bytes(t)
    return total


def parameters_by_dtype(model) -> dict[str, dict[str, int]]:
    """Parameters grouped by the dtype they are stored in.

    Returns ``{dtype_name: {"tensors": n, "elements": n, "bytes": n}}``. A 4-bit weight is
    stored as ``uint8`` holding two values per byte, so its ``elements`` are half the
    weight's logical size; 8-bit weights are ``int8``.
    """
    tensors: Counter = Counter()
    elements: Counter = Counter()
    nbytes: Counter = Counter()
    seen = set()
    for param in model.parameters():
        key = (param.data_ptr(), param.numel(), param.dtype)
        if param.data_ptr() and key in seen:
            continue
        seen.add(key)
        name = str(param.dtype).replace("torch.", "")
        tensors[name] += 1
        elements[name] += param.numel()
        nbytes[name] += _tensor_bytes(param)
    return {
        k: {"tensors": tensors[k], "elements": elements[k], "bytes": nbytes[k]}
        for k in sorted(tensors)
    }
