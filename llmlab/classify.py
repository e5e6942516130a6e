"""A causal LM used as a classifier, by the log-likelihood it gives each label.

For every text the prompt is ``template.format(text=text)``; for every label the
continuation is ``label_template.format(label=label)``. The score of a label is the summed
log-probability of its continuation tokens given the prompt. Normalising the scores over the
labels (a softmax) gives a probability per label; the positive label's probability is the
``y_score`` that precision-recall curves and thresholds work on.

Each text is one request to the scoring core (:mod:`llmlab.scoring`), the labels its
continuations: the prompt runs once, single-token labels (" ham" and " spam" for the bundled
models) are read off its last position, and longer labels continue from its cached keys and
values. Batching never changes a score beyond float rounding.

Two options fix what a zero-shot label-likelihood classifier gets wrong (both off by default):

* ``content_free="N/A"`` applies contextual calibration (Zhao et al., 2021, "Calibrate Before
  Use"): the content-free input is scored through the same template, and its label
  probabilities, the model's bias towards each label word, are divided out of every text's
  (:func:`llmlab.metrics.contextual_calibration`);
* ``threshold=`` takes a threshold chosen on a validation split for a stated criterion
  (:func:`llmlab.metrics.choose_threshold`) instead of 0.5.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from llmlab._numeric import softmax
from llmlab.backends import as_backend
from llmlab.metrics.calibration import contextual_calibration
from llmlab.prompts import (
    CHAT_LABEL_TEMPLATE,
    LABEL_TEMPLATE,
    SPAM_LABELS,
    SPAM_TEMPLATE,
    check_template,
    is_chat,
    render_prompts,
)
from llmlab.scoring import continuation_requests, score_requests
from llmlab.validation import check_positive_int, check_texts

__all__ = ["ClassificationResult", "classify"]


@dataclass(frozen=True)
class ClassificationResult:
    """What :func:`classify` returns.

    Attributes
    ----------
    labels : tuple of str
        The candidate labels, in the order of the columns of ``label_logprobs``.
    positive : str
        The positive label (also read as ``pos_label``).
    label_logprobs : ndarray of shape (n_texts, n_labels)
        Summed log-probability of each label's continuation given the prompt, in nats.
    y_score : ndarray of shape (n_texts,)
        Probability of the positive label, normalised over ``labels``.
    y_pred : list of str
        Predicted labels: for two labels, the positive one where ``y_score >= threshold``;
        for more, the most likely label.
    threshold : float
    content_free : tuple of str
        The content-free inputs of contextual calibration (empty: not calibrated).
    content_free_logprobs : ndarray of shape (n_content_free, n_labels) or None
        Their label log-likelihoods; ``label_logprobs`` stay the model's raw ones.
    """

    labels: tuple
    positive: str
    label_logprobs: np.ndarray
    y_score: np.ndarray
    y_pred: list
    threshold: float
    content_free: tuple = ()
    content_free_logprobs: np.ndarray | None = None

    @property
    def pos_label(self) -> str:
        """The positive label (scikit-learn's name for it)."""
        return self.positive

    @property
    def probabilities(self) -> np.ndarray:
        """Per-label probabilities, normalised over ``labels`` (rows sum to 1).

        With contextual calibration, the calibrated ones (what ``y_score`` is made of).
        """
        if self.content_free_logprobs is None:
            return softmax(self.label_logprobs)
        return contextual_calibration(self.label_logprobs, self.content_free_logprobs)[0]

    @property
    def raw_probabilities(self) -> np.ndarray:
        """Per-label probabilities from the label log-likelihoods alone (rows sum to 1), with
        no contextual calibration: what ``probabilities`` is without ``content_free``."""
        return softmax(self.label_logprobs)

    @property
    def content_free_probabilities(self) -> np.ndarray | None:
        """The label probabilities divided out by contextual calibration (None without it)."""
        if self.content_free_logprobs is None:
            return None
        return contextual_calibration(self.label_logprobs[:0], self.content_free_logprobs)[1]

    def predict(self, threshold: float) -> list:
        """Predictions at another threshold on ``y_score`` (two labels only)."""
        _check_threshold(threshold)
        if len(self.labels) != 2:
            raise ValueError("a threshold applies to two labels; with more, use y_pred")
        negative = self.labels[0] if self.labels[1] == self.positive else self.labels[1]
        return [self.positive if s >= threshold else negative for s in self.y_score]


def _check_threshold(threshold):
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not 0.0 <= float(threshold) <= 1.0
    ):
        raise ValueError(f"threshold={threshold!r} must be a number between 0 and 1")


def _check_args(texts, labels, pos_label, template, label_template):
    texts = check_texts(texts, what="classify")
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
    if pos_label not in labels:
        raise ValueError(f"pos_label={pos_label!r} is not one of labels={labels!r}")
    check_template(template)
    if "{label}" not in label_template:
        raise ValueError(f"label_template={label_template!r} must contain {{label}}")
    return texts, labels


