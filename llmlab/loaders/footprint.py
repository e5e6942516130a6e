"""Inspect a loaded model: where it came from, where its weights are, what they take.

:func:`model_provenance` and :func:`model_metadata` read the record the loaders left (see
:mod:`llmlab.provenance`); :func:`memory_footprint` and :func:`parameters_by_dtype` count
the weights as they are stored, quantized ones at their packed size.
"""

from __future__ import annotations

from collections import Counter

from llmlab.gguf import GGUFFootprint
from llmlab.provenance import Provenance, provenance_of

__all__ = [
    "memory_footprint",
    "model_metadata",
    "model_provenance",
    "parameters_by_dtype",
    "weight_placement",
]


def weight_placement(model):
    """Where the weights are: ``"cpu"``, ``"cuda:0"``, or ``{"cuda:0": n, ...}`` if spread."""
    places = Counter(str(p.device) for p in model.parameters())
    if len(places) == 1:
        return next(iter(places))
    return dict(sorted(places.items()))


def _is_llamacpp(record) -> bool:
    return record is not None and record.backend == "llama.cpp"


def model_provenance(model) -> Provenance:
    """Where a loaded model came from and where its weights are now, as a :class:`Provenance`.

    The record :func:`llmlab.load_model` left, with ``device`` read from the weights as they
    are now (a model moved with ``.to()`` says so). A model not loaded by
    :func:`llmlab.load_model` gets what can be read from it.
    """
    record = provenance_of(model)
    if _is_llamacpp(record):
        return record
    if record is None:
        record = Provenance(
            source=getattr(model.config, "name_or_path", None),
            format="transformers",
            dtype=str(getattr(model, "dtype", "")).replace("torch.", ""),
        )
    return record.replace(device=weight_placement(model))


def model_metadata(model) -> dict:
    """Where a loaded model came from and how it is held in memory, as a dict.

    Returns the fields of :func:`model_provenance`: ``source``, ``format``
    (``"transformers"`` or ``"gguf"``), ``backend``, ``dequantized`` (True for a GGUF loaded
    by transformers: the file's blocks were expanded to ``dtype``), ``file_quantization``
    (the GGUF header's type, e.g. ``"Q8_0"``; None otherwise), ``quantization``
    (bitsandbytes, if any), ``dtype``, ``device``, and for a GGUF file
    ``file_tensor_types``, ``file_bytes`` and ``architecture`` (None where they do not apply).
    """
    return model_provenance(model).as_dict()


def _tensor_bytes(t) -> int:
    return t.numel() * t.element_size()


def memory_footprint(model) -> int:
    """Bytes the model's weights take in memory: parameters and buffers as stored.

    Quantized weights count at their packed size (int8 for 8-bit, two 4-bit values per
    byte for NF4) plus their quantization state (scales per row or per block), which
    ``model.get_memory_footprint()`` leaves out for 4-bit. Shared (tied) tensors count once.
    For a model loaded from a GGUF file the result is a :class:`llmlab.gguf.GGUFFootprint`
    (an int) whose ``note`` says that the weights are dequantized and what the file's type
    was. For llama.cpp it is the file's size: llama.cpp maps the file's blocks as they are.
    """
    record = provenance_of(model)
    if _is_llamacpp(record):
        return int(model.file_bytes)
    seen = set()
    total = 0
    for tensor in list(model.parameters()) + list(model.buffers()):
        key = (tensor.data_ptr(), tensor.numel(), tensor.dtype)
        if tensor.data_ptr() and key in seen:
            continue
        seen.add(key)
        total += _tensor_bytes(tensor)
        total += _quant_state_bytes(tensor)
    if record is not None and record.format == "gguf":
        return GGUFFootprint(
            total,
            file_quantization=record.file_quantization,
            file_bytes=record.file_bytes,
            dtype=record.quantization or record.dtype,
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
