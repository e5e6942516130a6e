"""The scoring core: every log-probability the library reads comes through here.

Everything llmlab scores is one kind of request: a *context* of token ids followed by one or
more *continuations*, and the answer is the log-probability of each continuation token given
everything before it. The two ways the library uses it:

* **continuation log-likelihood** -- a prompt and the label or choice continuations after it
  (:func:`llmlab.classify`, multiple choice, reference scoring);
* **rolling windows** -- the end-based sliding windows of :func:`llmlab.perplexity`: each
  window is a request whose context is the part already scored by an earlier window and
  whose one continuation is the tokens the window scores (:func:`rolling_requests`).

:func:`score_requests` owns the loop: the context-length check, length-sorted batching,
the progress bar, and handing each batch to a *backend*, the small interface behind which a
model lives (:class:`Backend`). :class:`TransformersBackend` runs an in-process transformers
model: right padding with an attention mask (no real token attends to a pad, so batching
changes nothing beyond float rounding), inputs on the device of the model's input
embeddings, the output layer run only on the positions that are scored, and a shared
context computed once for all its continuations. Another kind of model (one behind an HTTP
server, say) plugs in by implementing :meth:`Backend.score_batch`; perplexity, classify and
the tasks do not change.

The model is never modified (no mode change, no pad token set).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Backend",
    "Request",
    "TransformersBackend",
    "as_backend",
    "check_batch_size",
    "check_str_list",
    "check_texts",
    "continuation_requests",
    "model_context_length",
    "model_device",
    "pad_right",
    "plan_windows",
    "progress_bar",
    "rolling_requests",
    "score_requests",
]


@dataclass(frozen=True)
class Request:
    """Score ``continuations``, each as it follows ``context``.

    Attributes
    ----------
    context : tuple of int
        Token ids given as context only (at least one: the first token is never scored).
    continuations : tuple of tuple of int
        One or more token id sequences, each scored independently after ``context``.
    name : str
        What the request came from (``"texts[3]"``), used in error messages.
    """

    context: tuple
    continuations: tuple
    name: str = "request"

    @property
    def longest(self) -> int:
        """Tokens in the context plus the longest continuation."""
        return len(self.context) + max(len(c) for c in self.continuations)


class Backend:
    """How the scoring core talks to a model.

    Subclasses set :attr:`context_length` (``None`` when unknown) and implement
    :meth:`score_batch`.
    """

    context_length = None

    def set_tokenizer(self, tokenizer) -> None:
        """Told the tokenizer of the ids it will score (a server needs it to send text)."""

    def score_batch(self, requests: list) -> list:
        """Per request, per continuation: an array of its tokens' log-probabilities (nats).

        ``result[r][k][t]`` is ``log p(continuation_k[t] | context + continuation_k[:t])``
        for request ``r``, as float64.
        """
        raise NotImplementedError


def model_context_length(model) -> int | None:
    """The longest sequence the model's position embeddings allow, if its config says."""
    if isinstance(model, Backend):
        return model.context_length
    cfg = getattr(model, "config", None)
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(cfg, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def model_device(model):
    """Where a model's inputs go: the device of its input embeddings.

    With ``device_map="auto"`` a model's layers may sit on several devices; its input ids go
    where its embedding table is.
    """
    import torch

    try:
        return model.get_input_embeddings().weight.device
    except (AttributeError, NotImplementedError):
        pass
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


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
        input_ids[row, : len(seq)] = torch.tensor(list(seq), dtype=torch.long)
        attention[row, : len(seq)] = 1
    return input_ids, attention


def check_texts(texts, what="score") -> list[str]:
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


def check_str_list(values, name: str, *, allow_empty_items: bool = False) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"{name} must be a list of strings, got the string {values[:40]!r}")
    if values is None:
        raise ValueError(f"{name} is None; pass a list of strings")
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"{name} must be a list of strings, got {type(values).__name__}") from None
    if not values:
        raise ValueError(f"{name} is empty; pass at least one string")
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise TypeError(f"{name}[{i}] is a {type(v).__name__}, not a str")
        if not allow_empty_items and not v.strip():
            raise ValueError(f"{name}[{i}] is empty or only whitespace")
    return values


