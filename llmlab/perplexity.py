"""Exact corpus perplexity of a causal LM, with sliding windows for long texts.

The semantics (also in DESIGN.md):

* each text is tokenized with the tokenizer's special tokens (a Llama-style BOS first); the
  first token is context only and every later token is scored exactly once;
* a text longer than ``max_length`` tokens is scored in windows of ``max_length`` tokens.
  The first covers tokens ``[0, max_length)``; each next window ends ``stride`` tokens after
  the previous one (the last ends at the text's end) and starts ``max_length`` tokens before
  its own end. It scores only the tokens no earlier window scored; the rest of the window is
  their context, so every token scored by a window after the first sees at least
  ``max_length - stride`` tokens before it (in the first window, token ``i`` sees ``i``);
* the corpus perplexity is ``exp(total NLL / scored tokens)``: token-weighted, never a mean
  of per-text or per-window perplexities;
* batching and padding never change the result beyond float rounding: windows are padded on
  the right with an attention mask, so no real token ever attends to a pad.

The model and the tokenizer are never modified (no pad token is set, no mode is changed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from llmlab.backends import as_backend
from llmlab.scoring import (
    model_context_length,
    plan_windows,
    rolling_requests,
    score_requests,
)
from llmlab.validation import check_positive_int, check_texts

__all__ = ["PerplexityResult", "perplexity", "plan_windows", "tokenize_texts"]


@dataclass(frozen=True)
class PerplexityResult:
    """What :func:`perplexity` measured.

    Attributes
    ----------
    nll : float
        Sum of the scored tokens' negative log-likelihoods, in nats.
    n_tokens : int
        Number of scored tokens.
    n_bytes : int
        UTF-8 bytes of the texts.
    per_text : list of float
        One perplexity per input text.
    per_text_nll, per_text_tokens : list
        Each text's summed NLL and number of scored tokens.
    per_text_bytes : list of int
        Each text's UTF-8 bytes (they sum to ``n_bytes``); with the two above, what
        :func:`llmlab.metrics.perplexity_interval` resamples, text by text.
    nll_stderr : float
        Standard error of the mean token NLL, from the per-token variance (the tokens are
        treated as independent draws, as llama.cpp's perplexity tool does; neighbouring tokens
        are correlated, so read it as a lower bound on the true uncertainty).
    """

    nll: float
    n_tokens: int
    n_bytes: int
    per_text: list = field(default_factory=list)
    per_text_nll: list = field(default_factory=list)
    per_text_tokens: list = field(default_factory=list)
    nll_stderr: float = float("nan")
    max_length: int = 0
    stride: int = 0
    n_windows: int = 0
    per_text_bytes: list = field(default_factory=list)

    @property
    def mean_nll(self) -> float:
        """Mean NLL per scored token, in nats (the log of the perplexity)."""
        return self.nll / self.n_tokens

    @property
    def perplexity(self) -> float:
        """Corpus perplexity: ``exp(nll / n_tokens)``."""
        return math.exp(self.mean_nll)

    @property
    def perplexity_stderr(self) -> float:
        """Standard error of the perplexity (delta method: ``perplexity * nll_stderr``)."""
        return self.perplexity * self.nll_stderr

    @property
    def bits_per_token(self) -> float:
        return self.mean_nll / math.log(2)

    @property
    def bits_per_byte(self) -> float:
        """``nll / (ln 2 * n_bytes)``: comparable across tokenizers, unlike perplexity."""
        return self.nll / (math.log(2) * self.n_bytes)

    def __repr__(self) -> str:
        return (
            f"PerplexityResult(perplexity={self.perplexity:.4g} ± {self.perplexity_stderr:.2g}, "
            f"bits_per_byte={self.bits_per_byte:.4f}, n_tokens={self.n_tokens}, "
            f"n_bytes={self.n_bytes}, texts={len(self.per_text)})"
        )


def _check_window(model, max_length, stride) -> tuple[int, int]:
    context = model_context_length(model)
    if max_length is None:
        if context is None:
            raise ValueError(
                "the model's config gives no context length; pass max_length explicitly"
            )
        max_length = context
    if isinstance(max_length, bool) or not isinstance(max_length, int):
        raise TypeError(f"max_length must be an int, got {type(max_length).__name__}")
    if max_length < 2:
        raise ValueError(f"max_length={max_length} is too small; it must be at least 2")
    if context is not None and max_length > context:
        raise ValueError(
            f"max_length={max_length} is beyond the model's context length ({context} tokens); "
            f"use max_length <= {context}"
        )
    if stride is None:
        stride = max_length // 2
    if isinstance(stride, bool) or not isinstance(stride, int):
        raise TypeError(f"stride must be an int, got {type(stride).__name__}")
    if stride < 1:
        raise ValueError(f"stride={stride} must be positive (1 <= stride < max_length)")
    if stride >= max_length:
        raise ValueError(
            f"stride={stride} must be smaller than max_length={max_length} "
            f"(1 <= stride < max_length), or some tokens would be scored without context"
        )
    return max_length, stride


def tokenize_texts(tokenizer, texts) -> list[list[int]]:
    """Token ids of each text with the tokenizer's special tokens (BOS first, Llama-style)."""
    encoded = tokenizer(list(texts), add_special_tokens=True)["input_ids"]
    return [list(ids) for ids in encoded]


