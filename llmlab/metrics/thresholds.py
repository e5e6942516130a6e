"""Choose a decision threshold on a validation split, for a stated criterion.

0.5 is a threshold only for calibrated probabilities and equal costs. :func:`choose_threshold`
picks the threshold on ``y_score`` that is best on *validation* data for F1, balanced
accuracy, accuracy or an explicit cost of false positives against false negatives. Report the
chosen threshold's metrics on the *test* split, which played no part in choosing it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from llmlab.validation import Interval, StrOptions, check_scores, validate_params

__all__ = ["CRITERIA", "ThresholdChoice", "choose_threshold"]

#: The criteria :func:`choose_threshold` accepts.
CRITERIA = ("f1", "balanced_accuracy", "accuracy", "cost")


@dataclass(frozen=True)
class ThresholdChoice:
    """What :func:`choose_threshold` chose.

    Attributes
    ----------
    threshold : float
        Predict the positive class where ``y_score >= threshold``.
    criterion : str
    value : float
        The criterion at ``threshold`` on the validation data (for ``"cost"``: the mean cost
        per sample, lower is better; otherwise higher is better).
    thresholds, values : ndarray
        Every candidate threshold and the criterion there (what was searched).
    """

    threshold: float
    criterion: str
    value: float
    thresholds: np.ndarray
    values: np.ndarray


_COST = [Interval(Real, 0, None, closed="left")]


@validate_params({"criterion": [StrOptions(CRITERIA)], "cost_fp": _COST, "cost_fn": _COST})
def choose_threshold(y_true, y_score, *, pos_label=None, criterion="f1", cost_fp=1.0,
                     cost_fn=1.0):
    """The threshold on ``y_score`` that is best on this (validation) data for ``criterion``.

    Every distinct way of splitting the samples by score is tried: the candidates are the
    lowest score (everything positive), the midpoints between consecutive distinct scores,
    and one above the highest score (nothing positive; ``(max + 1) / 2`` for probabilities,
    ``inf`` if a score is 1 or above).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels of a binary task (the validation split).
    y_score : array-like of shape (n_samples,)
        Score or probability of ``pos_label`` (e.g. ``classify(...).y_score``).
    pos_label : str or int, default=None
        The positive class; ``None`` only for 0/1 or -1/1 labels.
    criterion : {"f1", "balanced_accuracy", "accuracy", "cost"}, default="f1"
        What to optimise: the first three are maximised; ``"cost"`` minimises
        ``cost_fp * FP + cost_fn * FN`` (reported per sample).
    cost_fp, cost_fn : float, default=1.0
        Cost of a false positive and of a false negative (``criterion="cost"`` only).

    Returns
    -------
    ThresholdChoice
        ``.threshold``, ``.value``, and every candidate in ``.thresholds`` / ``.values``.
        Ties go to the lowest threshold.

    Raises
    ------
    ValueError
        For an unknown ``criterion``, negative or non-finite costs, or inputs the score
        metrics refuse (see :func:`llmlab.metrics.precision_recall_curve`).

    Examples
    --------
    >>> from llmlab.metrics import choose_threshold
    >>> y_val = ["ham", "ham", "ham", "spam", "ham", "spam", "spam"]
    >>> s_val = [0.05, 0.20, 0.30, 0.35, 0.60, 0.70, 0.90]
    >>> choice = choose_threshold(y_val, s_val, pos_label="spam")
    >>> round(choice.threshold, 3), round(choice.value, 3)   # F1 on validation
    (0.325, 0.857)
    >>> # a missed spam costs little, a lost real message a lot
    >>> choice = choose_threshold(y_val, s_val, pos_label="spam", criterion="cost",
    ...                           cost_fp=10, cost_fn=1)
    >>> round(choice.threshold, 3), round(choice.value, 3)   # mean cost per message
    (0.65, 0.143)
    """
    c_fp, c_fn = float(cost_fp), float(cost_fn)
    yt, ys, pos_label, _ = check_scores(y_true, y_score, pos_label=pos_label)
    ys = np.asarray(ys, dtype=float)
    positive = yt == pos_label
    n, n_pos = ys.shape[0], int(positive.sum())
    n_neg = n - n_pos

    order = np.argsort(-ys, kind="stable")
    s = ys[order]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    tp = np.r_[0, np.cumsum(positive[order])[ends]]   # predicted positive: scores >= t
    fp = np.r_[0, np.cumsum(~positive[order])[ends]]
    distinct = s[ends]                                   # descending
    high = distinct[0]
    above = (high + 1) / 2 if high < 1 else math.inf
    mids = (distinct[1:] + distinct[:-1]) / 2
    mids = np.where(mids > distinct[1:], mids, distinct[:-1])  # float rounding guard
    thresholds = np.r_[above, mids, distinct[-1]]        # descending, matching tp / fp
    fn, tn = n_pos - tp, n_neg - fp
    with np.errstate(divide="ignore", invalid="ignore"):
        if criterion == "f1":
            values = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        elif criterion == "accuracy":
            values = (tp + tn) / n
        elif criterion == "balanced_accuracy":
            rates = [tp / n_pos] if n_pos else []
            rates += [tn / n_neg] if n_neg else []
            values = np.mean(rates, axis=0)
        else:
            values = (c_fp * fp + c_fn * fn) / n
    values = values.astype(float)[::-1]  # ascending thresholds
    thresholds = thresholds[::-1].astype(float)
    best = int(np.argmin(values) if criterion == "cost" else np.argmax(values))
    return ThresholdChoice(float(thresholds[best]), criterion, float(values[best]),
                           thresholds, values)
