"""A GGUF file run by llama.cpp in process (llama-cpp-python), as a backend of the scoring core.

This is how llama.cpp, Ollama and LM Studio run a model: on the GGUF file's own quantized
kernels (q8_0, q4_K_M, ...), not on weights dequantized into PyTorch. Sequences go in as
token ids (the local tokenizer's, which must be the file's), every position's logits are
kept (``logits_all``), and log-probabilities are taken in float64 from them. llama.cpp runs
one sequence at a time here, so a batch is scored sequence by sequence; a request's
single-token continuations are all read off one evaluation of its context.

Install it with ``pip install 'llmlab[llamacpp]'`` (it compiles llama.cpp).
"""

from __future__ import annotations

import os

import numpy as np

from llmlab.provenance import Provenance, attach_provenance
from llmlab.scoring import Backend

__all__ = ["LlamaCppModel", "load_llamacpp", "require_llama_cpp"]


def require_llama_cpp():
    try:
        import llama_cpp
    except ImportError as exc:
        raise ImportError(
            "backend='llama.cpp' needs llama-cpp-python: pip install 'llmlab[llamacpp]' "
            "(it compiles llama.cpp; see the README), or use backend='transformers', which "
            "loads the same GGUF file dequantized"
        ) from exc
    return llama_cpp


def load_llamacpp(path, *, n_ctx=None, n_threads=None):
    """Load a GGUF file with llama.cpp; see :class:`LlamaCppModel`."""
    return LlamaCppModel(path, n_ctx=n_ctx, n_threads=n_threads)


class LlamaCppModel(Backend):
    """A GGUF model evaluated by llama.cpp's kernels.

    Parameters
    ----------
    path : str
        The ``.gguf`` file.
    n_ctx : int, optional
        Context in tokens; default the length the model was trained with (the file's
        ``context_length``), which is also :func:`llmlab.perplexity`'s default window.
    n_threads : int, optional
        CPU threads; default llama.cpp's choice.
    """

    def __init__(self, path, *, n_ctx=None, n_threads=None):
        llama_cpp = require_llama_cpp()
        if not (isinstance(path, (str, os.PathLike)) and str(path).endswith(".gguf")):
            raise ValueError(f"backend='llama.cpp' loads a .gguf file, got {path!r}")
        if n_ctx is not None and (isinstance(n_ctx, bool) or not isinstance(n_ctx, int)
                                  or n_ctx < 2):
            raise ValueError(f"n_ctx={n_ctx!r} must be an int >= 2")
        self.path = os.fspath(path)
        kwargs = {"n_ctx": n_ctx or 0, "logits_all": True, "verbose": False}
        if n_threads is not None:
            kwargs["n_threads"] = n_threads
        llm = llama_cpp.Llama(model_path=self.path, **kwargs)  # n_ctx 0: the trained length
        self.llm = llm
        self.context_length = llm.n_ctx()
        self.n_vocab = llm.n_vocab()
        attach_provenance(self, Provenance(
            source=self.path,
            format="gguf",
            backend="llama.cpp",
            dequantized=False,
            file_quantization=_file_type(llm),
            quantization=None,
            device="cpu",
        ))

    def __repr__(self):
        return f"LlamaCppModel({self.path!r}, n_ctx={self.context_length})"

    @property
    def file_bytes(self) -> int:
        return os.path.getsize(self.path)

    def _logits(self, ids):
        """Logits (float32, one row per position) of ``ids`` evaluated from scratch."""
        llm = self.llm
        llm.reset()
        llm.eval(list(ids))
        return np.asarray(llm.scores[: len(ids)], dtype=np.float32)

    def score_batch(self, requests):
        out = []
        for req in requests:
            row = [None] * len(req.continuations)
            singles = [k for k, c in enumerate(req.continuations) if len(c) == 1]
            if singles:
                last = _log_softmax(self._logits(req.context)[-1:])[0]
                for k in singles:
                    row[k] = np.array([last[req.continuations[k][0]]], dtype=np.float64)
            for k, cont in enumerate(req.continuations):
                if len(cont) == 1:
                    continue
                ids = list(req.context) + list(cont)
                n = len(req.context)
                logp = _log_softmax(self._logits(ids)[n - 1 : len(ids) - 1])
                row[k] = logp[np.arange(len(cont)), np.asarray(cont)]
            out.append(row)
        return out


def _log_softmax(logits):
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _file_type(llm) -> str | None:
    desc = llm.metadata.get("general.file_type") if hasattr(llm, "metadata") else None
    try:
        from gguf import LlamaFileType

        return LlamaFileType(int(desc)).name.replace("MOSTLY_", "") if desc is not None else None
    except (ImportError, ValueError):
        return desc
