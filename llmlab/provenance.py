"""Where a loaded model came from: one typed record, written by the loaders and backends.

:func:`llmlab.load_model` (and the llama.cpp backend) leave a :class:`Provenance` on what
they return; :func:`llmlab.loaders.model_metadata` reads it back. This module imports nothing
from llmlab, so the loaders, the GGUF code and the backends can all use it without a circle.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["Provenance", "attach_provenance", "provenance_of"]

#: The attribute a loaded model carries its record in.
ATTRIBUTE = "llmlab_provenance"


@dataclass(frozen=True)
class Provenance:
    """Where a model came from and how it is held in memory.

    Attributes
    ----------
    source : str or None
        The folder, GGUF file or hub id it was loaded from.
    format : {"transformers", "gguf"}
        The format of what was loaded.
    backend : {"transformers", "llama.cpp"}, default="transformers"
        What runs it.
    dequantized : bool, default=False
        True when a GGUF file's blocks were expanded to ``dtype`` (transformers' GGUF path).
    file_quantization : str or None
        A GGUF header's quantization type (e.g. ``"Q8_0"``); None for other formats.
    quantization : {None, "8bit", "4bit"}
        bitsandbytes' quantization applied on loading, if any.
    dtype : str or None
        Dtype of the floating-point weights (``"float32"``, ...); None for llama.cpp.
    device : str or dict or None
        Where the weights were placed: ``"cpu"``, ``"cuda:0"``, or ``{device: count}`` when
        spread over several devices.
    file_tensor_types : dict or None
        A GGUF file's tensors per GGML type, e.g. ``{"Q8_0": 28, "F32": 9}``.
    file_bytes : int or None
        Size of the GGUF file.
    architecture : str or None
        A GGUF header's ``general.architecture``.
    """

    source: str | None
    format: str
    backend: str = "transformers"
    dequantized: bool = False
    file_quantization: str | None = None
    quantization: str | None = None
    dtype: str | None = None
    device: str | dict | None = None
    file_tensor_types: dict | None = None
    file_bytes: int | None = None
    architecture: str | None = None

    def replace(self, **changes) -> Provenance:
        """A copy with ``changes`` (the record itself is frozen)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """The fields as a plain dict (nested dicts copied)."""
        return dataclasses.asdict(self)


def attach_provenance(model, provenance: Provenance):
    """Leave ``provenance`` on ``model`` (returned, for chaining)."""
    if not isinstance(provenance, Provenance):
        raise TypeError(f"provenance must be a Provenance, got {type(provenance).__name__}")
    setattr(model, ATTRIBUTE, provenance)
    return model


def provenance_of(model) -> Provenance | None:
    """The record a loader left on ``model``, or None for a model loaded some other way."""
    record = getattr(model, ATTRIBUTE, None)
    return record if isinstance(record, Provenance) else None