def classify(
    model,
    tokenizer,
    texts,
    *,
    labels=SPAM_LABELS,
    pos_label="spam",
    template=SPAM_TEMPLATE,
    label_template=None,
    threshold=0.5,
    content_free=None,
    batch_size=16,
    progress=False,
    positive=None,
):
    """Classify texts by the likelihood a causal LM gives each label after a prompt.

    Parameters
    ----------
    model : transformers causal LM or llmlab.backends.Backend
        A loaded model, a llama.cpp model or a served model. Not modified.
    tokenizer : transformers tokenizer
        Its tokenizer (may be None for a backend that has its own).
    texts : str or list of str
        The messages to classify.
    labels : sequence of str, default=("ham", "spam")
        Candidate labels.
    pos_label : str, default="spam"
        The label whose probability is ``y_score`` (scikit-learn's name).
    template : str or list of dict, default="Message: {text}\\nLabel:"
        The prompt; the bundled models were trained with this one. For an instruct model,
        chat messages such as ``[{"role": "user", "content": "Spam or ham?\\n{text}"}]``:
        rendered with the tokenizer's chat template, the assistant's turn opened, one BOS
        (:func:`llmlab.prompts.render_prompts`). A tokenizer without a chat template is an
        error that says so.
    label_template : str, optional
        What follows the prompt for each label. Default: ``" {label}"`` (a space, then the
        label) after a plain template, as the bundled models were trained; ``"{label}"``
        after chat messages, where the assistant's answer starts right after the opened
        turn (``"<|assistant|>\\n"``), without a space.
    threshold : float, default=0.5
        Two labels: predict ``positive`` where ``y_score >= threshold``. Choose it on a
        validation split with :func:`llmlab.metrics.choose_threshold`.
    content_free : str or sequence of str, default=None
        Contextual calibration: content-free inputs (e.g. ``"N/A"``, or
        ``("N/A", "", "[MASK]")`` as in the paper) scored through the same ``template``;
        their mean label probabilities are divided out of every text's before ``y_score``
        and ``y_pred`` are computed. ``None`` (default) leaves the scores as they are.
    batch_size : int, default=16
        Sequences per forward pass (speed and memory only).
    progress : bool, default=False
        Show a tqdm progress bar.
    positive : str, optional
        Deprecated name of ``pos_label`` (a FutureWarning; removed in the next release).

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
    if positive is not None:
        warnings.warn("classify(positive=...) is deprecated and will be removed in the next "
                      "release; use pos_label=... (scikit-learn's name)", FutureWarning,
                      stacklevel=2)
        pos_label = positive
    if label_template is None:
        label_template = CHAT_LABEL_TEMPLATE if is_chat(template) else LABEL_TEMPLATE
    texts, labels = _check_args(texts, labels, pos_label, template, label_template)
    _check_threshold(threshold)
    check_positive_int("batch_size", batch_size)
    content_free = _check_content_free(content_free)

    backend = as_backend(model, tokenizer)
    tokenizer = backend.require_tokenizer("classify")
    prompts = render_prompts(tokenizer, template, [*texts, *content_free])
    conts = tokenizer(
        [label_template.format(label=lab) for lab in labels], add_special_tokens=False
    )["input_ids"]
    for lab, ids in zip(labels, conts):
        if not ids:
            raise ValueError(f"label {lab!r} encodes to no tokens with this tokenizer")
    # One request per text with every label as a continuation: the prompt runs once, and
    # single-token labels are all read off its last position.
    requests = continuation_requests(prompts, [conts] * len(prompts))
    scored = score_requests(backend, requests, batch_size=batch_size, progress=progress,
                            desc="classify")
    scores = np.array([[float(lp.sum()) for lp in row] for row in scored], dtype=np.float64)
    scores, cf_scores = scores[: len(texts)], scores[len(texts):]

    if content_free:
        probs = contextual_calibration(scores, cf_scores)[0]
    else:
        probs = softmax(scores)
    pos = labels.index(pos_label)
    y_score = probs[:, pos]
    if len(labels) == 2:
        negative = labels[1 - pos]
        y_pred = [pos_label if s >= threshold else negative for s in y_score]
    else:
        y_pred = [labels[k] for k in probs.argmax(axis=1)]
    return ClassificationResult(
        labels=labels,
        positive=pos_label,
        label_logprobs=scores,
        y_score=y_score,
        y_pred=y_pred,
        threshold=float(threshold),
        content_free=content_free,
        content_free_logprobs=cf_scores if content_free else None,
    )


def _check_content_free(content_free) -> tuple:
    if content_free is None:
        return ()
    if isinstance(content_free, str):
        return (content_free,)
    try:
        items = tuple(content_free)
    except TypeError:
        items = None
    if not items or any(not isinstance(c, str) for c in items):
        raise ValueError(
            f"content_free={content_free!r} must be None, a string such as 'N/A', or a "
            f"non-empty sequence of strings such as ('N/A', '', '[MASK]')."
        )
    return items
