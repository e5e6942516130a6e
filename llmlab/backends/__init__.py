"""The models llmlab scores and generates with, behind one contract (:mod:`.base`).

* :mod:`llmlab.backends.base` -- :class:`~llmlab.backends.base.Backend`: a model with its
  tokenizer and :class:`~llmlab.provenance.Provenance`, offering ``score_batch`` and
  ``generate``;
* :mod:`llmlab.backends.transformers` -- a transformers model in process (what
  :func:`llmlab.load_model` returns is wrapped in it);
* :mod:`llmlab.backends.llamacpp` -- a GGUF file run by llama.cpp in process
  (``llmlab.load_model(path, backend="llama.cpp")``);
* :mod:`llmlab.backends.server` -- a model behind an OpenAI-compatible server
  (:func:`llmlab.connect`).

Every scorer and generator takes a model with its tokenizer, or a backend, and turns them
into one backend with :func:`as_backend`.
"""

from __future__ import annotations

from llmlab.backends.base import Backend, Generation, Request
from llmlab.backends.transformers import TransformersBackend

__all__ = ["Backend", "Generation", "Request", "TransformersBackend",
           "as_backend"]


def as_backend(model, tokenizer=None) -> Backend:
    """The backend that runs ``model`` with ``tokenizer``.

    Parameters
    ----------
    model : transformers causal LM or Backend
        A model from :func:`llmlab.load_model` (wrapped in a
        :class:`~llmlab.backends.transformers.TransformersBackend`) or any backend (a
        llama.cpp model, a served model), used as it is.
    tokenizer : transformers tokenizer, optional
        The tokenizer the token ids come from. A backend that already uses it is returned
        as it is; one that uses another (or none) is returned as a copy that uses this one,
        checked against the model's vocabulary where the engine can tell
        (:meth:`Backend.with_tokenizer`).

    Returns
    -------
    Backend

    Raises
    ------
    TypeError
        If ``model`` is neither a transformers causal LM nor a backend.
    ValueError
        If the engine finds that ``tokenizer`` is not the model's.
    """
    if isinstance(model, Backend):
        return model.with_tokenizer(tokenizer)
    if not hasattr(model, "config") or not callable(model):
        raise TypeError(
            f"model is a {type(model).__name__}; pass a transformers causal LM (from "
            f"llmlab.load_model) or a llmlab.backends.Backend"
        )
    return TransformersBackend(model, tokenizer)