def check_batch_size(batch_size) -> int:
    """``batch_size`` if it is a positive int, else a ValueError naming it."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive int")
    return batch_size


def progress_bar(iterable, enabled, **kwargs):
    """``iterable`` wrapped in a tqdm bar (notebook or terminal) when ``enabled``."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def plan_windows(n_tokens: int, max_length: int, stride: int) -> list[tuple[int, int, int]]:
    """The windows that score a text of ``n_tokens`` tokens.

    Returns ``(start, end, score_from)`` triples: the window holds tokens ``[start, end)`` and
    scores tokens ``[score_from, end)``, each predicted from everything before it in the window.
    The first window covers ``[0, max_length)``; each next one ends ``stride`` tokens after the
    previous one (the last at the text's end) and starts ``max_length`` tokens before its end.

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


def rolling_requests(token_ids, max_length: int, stride: int, *, names=None):
    """Requests that score every token of each sequence but the first, exactly once.

    Returns ``(requests, owners)``: ``owners[r]`` is the index of the sequence request ``r``
    scores part of. The windows are :func:`plan_windows`'.

    Examples
    --------
    >>> reqs, owners = rolling_requests([[5, 6, 7, 8, 9]], max_length=4, stride=2)
    >>> [(r.context, r.continuations) for r in reqs], owners
    ([((5,), ((6, 7, 8),)), ((6, 7, 8), ((9,),))], [0, 0])
    """
    requests, owners = [], []
    for i, ids in enumerate(token_ids):
        name = names[i] if names is not None else f"texts[{i}]"
        for start, end, first in plan_windows(len(ids), max_length, stride):
            requests.append(
                Request(tuple(ids[start:first]), (tuple(ids[first:end]),), name=name)
            )
            owners.append(i)
    return requests, owners


def continuation_requests(contexts, continuations, *, names=None):
    """One request per context: ``continuations[i]`` (a list of token id lists) after
    ``contexts[i]``.

    Examples
    --------
    >>> [r.name for r in continuation_requests([[1, 2], [1]], [[[3]], [[3], [4, 5]]])]
    ['texts[0]', 'texts[1]']
    """
    if len(contexts) != len(continuations):
        raise ValueError(
            f"{len(contexts)} contexts but {len(continuations)} lists of continuations"
        )
    out = []
    for i, (ctx, conts) in enumerate(zip(contexts, continuations)):
        name = names[i] if names is not None else f"texts[{i}]"
        out.append(Request(tuple(ctx), tuple(tuple(c) for c in conts), name=name))
    return out


def score_requests(model, requests, *, batch_size=8, progress=False, desc="scoring",
                   tokenizer=None):
    """Score every request; the one loop the library runs a model in.

    Parameters
    ----------
    model : transformers model or Backend
        A loaded causal LM (wrapped in :class:`TransformersBackend`) or any :class:`Backend`.
    requests : list of Request
    batch_size : int, default=8
        Requests per batch (speed and memory only, never the result beyond float rounding).
    progress : bool, default=False
        Show a tqdm progress bar.
    desc : str
        The progress bar's label.
    tokenizer : transformers tokenizer, optional
        The tokenizer the ids come from, handed to the backend (a served model sends text).

    Returns
    -------
    list
        ``result[r][k]``: float64 array of the log-probabilities of request ``r``'s
        continuation ``k``, token by token.

    Raises
    ------
    ValueError
        If a request has no context token, an empty continuation, or is longer than the
        model's context length (llmlab never truncates silently).
    """
    check_batch_size(batch_size)
    backend = as_backend(model)
    if tokenizer is not None:
        backend.set_tokenizer(tokenizer)
    limit = backend.context_length
    for req in requests:
        if not req.context:
            raise ValueError(
                f"{req.name} has no context token: nothing predicts its first scored token "
                f"(the tokenizer adds no BOS); give a non-empty context"
            )
        if not req.continuations or any(len(c) == 0 for c in req.continuations):
            raise ValueError(f"{req.name}: a continuation encodes to no tokens")
        if limit is not None and req.longest > limit:
            raise ValueError(
                f"{req.name} is too long: {len(req.context)} context tokens plus "
                f"{req.longest - len(req.context)} scored tokens make {req.longest}, longer "
                f"than the model's context length {limit}; shorten it (llmlab never "
                f"truncates silently)"
            )
    # Longest first: a batch holds requests of similar length, so little padding.
    order = sorted(range(len(requests)), key=lambda r: -requests[r].longest)
    batches = [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
    results = [None] * len(requests)
    for batch in progress_bar(batches, progress, desc=desc, unit="batch"):
        scored = backend.score_batch([requests[r] for r in batch])
        if len(scored) != len(batch):
            raise RuntimeError(
                f"{type(backend).__name__}.score_batch returned {len(scored)} results for "
                f"{len(batch)} requests"
            )
        for r, res in zip(batch, scored):
            results[r] = res
    return results


def as_backend(model) -> Backend:
    """``model`` itself if it is a :class:`Backend`, else a :class:`TransformersBackend`."""
    if isinstance(model, Backend):
        return model
    if not hasattr(model, "config") or not callable(model):
        raise TypeError(
            f"model is a {type(model).__name__}; pass a transformers causal LM (from "
            f"llmlab.load_model) or a llmlab.scoring.Backend"
        )
    return TransformersBackend(model)


class TransformersBackend(Backend):
    """A transformers causal LM, run in process.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        Not modified; run under ``torch.inference_mode``.
    pad_id : int, default=0
        Token id used for padding (masked out, so its value does not matter).
    """

    def __init__(self, model, pad_id: int = 0):
        self.model = model
        self.pad_id = pad_id
        self.context_length = model_context_length(model)
        self.device = model_device(model)
        self._bool_logits_to_keep = _takes_bool_logits_to_keep(model)

    def score_batch(self, requests):
        import torch

        with torch.inference_mode():
            if all(len(r.continuations) == 1 for r in requests):
                return self._score_flat(requests)
            return self._score_shared(requests)

    # -- one sequence per (request, continuation) ------------------------------------------
    def _score_flat(self, requests):
        import torch

        seqs = [(r, k) for r, req in enumerate(requests) for k in range(len(req.continuations))]
        ids, mask = pad_right(
            [requests[r].context + requests[r].continuations[k] for r, k in seqs], self.pad_id
        )
        # Position p predicts token p + 1: keep the positions before each scored token.
        keep = torch.zeros(ids.shape, dtype=torch.bool)
        for row, (r, k) in enumerate(seqs):
            n = len(requests[r].context)
            keep[row, n - 1 : n - 1 + len(requests[r].continuations[k])] = True
        logits = self.logits_at(ids, mask, keep)
        target = ids.roll(-1, dims=1)[keep].to(logits.device)
        logp = _gather_logprobs(logits, target)
        parts = torch.split(logp, keep.sum(dim=1).tolist())
        out = [[None] * len(req.continuations) for req in requests]
        for (r, k), part in zip(seqs, parts):
            out[r][k] = part.cpu().numpy()
        return out

    # -- each context once, all its continuations after it ------------------------------
    def _score_shared(self, requests):
        """Pass 1 runs the contexts and reads every continuation's first token at the last
        context position; continuations longer than one token then run on top of the
        context's cached keys and values (repeated per continuation, as beam search does),
        with explicit positions and a mask hiding the context padding. Falls back to one
        full sequence per continuation where the model gives no reorderable cache."""
        import torch

        n_ctx = [len(r.context) for r in requests]
        width = max(n_ctx)
        ids, mask = pad_right([r.context for r in requests], self.pad_id)
        need_cache = any(len(c) > 1 for r in requests for c in r.continuations)
        keep = torch.zeros(ids.shape, dtype=torch.bool)
        for row, n in enumerate(n_ctx):
            keep[row, n - 1] = True
        cache = None
        if need_cache:
            window = getattr(self.model.config, "sliding_window", None)
            longest = max(len(c) - 1 for r in requests for c in r.continuations)
            if isinstance(window, int) and width + longest > window:
                return self._expand(requests)  # a sliding-window cache drops keys
            out1, last = self._forward(
                keep, input_ids=ids, attention_mask=mask, use_cache=True
            )
            cache = getattr(out1, "cache", None)
            if cache is None:
                cache = getattr(out1, "past_key_values", None)
            if cache is None or not hasattr(cache, "reorder_cache"):
                return self._expand(requests)
        else:
            last = self.logits_at(ids, mask, keep)
        first = torch.log_softmax(last.double(), -1)
        out = []
        rows = []  # (batch row, continuation index) of the continuations longer than one token
        for row, req in enumerate(requests):
            firsts = torch.tensor([c[0] for c in req.continuations], device=first.device)
            lp = first[row, firsts].cpu().numpy()
            out.append([np.array([lp[k]], dtype=np.float64) for k in range(len(lp))])
            rows.extend((row, k) for k, c in enumerate(req.continuations) if len(c) > 1)
        if not rows:
            return out
        length = max(len(requests[row].continuations[k]) - 1 for row, k in rows)
        params = inspect.signature(type(self.model).forward).parameters
        cache_kw = "cache" if "cache" in params else "past_key_values"
        cache.reorder_cache(torch.tensor([row for row, _ in rows], device=self.device))
        ids2 = torch.full((len(rows), length), self.pad_id, dtype=torch.long)
        mask2 = torch.zeros((len(rows), width + length), dtype=torch.long)
        positions = torch.zeros((len(rows), length), dtype=torch.long)
        keep2 = torch.zeros((len(rows), length), dtype=torch.bool)
        targets = []
        for j, (row, k) in enumerate(rows):
            cont = requests[row].continuations[k]
            ids2[j, : len(cont) - 1] = torch.tensor(cont[:-1])  # inputs predicting 1..m-1
            keep2[j, : len(cont) - 1] = True
            mask2[j, : n_ctx[row]] = 1
            mask2[j, width : width + len(cont) - 1] = 1
            positions[j] = n_ctx[row] + torch.arange(length)
            targets.extend(cont[1:])
        _, logits2 = self._forward(
            keep2,
            input_ids=ids2,
            attention_mask=mask2,
            position_ids=positions,
            use_cache=True,
            **{cache_kw: cache},
        )
        tail = _gather_logprobs(logits2, torch.tensor(targets)).cpu().numpy()
        pos = 0
        for row, k in rows:
            n = len(requests[row].continuations[k]) - 1
            out[row][k] = np.concatenate([out[row][k], tail[pos : pos + n]])
            pos += n
        return out

    def _expand(self, requests):
        flat = [
            Request(req.context, (c,), req.name) for req in requests for c in req.continuations
        ]
        scored = self._score_flat(flat)
        out, pos = [], 0
        for req in requests:
            out.append([scored[pos + k][0] for k in range(len(req.continuations))])
            pos += len(req.continuations)
        return out

    def _forward(self, keep, **kwargs):
        """Run the model (tensors moved to its device) with the output layer on the ``keep``
        positions; returns the output and the kept logits, ``(n_kept, vocab)``."""
        import torch

        kwargs = {
            k: v.to(self.device) if isinstance(v, torch.Tensor) else v
            for k, v in kwargs.items()
        }
        if self._bool_logits_to_keep:
            kwargs["logits_to_keep"] = keep.to(self.device)
        out = self.model(**kwargs)
        logits = out.logits
        if logits.dim() == 3:  # the model computed every position
            logits = logits[keep.to(logits.device)]
        if logits.shape[0] != int(keep.sum()):
            raise RuntimeError(
                f"the model returned {logits.shape[0]} logit rows for {int(keep.sum())} kept "
                "positions; its forward does not follow transformers' logits_to_keep"
            )
        return out, logits

    def logits_at(self, input_ids, attention_mask, keep):
        """Logits at the positions where ``keep`` is True, as one ``(n_kept, vocab)`` tensor.

        Rows come in row-major order of ``keep``. The output layer (the largest matmul of a
        small model) runs on the kept positions only, through transformers'
        ``logits_to_keep`` with a boolean mask; a model whose ``forward`` cannot take one gets
        a full forward pass, sliced afterwards, with the same result.
        """
        return self._forward(keep, input_ids=input_ids, attention_mask=attention_mask)[1]


def _gather_logprobs(logits, target):
    """``log_softmax(logits)[row, target[row]]`` per row, returned as float64.

    The softmax runs in float32 (as a float32 cross-entropy would): float64 would double the
    memory of the largest tensor of a perplexity batch for a difference far below 1e-6.
    """
    import torch

    # cross_entropy is log_softmax and gather fused: no (rows, vocab) log-prob tensor is made
    nll = torch.nn.functional.cross_entropy(
        logits.float(), target.to(logits.device), reduction="none"
    )
    return (-nll).double()


def _takes_bool_logits_to_keep(model) -> bool:
    """Whether ``model.forward`` slices its hidden states with a boolean ``logits_to_keep``.

    transformers 5 does (``modeling_utils.slice_logits_to_keep``); 4.x takes only an int or
    a 1-D tensor, and a custom model may not take the argument at all.
    """
    try:
        from transformers.modeling_utils import slice_logits_to_keep  # noqa: F401
    except ImportError:
        return False
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False
    return "logits_to_keep" in params
