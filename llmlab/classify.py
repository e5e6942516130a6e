"""A causal LM used as a classifier, by the log-likelihood it gives each label.

For every text the prompt is ``template.format(text=text)``; for every label the
continuation is ``label_template.format(label=label)``. The score of a label is the summed
log-probability of its continuation tokens given the prompt. Normalising the scores over the
labels (a softmax) gives a probability per label; the positive label's probability is the
``y_score`` that precision-recall curves and thresholds work on.

When every label's continuation is a single token (as " ham" and " spam" are for the bundled
models) one forward pass per text reads all the labels' scores off the next-token
distribution. Otherwise each (text, label) pair gets its own sequence. Batches are padded on
the right with an attention mask, so batching never changes a score beyond float rounding.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from llmlab.perplexity import _check_texts, logits_at, model_context_length, pad_right
from llmlab.prompts import LABEL_TEMPLATE, SPAM_LABELS, SPAM_TEMPLATE

__all__ = ["ClassificationResult", "classify"]


@dataclass(frozen=True)
class ClassificationResult:
    """What :func:`classify` returns.

    Attributes
    ----------
    labels : tuple of str
        The candidate labels, in the order of the columns of ``label_logprobs``.
    positive : str
        The positive label.
    label_logprobs : ndarray of shape (n_texts, n_labels)
        Summed log-probability of each label's continuation given the prompt, in nats.
    y_score : ndarray of shape (n_texts,)
        Probability of the positive label, normalised over ``labels``.
    y_pred : list of str
        Predicted labels: for two labels, the positive one where ``y_score >= threshold``;
        for more, the most likely label.
    threshold : float
    """

    labels: tuple
    positive: str
    label_logprobs: np.ndarray
    y_score: np.ndarray
    y_pred: list
    threshold: float

    @property
    def probabilities(self) -> np.ndarray:
        """Per-label probabilities, normalised over ``labels`` (rows sum to 1)."""
        return _softmax(self.label_logprobs)

    def predict(self, threshold: float) -> list:
        """Predictions at another threshold on ``y_score`` (two labels only)."""
        _check_threshold(threshold)
        if len(self.labels) != 2:
            raise ValueError("a threshold applies to two labels; with more, use y_pred")
        negative = self.labels[0] if self.labels[1] == self.positive else self.labels[1]
        return [self.positive if s >= threshold else negative for s in self.y_score]


def _softmax(x):
    x = np.asarray(x, dtype=np.float64)
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _check_threshold(threshold):
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not 0.0 <= float(threshold) <= 1.0
    ):
        raise ValueError(f"threshold={threshold!r} must be a number between 0 and 1")


def _check_args(texts, labels, positive, template, label_template):
    texts = _check_texts(texts, what="classify")
    if isinstance(labels, str):
        raise TypeError(f"labels must be a sequence of label strings, got the string {labels!r}")
    labels = tuple(labels)
    if len(labels) < 2:
        raise ValueError(f"labels={labels!r}: a classifier needs at least two labels")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels={labels!r} has duplicates")
    for lab in labels:
        if not isinstance(lab, str) or not lab.strip():
            raise ValueError(f"labels={labels!r}: each label must be a non-empty string")
    if positive not in labels:
        raise ValueError(f"positive={positive!r} is not one of labels={labels!r}")
    if "{text}" not in template:
        raise ValueError(f"template={template!r} must contain the placeholder {{text}}")
    if "{label}" not in label_template:
        raise ValueError(f"label_template={label_template!r} must contain {{label}}")
    return texts, labels


def classify(
    model,
    tokenizer,
    texts,
    *,
    labels=SPAM_LABELS,
    positive="spam",
    template=SPAM_TEMPLATE,
    label_template=LABEL_TEMPLATE,
    threshold=0.5,
    batch_size=16,
    progress=False,
):
    """Classify texts by the likelihood a causal LM gives each label after a prompt.

    Parameters
    ----------
    model, tokenizer
        A loaded causal LM and its tokenizer. Neither is modified.
    texts : str or list of str
        The messages to classify.
    labels : sequence of str, default=("ham", "spam")
        Candidate labels.
    positive : str, default="spam"
        The label whose probability is ``y_score``.
    template : str, default="Message: {text}\\nLabel:"
        The prompt; the bundled models were trained with this one.
    label_template : str, default=" {label}"
        What follows the prompt for each label.
    threshold : float, default=0.5
        Two labels: predict ``positive`` where ``y_score >= threshold``.
    batch_size : int, default=16
        Sequences per forward pass (speed and memory only).
    progress : bool, default=False
        Show a tqdm progress bar.

    Returns
    -------
    ClassificationResult
        With ``y_score``, ``y_pred``, ``label_logprobs`` and ``probabilities``.

    Examples
    --------
    >>> import llmlab
    >>> model = llmlab.load_model("tiny-llama")  # doctest: +SKIP
    >>> tok = llmlab.load_tokenizer("tiny-llama")  # doctest: +SKIP
    >>> out = llmlab.classify(model, tok, ["WIN a FREE prize, reply now"])  # doctest: +SKIP
    >>> out.y_pred  # doctest: +SKIP
    ['spam']
    """
    import torch

    texts, labels = _check_args(texts, labels, positive, template, label_template)
    _check_threshold(threshold)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive int")

    prompts = tokenizer([template.format(text=t) for t in texts], add_special_tokens=True)[
        "input_ids"
    ]
    conts = tokenizer(
        [label_template.format(label=lab) for lab in labels], add_special_tokens=False
    )["input_ids"]
    for lab, ids in zip(labels, conts):
        if not ids:
            raise ValueError(f"label {lab!r} encodes to no tokens with this tokenizer")
    context = model_context_length(model)
    longest_cont = max(len(c) for c in conts)
    for i, ids in enumerate(prompts):
        if context is not None and len(ids) + longest_cont > context:
            raise ValueError(
                f"texts[{i}] is too long: its prompt is {len(ids)} tokens and the model's "
                f"context is {context}; shorten it (llmlab never truncates silently)"
            )

    single = all(len(c) == 1 for c in conts)
    if single:
        # One sequence per text; every label's score is read at the prompt's last position.
        seqs = [(i, list(p), None) for i, p in enumerate(prompts)]
    else:
        seqs = [(i, list(p) + list(c), k) for i, p in enumerate(prompts) for k, c in enumerate(conts)]

    scores = np.zeros((len(texts), len(labels)), dtype=np.float64)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    order = sorted(range(len(seqs)), key=lambda j: -len(seqs[j][1]))
    batches = [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="classify", unit="batch")
    label_first = torch.tensor([c[0] for c in conts])
    with torch.inference_mode():
        for batch in batches:
            ids, mask = pad_right([seqs[j][1] for j in batch], pad_id)
            # The logits needed: at the prompt's last position (single-token labels), or
            # before each continuation token; the output layer runs on those rows only.
            keep = torch.zeros(ids.shape, dtype=torch.bool)
            for row, j in enumerate(batch):
                _, seq, k = seqs[j]
                if single:  # the label token would follow the whole prompt
                    keep[row, len(seq) - 1] = True
                else:  # position p predicts token p + 1 of prompt + continuation
                    n = len(conts[k])
                    keep[row, len(seq) - 1 - n : len(seq) - 1] = True
            logits = logits_at(model, ids, mask, keep, device)
            logp = torch.log_softmax(logits.double(), -1)
            if single:
                rows = [seqs[j][0] for j in batch]
                scores[rows] = logp[:, label_first.to(logp.device)].cpu().numpy()
                continue
            target = ids.roll(-1, dims=1)[keep].to(logp.device)
            picked = logp.gather(1, target[:, None])[:, 0]
            for j, part in zip(batch, torch.split(picked, keep.sum(dim=1).tolist())):
                i, _, k = seqs[j]
                scores[i, k] = part.sum().item()

    probs = _softmax(scores)
    pos = labels.index(positive)
    y_score = probs[:, pos]
    if len(labels) == 2:
        negative = labels[1 - pos]
        y_pred = [positive if s >= threshold else negative for s in y_score]
    else:
        y_pred = [labels[k] for k in probs.argmax(axis=1)]
    return ClassificationResult(
        labels=labels,
        positive=positive,
        label_logprobs=scores,
        y_score=y_score,
        y_pred=y_pred,
        threshold=float(threshold),
    )
