"""The scoring core: every log-probability the library reads comes through here.

Everything llmlab scores is one kind of request (:class:`~llmlab.backends.base.Request`): a
*context* of token ids followed by one or more *continuations*, and the answer is the
log-probability of each continuation token given everything before it. The two ways the
library uses it:

* **continuation log-likelihood** -- a prompt and the label or choice continuations after it
  (:func:`llmlab.classify`, multiple choice, reference scoring);
* **rolling windows** -- the end-based sliding windows of :func:`llmlab.perplexity`: each
  window is a request whose context is the part already scored by an earlier window and
  whose one continuation is the tokens the window scores (:func:`rolling_requests`).

:func:`score_requests` owns the loop: the context-length check, length-sorted batching,
the progress bar, and handing each batch to a backend (:mod:`llmlab.backends`): a
transformers model in process, a GGUF file run by llama.cpp, or a served model. Perplexity,
classify and the tasks do not depend on which.
"""

from __future__ import annotations

from llmlab.backends import as_backend
from llmlab.backends.base import Backend, Request, longest_first, model_context_length
from llmlab.validation import check_positive_int

__all__ = [
    "Backend",
    "Request",
    "as_backend",
    "continuation_requests",
    "model_context_length",
    "plan_windows",
    "progress_bar",
    "rolling_requests",
    "score_requests",
]


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
        A loaded causal LM or any backend, turned into one backend with
        :func:`llmlab.backends.as_backend` (a backend is used as it is).
    requests : list of Request
    batch_size : int, default=8
        Requests per batch (speed and memory only, never the result beyond float rounding).
    progress : bool, default=False
        Show a tqdm progress bar.
    desc : str
        The progress bar's label.
    tokenizer : transformers tokenizer, optional
        The tokenizer the ids come from (a served model sends text; llama.cpp checks it
        against its file).

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
    check_positive_int("batch_size", batch_size)
    backend = as_backend(model, tokenizer)
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
    batches = longest_first([r.longest for r in requests], batch_size)
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
