"""The metrics of a report card: one registry entry per row.

Each entry of :data:`METRICS` (a :class:`Metric`) says everything the card needs about one
row, so that computing, judging and presenting read the same table:

* the function that computes it, named as in scikit-learn (``sklearn.metrics.precision_score``)
  and the inputs it takes;
* its bootstrap kernel (:mod:`llmlab.resampling`), for the row's interval;
* its undefined-value rule: when the value is 0/0 for this data, and why;
* its row specification (:class:`RowSpec`): direction, unit, rule text, chance level, caveat.

**The undefined-value rule**, the same everywhere (the card, the model cards through
:func:`llmlab.evaluation.classification_counts`, the bootstrap kernels): a metric whose
defining ratio is 0/0 on the data is undefined. Its value is NaN, it is printed
``"undefined"``, its verdict is ``n/a``, and the card says why (e.g. precision when the model
never predicts the positive class). It is never replaced by 0 or 1. Where scikit-learn
defines the value itself, its definition is kept: the Matthews correlation coefficient is 0
when a row or a column of the confusion matrix is empty (a constant prediction carries no
information), balanced accuracy is the mean recall over the classes present in ``y_true``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as _skm

from llmlab import resampling as _bs
from llmlab.report.card import plain

__all__ = ["DIRECTIONS", "METRICS", "REGISTRY", "ROWS", "SPECS", "TEMPLATE_FIELDS", "Data",
           "Metric", "RowSpec", "baseline_accuracy", "positive_rate"]

#: The fields a row's ``rule`` and ``caveat`` templates may use; the card supplies these.
TEMPLATE_FIELDS = ("pos", "majority_named", "counts", "prevalence")


@dataclass(frozen=True)
class RowSpec:
    """How a report-card row reads: the presentation part of a :class:`Metric`.

    Attributes
    ----------
    metric : str
        The row's name and the key of its value.
    better : {"higher", "lower", None}
        Which direction is better (None for descriptive rows such as the positive rate).
    unit : {"fraction", "number", "bits", "signed", "score"}
        How the value is printed (fractions as percentages).
    rule : str or None
        The rule text for a row without a threshold; None when the thresholds judge it.
    caveat : str
        What the verdict does not tell you.
    chance : float, str or None, default=None
        The value of guessing (e.g. 0.5 for ROC AUC), or the name of the card value that
        holds it (``"positive_rate"`` for average precision). With an interval, the verdict
        says whether the metric is distinguishable from it.

    Notes
    -----
    ``rule`` and ``caveat`` are templates (:meth:`str.format`) and may use exactly the fields
    of :data:`TEMPLATE_FIELDS`, which the card fills in:

    * ``{pos}``: the positive class as written in code, e.g. ``'spam'`` (``positive`` when the
      card has no labels);
    * ``{majority_named}``: a space and the majority class of ``y_true`` (empty without labels);
    * ``{counts}``: `` (n_positive of n_samples)`` (empty without labels);
    * ``{prevalence}``: `` (the positive rate)`` (empty without it).
    """

    metric: str
    better: str | None
    unit: str
    rule: str | None
    caveat: str
    chance: float | str | None = None


@dataclass(frozen=True)
class Data:
    """The checked inputs of one card and the counts the undefined-value rules read.

    Attributes
    ----------
    y_true, y_pred, y_score : numpy.ndarray or None
        The checked labels and scores (``y_pred`` / ``y_score`` None when not given).
    pos_label : object
        The positive class.
    texts : object or None
        A perplexity result with per-text lists (for the perplexity rows' intervals).
    """

    y_true: np.ndarray | None = None
    y_pred: np.ndarray | None = None
    y_score: np.ndarray | None = None
    pos_label: Any = None
    texts: Any = None

    @property
    def pos(self) -> str:
        return repr(plain(self.pos_label))

    @property
    def n_samples(self) -> int:
        return int(self.y_true.shape[0])

    @property
    def n_true_positive(self) -> int:
        return int(np.sum(self.y_true == self.pos_label))

    @property
    def n_pred_positive(self) -> int:
        return int(np.sum(self.y_pred == self.pos_label))

    @property
    def classes(self) -> list:
        """The classes of ``y_true``, sorted."""
        return sorted(set(self.y_true.tolist()), key=repr)


@dataclass(frozen=True)
class Metric:
    """One row of a report card: how it is computed, resampled, undefined and shown.

    Attributes
    ----------
    row : RowSpec
        How the row reads.
    inputs : {"y_pred", "y_score", "y_true", "texts", "derived"}
        What the value is computed from: labels, scores, ``y_true`` alone, a perplexity
        result, or other rows (``pr_balance``).
    func : callable or None
        The function computing the value from ``(y_true, y_pred)`` (``"y_pred"``),
        ``(y_true == pos_label, y_score)`` (``"y_score"``) or ``y_true`` (``"y_true"``);
        scikit-learn's where it has one. None for rows read from elsewhere.
    kwargs : dict
        Keywords for ``func``; ``pos_label`` is added where ``uses_pos_label``.
    uses_pos_label : bool
        Whether ``func`` takes ``pos_label``.
    kernel : callable or None
        ``kernel(data, kernels)`` -> a bootstrap kernel (``kernels``: those of the rows
        before); None: the row has no interval.
    undefined : callable or None
        ``undefined(data)`` -> why the value is 0/0 on this data (a sentence fragment), or
        None when it is defined.
    bounds : tuple of (float, float or None) or None
        The range a value given as a keyword must lie in (``(1, None)``: >= 1); None: the
        row cannot be given as a keyword.
    """

    row: RowSpec
    inputs: str
    func: Callable | None = None
    kwargs: dict | None = None
    uses_pos_label: bool = False
    kernel: Callable | None = None
    undefined: Callable | None = None
    bounds: tuple | None = (0.0, 1.0)

    @property
    def name(self) -> str:
        return self.row.metric

    def compute(self, data: Data) -> tuple[float, str | None]:
        """The value on ``data`` and, where it is undefined, why (value NaN).

        For the rows computed by ``func``; the others (perplexity, ``pr_balance``) are read
        from a result object or from other rows.
        """
        if self.func is None:
            source = ("read from a perplexity result" if self.inputs == "texts"
                      else "derived from other rows")
            raise TypeError(f"{self.name} is not computed from labels or scores; it is "
                            f"{source}.")
        reason = self.undefined(data) if self.undefined is not None else None
        if reason is not None:
            return math.nan, reason
        kwargs = dict(self.kwargs or {})
        if self.uses_pos_label:
            kwargs["pos_label"] = data.pos_label
        args = {"y_pred": (data.y_true, data.y_pred),
                "y_score": (data.y_true == data.pos_label, data.y_score)}.get(
                    self.inputs, (data.y_true,))
        with warnings.catch_warnings():
            # the undefined-value rule above decides what is undefined, not sklearn's
            # warnings (e.g. a single label, which the card reports itself)
            warnings.simplefilter("ignore")
            return float(self.func(*args, **kwargs)), None


# -- functions of y_true alone ------------------------------------------------------------


def baseline_accuracy(y_true) -> float:
    """Accuracy of always predicting the majority class of ``y_true``."""
    _, counts = np.unique(y_true, return_counts=True)
    return float(counts.max() / counts.sum())


def positive_rate(y_true, *, pos_label) -> float:
    """Share of ``y_true`` that is ``pos_label``."""
    return float(np.mean(np.asarray(y_true) == pos_label))


# -- undefined-value rules: why the value is 0/0, or None ---------------------------------


def _never_predicted(data):
    if data.n_pred_positive == 0:
        return f"the model never predicted {data.pos}, so TP + FP = 0"
    return None


def _no_true_positive(data):
    if data.n_true_positive == 0:
        return f"y_true has no {data.pos} sample, so TP + FN = 0"
    return None


def _no_positive_anywhere(data):
    if data.n_true_positive == 0 and data.n_pred_positive == 0:
        return f"neither y_true nor y_pred has a {data.pos} sample, so 2 TP + FP + FN = 0"
    return None


def _nothing_to_find(data):
    if data.n_true_positive == 0:
        return f"y_true has no {data.pos} sample, so recall is 0/0 at every threshold"
    return None


def _one_class(data):
    if len(data.classes) < 2:
        return (f"y_true has one class only ({data.classes[0]!r}); it needs both to "
                f"rank one against the other")
    return None


# -- bootstrap kernels ------------------------------------------------------------------


def _label_kernel(name):
    def make(data, kernels):
        return _bs.label_kernel(name, data.y_true, data.y_pred, pos_label=data.pos_label,
                                zero_division=np.nan)
    return make


def _score_kernel(name):
    def make(data, kernels):
        return _bs.score_kernel(name, data.y_true == data.pos_label,
                                np.asarray(data.y_score, dtype=float))
    return make


def _min_kernel(data, kernels):
    if "precision" in kernels and "recall" in kernels:
        return _bs.min_kernel(kernels["precision"], kernels["recall"])
    return None


def _text_kernel(metric):
    def make(data, kernels):
        res = data.texts
        nll = getattr(res, "per_text_nll", None)
        tokens = getattr(res, "per_text_tokens", None)
        if nll is None or tokens is None or len(nll) < 2 or len(nll) != len(tokens):
            return None
        if metric == "perplexity":
            return _bs.ratio_kernel(nll, tokens, np.exp)
        nbytes = getattr(res, "per_text_bytes", None)
        if nbytes is None or len(nbytes) != len(nll):
            return None
        return _bs.ratio_kernel(nll, nbytes, lambda x: x / math.log(2))
    return make


_NAN = {"zero_division": np.nan}

#: The rows of a report card, in the order they are printed.
METRICS: tuple[Metric, ...] = (
    Metric(RowSpec(
        "perplexity", "lower", "number", None,
        "Depends on the tokenizer and the text's domain: on the same text, a tokenizer with "
        "coarser tokens (a larger vocabulary) gives a higher per-token perplexity without the "
        "model being worse, and easier text scores lower. Compare models with bits per byte "
        "on the same text."),
        "texts", kernel=_text_kernel("perplexity"), bounds=(1.0, None)),
    Metric(RowSpec(
        "bits_per_byte", "lower", "bits", "no threshold; lower is better",
        "Independent of the tokenizer, so comparable across models, but only on the same "
        "text."),
        "texts", kernel=_text_kernel("bits_per_byte"), bounds=(0.0, None)),
    Metric(RowSpec(
        "accuracy", "higher", "fraction", None,
        "Hides the rare class under class imbalance: check recall and the baseline."),
        "y_pred", _skm.accuracy_score, kernel=_label_kernel("accuracy_score")),
    Metric(RowSpec(
        "baseline_accuracy", None, "fraction",
        "accuracy of always predicting the majority class{majority_named}",
        "A useful model must beat it."),
        "y_true", baseline_accuracy),
    Metric(RowSpec(
        "positive_rate", None, "fraction", "share of y_true that is {pos}{counts}",
        "The rarer the positive class, the less accuracy says; look at recall, precision, "
        "F1."),
        "y_true", positive_rate, uses_pos_label=True),
    Metric(RowSpec(
        "balanced_accuracy", "higher", "fraction",
        "no threshold; 50 % is chance for two classes",
        "Mean recall of the classes: not inflated by a large majority class.",
        chance=0.5),
        "y_pred", _skm.balanced_accuracy_score,
        kernel=_label_kernel("balanced_accuracy_score")),
    Metric(RowSpec(
        "precision", "higher", "fraction", None,
        "Of the samples predicted {pos}, the share that truly is; no rule of thumb sets a "
        "'bad' line; judge it together with recall."),
        "y_pred", _skm.precision_score, _NAN, True, _label_kernel("precision_score"),
        _never_predicted),
    Metric(RowSpec(
        "recall", "higher", "fraction", None,
        "Of the true {pos} samples, the share the model finds: the number accuracy hides "
        "under imbalance."),
        "y_pred", _skm.recall_score, _NAN, True, _label_kernel("recall_score"),
        _no_true_positive),
    Metric(RowSpec(
        "f1", "higher", "fraction", "no threshold; harmonic mean of precision and recall",
        "Ignores true negatives, so the easy majority class does not inflate it."),
        "y_pred", _skm.f1_score, _NAN, True, _label_kernel("f1_score"),
        _no_positive_anywhere),
    Metric(RowSpec(
        "pr_balance", "higher", "fraction",
        "min(precision, recall); both good: good; recall bad: bad",
        "Which of the two matters more depends on the cost of a false alarm against a "
        "miss."),
        "derived", kernel=_min_kernel, bounds=None),
    Metric(RowSpec(
        "mcc", "higher", "signed", "no threshold; 0 chance, +1 perfect, -1 always wrong",
        "Uses all four cells of the confusion matrix; robust to imbalance.",
        chance=0.0),
        "y_pred", _skm.matthews_corrcoef, kernel=_label_kernel("matthews_corrcoef"),
        bounds=(-1.0, 1.0)),
    Metric(RowSpec(
        "roc_auc", "higher", "score", "no threshold; 0.5 is chance, 1 perfect",
        "The chance that a random {pos} sample scores above a random other one: it judges "
        "the scores at every threshold, not the threshold in use.",
        chance=0.5),
        "y_score", _skm.roc_auc_score, kernel=_score_kernel("roc_auc_score"),
        undefined=_one_class, bounds=None),
    Metric(RowSpec(
        "average_precision", "higher", "score",
        "no threshold; chance is the positive rate{prevalence}",
        "Mean precision over the recall levels of the score ranking; its chance level is "
        "the share of {pos}, so compare it with that, not with 0.5.",
        chance="positive_rate"),
        "y_score", _skm.average_precision_score,
        kernel=_score_kernel("average_precision_score"), undefined=_nothing_to_find,
        bounds=None),
)

#: The row specifications, in the order they are printed.
ROWS: tuple[RowSpec, ...] = tuple(m.row for m in METRICS)

#: Metric name -> its :class:`RowSpec`.
SPECS: dict[str, RowSpec] = {spec.metric: spec for spec in ROWS}

#: Metric name -> its :class:`Metric`.
REGISTRY: dict[str, Metric] = {m.name: m for m in METRICS}

#: Which direction is better, per metric (None: descriptive, neither).
DIRECTIONS: dict[str, str | None] = {spec.metric: spec.better for spec in ROWS}