def perplexity(
    model,
    tokenizer,
    texts,
    *,
    max_length=None,
    stride=None,
    batch_size=8,
    progress=False,
):
    """Corpus perplexity and bits per byte of ``texts`` under a causal LM.

    Parameters
    ----------
    model : transformers.PreTrainedModel or llmlab.backends.Backend
        A causal LM, already loaded (any dtype, quantized or not), a llama.cpp model or a
        served model. It is not modified.
    tokenizer : transformers tokenizer
        Its tokenizer; texts are encoded with its special tokens (BOS first). May be None
        for a backend that has its own.
    texts : str or list of str
        The texts to score. Each needs at least two tokens (the first is context only).
    max_length : int, optional
        Window length in tokens; default and maximum is the model's context length.
    stride : int, optional
        How far each next window's end moves (``1 <= stride < max_length``); each token
        scored by a window after the first sees at least ``max_length - stride`` tokens of
        context (in the first window, token ``i`` sees ``i``). Default ``max_length // 2``.
    batch_size : int, default=8
        Windows per forward pass. It changes speed and memory, not the result.
    progress : bool, default=False
        Show a tqdm progress bar (works in notebooks and terminals).

    Returns
    -------
    PerplexityResult
        ``.perplexity``, ``.nll``, ``.n_tokens``, ``.n_bytes``, ``.bits_per_byte``,
        ``.per_text`` and ``.nll_stderr``.

    Examples
    --------
    >>> import llmlab
    >>> model = llmlab.load_model("tiny-llama")  # doctest: +SKIP
    >>> tok = llmlab.load_tokenizer("tiny-llama")  # doctest: +SKIP
    >>> res = llmlab.perplexity(model, tok, llmlab.datasets.load_docs("test")[:20])  # doctest: +SKIP
    >>> round(res.bits_per_byte, 2)  # doctest: +SKIP
    1.5
    """
    texts = check_texts(texts)
    backend = as_backend(model, tokenizer)
    max_length, stride = _check_window(backend, max_length, stride)
    check_positive_int("batch_size", batch_size)

    token_ids = tokenize_texts(backend.require_tokenizer("perplexity"), texts)
    for i, ids in enumerate(token_ids):
        if len(ids) < 2:
            raise ValueError(
                f"texts[{i}] is too short to score: it is {len(ids)} token(s) after "
                f"tokenization, and the first token is context only (need at least 2)"
            )
    requests, owners = rolling_requests(token_ids, max_length, stride)
    scored = score_requests(backend, requests, batch_size=batch_size, progress=progress,
                            desc="perplexity")
    nll_text = [0.0] * len(texts)
    count_text = [0] * len(texts)
    sum_sq = 0.0
    for i, (logp,) in zip(owners, scored):
        nll_text[i] += -float(logp.sum())
        count_text[i] += logp.size
        sum_sq += float(np.dot(logp, logp))

    total_nll = math.fsum(nll_text)
    n_tokens = sum(count_text)
    mean = total_nll / n_tokens
    if n_tokens > 1:
        var = max(sum_sq / n_tokens - mean * mean, 0.0) * n_tokens / (n_tokens - 1)
        stderr = math.sqrt(var / n_tokens)
    else:
        stderr = float("nan")
    bytes_text = [len(t.encode("utf-8")) for t in texts]
    return PerplexityResult(
        nll=total_nll,
        n_tokens=n_tokens,
        n_bytes=sum(bytes_text),
        per_text=[math.exp(n / c) for n, c in zip(nll_text, count_text)],
        per_text_nll=nll_text,
        per_text_tokens=count_text,
        nll_stderr=stderr,
        max_length=max_length,
        stride=stride,
        n_windows=len(requests),
        per_text_bytes=bytes_text,
    )
