"""Text generation on any backend: a model with its tokenizer, a llama.cpp model or a server.

:func:`generate_text` is :meth:`llmlab.backends.base.Backend.generate` for a model given with
its tokenizer (wrapped once by :func:`llmlab.backends.as_backend`).
"""

from __future__ import annotations

from llmlab.backends import as_backend

__all__ = ["generate_text"]


def generate_text(model, tokenizer, prompts, *, max_new_tokens, temperature=0.0, top_p=1.0,
                  seed=None, stop=None, batch_size=8) -> list:
    """Continue each prompt with the model.

    Parameters
    ----------
    model : transformers causal LM or llmlab.backends.Backend
        A loaded model, a llama.cpp model or a served model.
    tokenizer : transformers tokenizer
        The model's tokenizer (may be None for a backend that has its own).
    prompts : str, list of str, or list of list of int
        Texts (encoded with the tokenizer's special tokens) or token ids.
    max_new_tokens : int
        At most this many new tokens per prompt.
    temperature : float, default=0.0
        0: greedy (deterministic); above 0: sampled.
    top_p : float, default=1.0
        Nucleus sampling's probability mass (sampling only).
    seed : int, optional
        Sampling only: the same seed, prompts and ``batch_size`` give the same outputs.
    stop : str or list of str, optional
        Generation ends at the token that completes one; the text is cut before it.
    batch_size : int, default=8
        Prompts per engine call.

    Returns
    -------
    list of llmlab.backends.Generation
        ``.text``, ``.token_ids`` (None from a server), ``.n_new_tokens``,
        ``.finish_reason``, per prompt.

    Examples
    --------
    >>> import llmlab
    >>> from llmlab.generation import generate_text
    >>> model = llmlab.load_model("tiny-llama")  # doctest: +SKIP
    >>> tok = llmlab.load_tokenizer("tiny-llama")  # doctest: +SKIP
    >>> generate_text(model, tok, ["def add(a, b):"], max_new_tokens=8)[0].text  # doctest: +SKIP
    '...'
    """
    backend = as_backend(model, tokenizer)
    return backend.generate(prompts, max_new_tokens=max_new_tokens, temperature=temperature,
                            top_p=top_p, seed=seed, stop=stop, batch_size=batch_size)
