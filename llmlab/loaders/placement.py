"""How a model is held and where: the dtype, bitsandbytes quantization and device options.

Each option is checked here, with an error naming the value and the accepted ones, and turned
into what transformers' ``from_pretrained`` takes (a torch dtype, a ``BitsAndBytesConfig``, a
``device_map``).
"""

from __future__ import annotations

import contextlib
import re

__all__ = [
    "BACKENDS",
    "BNB_4BIT_MULTIPLE",
    "DEVICES",
    "QUANTIZATIONS",
    "bnb_config",
    "check_4bit_compatible",
    "quiet_bitsandbytes",
    "quiet_progress",
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


def check_quantization(quantization) -> None:
    """Raise ValueError unless ``quantization`` is one of :data:`QUANTIZATIONS`."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"quantization={quantization!r} is not supported; use one of "
            f"None, '8bit', '4bit'"
        )


def resolve_dtype(dtype):
    """The torch dtype ``dtype`` names (None stays None); ValueError for any other."""
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


def device_map_for(device):
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
