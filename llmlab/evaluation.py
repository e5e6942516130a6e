"""Evaluate a loaded model on the bundled held-out splits: one function for every caller.

``llmlab report`` (:mod:`llmlab.cli`) and the model cards (:mod:`training.evaluate`)
both call :func:`evaluate`, so the figures a card records are the ones the library computes:
perplexity and bits per byte on the docs test split (sliding windows, :func:`llmlab.perplexity`)
and label-likelihood spam classification on the spam test split(s) (:func:`llmlab.classify`,
threshold 0.5), counted with :mod:`llmlab.metrics`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from llmlab.report.compute import check_data, label_metrics

__all__ = ["Evaluation", "classification_counts", "evaluate"]

_RATES = ("accuracy", "precision", "recall", "f1", "balanced_accuracy")

SPAM_VARIANTS = ("natural", "rare")


@dataclass
class Evaluation:
    """What :func:`evaluate` measured.

    Attributes
    ----------
    perplexity : PerplexityResult or None
        The docs test split; None (with ``perplexity_note`` saying why) for a served model
        that cannot score a text's first token.
    classification : dict
        Spam variant -> :class:`~llmlab.classify.ClassificationResult`.
    y_true : dict
        Spam variant -> the true labels.
    seconds : float
        Wall time of the evaluation.
    """

    perplexity: object
    classification: dict = field(default_factory=dict)
    y_true: dict = field(default_factory=dict)
    seconds: float = 0.0
    n_docs: int = 0
    n_docs_skipped: int = 0
    perplexity_note: str = ""

    def counts(self, variant: str = "natural") -> dict:
        """Confusion counts and the usual rates for one spam variant."""
        return classification_counts(self.y_true[variant], self.classification[variant].y_pred)


def classification_counts(y_true, y_pred, *, pos_label="spam", neg_label="ham") -> dict:
    """``n, tp, fp, fn, tn``, accuracy, precision, recall, F1 and balanced accuracy.

    The rates are computed by the report card's registry (:mod:`llmlab.report.registry`), so
    a model card and ``llmlab report`` give the same value, and undefined is undefined in
    both: a rate that is 0/0 (precision when the model never predicts ``pos_label``) is NaN,
    and ``"undefined"`` maps it to the reason. Without undefined rates there is no
    ``"undefined"`` key.

    Examples
    --------
    >>> c = classification_counts(["spam", "ham", "spam"], ["spam", "spam", "ham"])
    >>> c["tp"], c["fp"], c["fn"], c["tn"], c["f1"]
    (1, 1, 1, 0, 0.5)
    >>> c = classification_counts(["spam", "ham"], ["ham", "ham"])
    >>> c["precision"], c["undefined"]
    (nan, {'precision': "the model never predicted 'spam', so TP + FP = 0"})
    """
    from llmlab import metrics

    labels = [neg_label, pos_label]
    tn, fp, fn, tp = (int(v) for v in metrics.confusion_matrix(
        y_true, y_pred, labels=labels).ravel())
    data = check_data(y_true, y_pred, None, pos_label)
    values, undefined = label_metrics(data, names=_RATES)
    out = {"n": len(y_true), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
           **{name: values[name] for name in _RATES}}
    if undefined:
        out["undefined"] = undefined
    return out


def evaluate(
    model,
    tokenizer,
    *,
    spam_variants=("natural",),
    max_docs=None,
    max_messages=None,
    max_length=None,
    stride=None,
    batch_size=8,
    progress=False,
    single_window_only=False,
    template=None,
    label_template=None,
) -> Evaluation:
    """Perplexity on the docs test split and spam classification on the spam test split(s).

    Parameters
    ----------
    model, tokenizer
        A loaded model (anything the scoring core takes) and its tokenizer; not modified.
    spam_variants : tuple of str, default=("natural",)
        Which spam test splits: ``"natural"`` and/or ``"rare"``.
    max_docs, max_messages : int, optional
        Use only the first documents / messages (a quick look, not a report to quote).
    max_length, stride : int, optional
        Perplexity windows (default: the model's context, stride half of it).
    batch_size : int, default=8
        Windows per batch; classification uses twice as many prompts per batch.
    progress : bool, default=False
        Show progress bars.
    single_window_only : bool, default=False
        Score only the documents that fit one window (a server that takes text cannot score
        a window that starts mid-text); how many were left out is in ``n_docs_skipped``.
    template, label_template : optional
        The classification prompt and label continuation (see :func:`llmlab.classify`);
        default: the bundled models' ``"Message: {text}\\nLabel:"``. An instruct model is
        evaluated with its chat messages, e.g. ``llmlab.prompts.SPAM_CHAT_MESSAGES``.
    """
    import llmlab
    from llmlab import datasets

    for variant in spam_variants:
        if variant not in SPAM_VARIANTS:
            raise ValueError(f"spam variant {variant!r} is not one of {SPAM_VARIANTS}")
    t0 = time.perf_counter()
    docs = datasets.load_docs("test")[:max_docs]
    n_all = len(docs)
    if single_window_only:
        from llmlab.scoring import model_context_length

        limit = max_length or model_context_length(model)
        docs = [d for d in docs if len(tokenizer(d)["input_ids"]) <= limit]
        if not docs:
            raise ValueError(f"no test document fits one window of {limit} tokens")
    from llmlab.backends.server import FirstTokenUnavailable

    try:
        ppl = llmlab.perplexity(model, tokenizer, docs, max_length=max_length, stride=stride,
                                batch_size=batch_size, progress=progress)
    except FirstTokenUnavailable as exc:  # a server that cannot score a text's first token
        if not single_window_only:
            raise
        ppl, perplexity_note = None, str(exc)
    out = Evaluation(perplexity=ppl, n_docs=len(docs), n_docs_skipped=n_all - len(docs))
    if ppl is None:
        out.perplexity_note = perplexity_note
    for variant in spam_variants:
        texts, y_true = datasets.load_spam("test", variant=variant)
        texts, y_true = texts[:max_messages], y_true[:max_messages]
        out.classification[variant] = llmlab.classify(
            model, tokenizer, texts, batch_size=2 * batch_size, progress=progress,
            **({} if template is None else {"template": template}),
            label_template=label_template)
        out.y_true[variant] = y_true
    out.seconds = time.perf_counter() - t0
    return out
