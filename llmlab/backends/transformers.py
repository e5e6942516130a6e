"""A transformers causal LM run in process, as a :class:`~llmlab.backends.base.Backend`.

Scoring pads on the right with an attention mask (no real token attends to a pad, so batching
changes nothing beyond float rounding), puts inputs on the device of the model's input
embeddings, runs the output layer only on the positions that are scored, and computes a
shared context once for all its continuations. Generation pads on the left (every prompt
ends where generation starts) and calls ``model.generate``.

The model is never modified (no mode change, no pad token set).
"""

from __future__ import annotations

import inspect

import numpy as np

from llmlab.backends.base import Backend, Request, model_context_length
from llmlab.provenance import Provenance, provenance_of

__all__ = ["TransformersBackend", "model_device", "pad_left", "pad_right"]


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


def pad_left(sequences, pad_id):
    """Left-pad token id lists into ``(input_ids, attention_mask)`` LongTensors, so every
    sequence ends in the last column (where generation continues); ``generate`` derives the
    positions from the mask."""
    import torch

    width = max(len(seq) for seq in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, width - len(seq):] = torch.tensor(list(seq), dtype=torch.long)
        attention[row, width - len(seq):] = 1
    return input_ids, attention


class TransformersBackend(Backend):
    """A transformers causal LM, run in process.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        Not modified; run under ``torch.inference_mode``.
    tokenizer : transformers tokenizer, optional
        Its tokenizer (needed to generate; scoring reads token ids only).
    pad_id : int, default=0
        Token id used for padding (masked out, so its value does not matter).
    """

    def __init__(self, model, tokenizer=None, *, pad_id: int = 0):
        self.model = model
        self.tokenizer = tokenizer
        self.pad_id = pad_id
        self.context_length = model_context_length(model)
        self.device = model_device(model)
        self._bool_logits_to_keep = _takes_bool_logits_to_keep(model)

    def __repr__(self):
        name = getattr(getattr(self.model, "config", None), "name_or_path", None)
        return f"TransformersBackend({name or type(self.model).__name__!r})"

    @property
    def info(self) -> Provenance:
        """The record :func:`llmlab.load_model` left on the model, else what the model says."""
        record = provenance_of(self.model)
        if record is not None:
            return record
        return Provenance(
            source=getattr(self.model.config, "name_or_path", None), format="transformers",
            dtype=str(getattr(self.model, "dtype", "")).replace("torch.", "") or None,
            device=str(self.device),
        )

    # -- generation -----------------------------------------------------------------------
    def _generate_batch(self, prompt_ids, settings):
        """One ``model.generate`` call on the left-padded prompts; a seed seeds torch's
        generator for this call only (the global random state is restored)."""
        import torch

        tok = self.tokenizer
        eos = tok.eos_token_id
        pad = tok.pad_token_id
        if pad is None:
            pad = eos if eos is not None else self.pad_id
        ids, mask = pad_left(prompt_ids, pad)
        width = ids.shape[1]
        # max_length = width + max_new_tokens is the same bound as max_new_tokens; it avoids
        # transformers' "both max_new_tokens and max_length" warning for models whose
        # generation_config.json sets max_length.
        kwargs = {"max_length": width + settings.max_new_tokens, "pad_token_id": pad,
                  "eos_token_id": eos, "do_sample": not settings.greedy}
        if not settings.greedy:
            # top_k 0: sample from top_p alone, as the other engines are asked to
            kwargs.update(temperature=settings.temperature, top_p=settings.top_p, top_k=0)
        if settings.stop:
            kwargs.update(stop_strings=list(settings.stop), tokenizer=tok)
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.inference_mode(), torch.random.fork_rng(devices=devices,
                                                           enabled=settings.seed is not None):
            if settings.seed is not None:
                torch.manual_seed(settings.seed)
            out = self.model.generate(input_ids=ids.to(self.device),
                                      attention_mask=mask.to(self.device), **kwargs)
        rows = out[:, width:].tolist()
        results = []
        for row in rows:
            # after an end-of-sequence token a finished row holds padding only
            n_new = row.index(eos) + 1 if eos in row else len(row)
            if eos not in row and pad != eos:
                while n_new and row[n_new - 1] == pad:
                    n_new -= 1
            results.append((row[: n_new - 1] if eos in row else row[:n_new], None, n_new, None))
        return results

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
