"""Exact corpus perplexity of a causal LM, with sliding windows for long texts.

The semantics (also in DESIGN.md):

* each text is tokenized with the tokenizer's special tokens (a Llama-style BOS first); the
  first token is context only and every later token is scored exactly once;
* a text longer than ``max_length`` tokens is scored in windows of ``max_length`` tokens.
  The first covers tokens ``[0, max_length)``; each next window ends ``stride`` tokens after
  the previous one (the last ends at the text's end) and starts ``max_length`` tokens before
  its own end. It scores only the tokens no earlier window scored; the rest of the window is
  their context, so every scored token sees at least ``max_length - stride`` tokens before it;
* the corpus perplexity is ``exp(total NLL / scored tokens)``: token-weighted, never a mean
  of per-text or per-window perplexities;
* batching and padding never change the result beyond float rounding: windows are padded on
  the right with an attention mask, so no real token ever attends to a pad.

The model and the tokenizer are never modified (no pad token is set, no mode is changed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["PerplexityResult", "logits_at", "perplexity", "plan_windows", "tokenize_texts"]


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


def _check_texts(texts, what="score") -> list[str]:
    """A non-empty list of non-blank strings, else an error naming the bad item."""
    if isinstance(texts, str):
        texts = [texts]
    if texts is None:
        raise ValueError("texts is None; pass a string or a list of strings")
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(
            f"texts must be a string or a list of strings, got {type(texts).__name__}"
        ) from None
    if not texts:
        raise ValueError(f"texts is empty; pass at least one non-empty string to {what}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is a {type(t).__name__}, not a str")
        if not t.strip():
            raise ValueError(f"texts[{i}] is empty or only whitespace; there is nothing to {what}")
    return texts


def model_context_length(model) -> int | None:
    """The longest sequence the model's position embeddings allow, if the config says."""
    cfg = model.config
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(cfg, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


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


def plan_windows(n_tokens: int, max_length: int, stride: int) -> list[tuple[int, int, int]]:
    """The windows that score a text of ``n_tokens`` tokens.

    Returns ``(start, end, score_from)`` triples: the window holds tokens ``[start, end)`` and
    scores tokens ``[score_from, end)``, each predicted from everything before it in the window.

    Examples
    --------
    >>> plan_windows(10, max_length=4, stride=2)
    [(0, 4, 1), (2, 6, 4), (4, 8, 6), (6, 10, 8)]
    >>> plan_windows(3, max_length=4, stride=2)
    [(0, 3, 1)]
    """
    if n_tokens < 2:
        return []
    end = min(max_length, n_tokens)
    windows = [(0, end, 1)]
    while end < n_tokens:
        new_end = min(end + stride, n_tokens)
        windows.append((new_end - max_length, new_end, end))
        end = new_end
    return windows


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
    model : transformers.PreTrainedModel
        A causal LM, already loaded (any dtype, quantized or not). It is not modified.
    tokenizer : transformers tokenizer
        Its tokenizer; texts are encoded with its special tokens (BOS first).
    texts : str or list of str
        The texts to score. Each needs at least two tokens (the first is context only).
    max_length : int, optional
        Window length in tokens; default and maximum is the model's context length.
    stride : int, optional
        How far each next window's end moves (``1 <= stride < max_length``); each scored
        token sees at least ``max_length - stride`` tokens of context. Default
        ``max_length // 2``.
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
    import torch

    texts = _check_texts(texts)
    max_length, stride = _check_window(model, max_length, stride)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive int")

    token_ids = tokenize_texts(tokenizer, texts)
    jobs = []  # (text index, start, end, score_from)
    for i, ids in enumerate(token_ids):
        if len(ids) < 2:
            raise ValueError(
                f"texts[{i}] is too short to score: it is {len(ids)} token(s) after "
                f"tokenization, and the first token is context only (need at least 2)"
            )
        jobs.extend((i, s, e, f) for s, e, f in plan_windows(len(ids), max_length, stride))

    # Longest windows first: batches hold windows of similar length, so little padding.
    order = sorted(range(len(jobs)), key=lambda j: -(jobs[j][2] - jobs[j][1]))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = _model_device(model)

    nll_text = [0.0] * len(texts)
    count_text = [0] * len(texts)
    sum_sq = 0.0
    batches = [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
    bar = _progress(batches, progress, desc="perplexity", unit="batch")
    with torch.inference_mode():
        for batch in bar:
            input_ids, attention = pad_right(
                [token_ids[jobs[j][0]][jobs[j][1] : jobs[j][2]] for j in batch], pad_id
            )
            # Window position p predicts token p + 1: keep the positions before each scored
            # token, so the output layer runs on those rows only.
            keep = torch.zeros(input_ids.shape, dtype=torch.bool)
            for row, j in enumerate(batch):
                _, s, e, f = jobs[j]
                keep[row, f - s - 1 : e - s - 1] = True
            logits = logits_at(model, input_ids, attention, keep, device)
            target = input_ids.roll(-1, dims=1)[keep].to(logits.device)
            token_nll = torch.nn.functional.cross_entropy(
                logits.float(), target, reduction="none"
            ).double()
            sum_sq += (token_nll * token_nll).sum().item()
            for j, part in zip(batch, torch.split(token_nll, keep.sum(dim=1).tolist())):
                i = jobs[j][0]
                nll_text[i] += part.sum().item()
                count_text[i] += part.numel()
            del logits

    total_nll = math.fsum(nll_text)
    n_tokens = sum(count_text)
    mean = total_nll / n_tokens
    if n_tokens > 1:
        var = max(sum_sq / n_tokens - mean * mean, 0.0) * n_tokens / (n_tokens - 1)
        stderr = math.sqrt(var / n_tokens)
    else:
        stderr = float("nan")
    return PerplexityResult(
        nll=total_nll,
        n_tokens=n_tokens,
        n_bytes=sum(len(t.encode("utf-8")) for t in texts),
        per_text=[math.exp(n / c) for n, c in zip(nll_text, count_text)],
        per_text_nll=nll_text,
        per_text_tokens=count_text,
        nll_stderr=stderr,
        max_length=max_length,
        stride=stride,
        n_windows=len(jobs),
    )


def logits_at(model, input_ids, attention_mask, keep, device=None):
    """Logits at the positions where ``keep`` is True, as one ``(n_kept, vocab)`` tensor.

    Rows come in row-major order of ``keep`` (batch row, then position), as ``x[keep]``
    gives them. The output layer (the largest matmul of a small model) runs on the kept
    positions only, through transformers' ``logits_to_keep`` with a boolean mask; a model
    whose ``forward`` cannot take one gets a full forward pass and is sliced afterwards, with
    the same result.
    """
    import torch

    if device is None:
        device = _model_device(model)
    kwargs = {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}
    if _takes_bool_logits_to_keep(model):
        kwargs["logits_to_keep"] = keep.to(device)
    logits = model(**kwargs).logits
    if logits.dim() == 3:  # the model computed every position
        logits = logits[keep.to(logits.device)]
    if logits.shape[0] != int(keep.sum()):
        raise RuntimeError(
            f"the model returned {logits.shape[0]} logit rows for {int(keep.sum())} kept "
            "positions; its forward does not follow transformers' logits_to_keep"
        )
    return logits


def _takes_bool_logits_to_keep(model) -> bool:
    """Whether ``model.forward`` slices its hidden states with a boolean ``logits_to_keep``.

    transformers 5 does (``modeling_utils.slice_logits_to_keep``); 4.x takes only an int or
    a 1-D tensor, and a custom model may not take the argument at all.
    """
    import inspect

    try:
        from transformers.modeling_utils import slice_logits_to_keep  # noqa: F401
    except ImportError:
        return False
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False
    return "logits_to_keep" in params


def pad_right(sequences, pad_id):
    """Right-pad token id lists into ``(input_ids, attention_mask)`` LongTensors.

    Padding on the right keeps every real token's position id and, with the causal mask, its
    logits exactly as in an unpadded run: no real token attends to a pad.
    """
    import torch

    width = max(len(seq) for seq in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        attention[row, : len(seq)] = 1
    return input_ids, attention


def _model_device(model):
    import torch

    try:
        return next(model.parameters()).device
    except StopIteration:  # pragma: no cover - a model always has parameters
        return torch.device("cpu")


def _progress(iterable, enabled, **kwargs):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)
