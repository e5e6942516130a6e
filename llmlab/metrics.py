"""Classification metrics on scikit-learn, with errors that say what is wrong.

Every function here mirrors the scikit-learn function of the same name: same argument order,
same keywords (``labels``, ``pos_label``, ``average``, ``zero_division``, ``normalize``,
``sample_weight``), same return values. The computation *is* scikit-learn's. What this module
adds is a check of the inputs **before** scikit-learn sees them, so that a learner gets a
``ValueError`` that names the bad value and the values that would have been accepted, for
example::

    ValueError: pos_label=1 is not one of the labels in y_true and y_pred: ['ham', 'spam'].
    Pass the class you care about, e.g. pos_label='spam'.

instead of scikit-learn's terser message (or, for some mistakes, no message at all).

Differences from scikit-learn, all on purpose and all stricter:

* ``labels``, when given, must list **every** label found in ``y_true`` and ``y_pred``.
  scikit-learn silently drops samples whose labels are not listed; with an LLM classifier a
  stray answer (``"Spam"``, ``"I am not sure"``) would then vanish from the scores.
* With ``average="binary"``, a ``y_pred`` label that never occurs in ``y_true`` is reported
  by name (scikit-learn says only that the target is multiclass).
* :func:`precision_recall_curve` refuses a ``y_true`` with no positive sample: recall is
  undefined there (scikit-learn warns and sets recall to 1).
* NaN, infinite and non-integer label values, empty inputs and inputs of different lengths
  are refused up front.

Everything else, including ``zero_division="warn"`` and its ``UndefinedMetricWarning``,
behaves as in scikit-learn.

:func:`report_card` is ours: it turns metric values into verdicts with the course's
thresholds (:data:`THRESHOLDS`) and the caveat each threshold needs.
"""

from __future__ import annotations

import csv
import html
import io
import math
import numbers
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn import metrics as _skm

__all__ = [
    "AVERAGES",
    "THRESHOLDS",
    "ReportCard",
    "ReportRow",
    "accuracy_score",
    "balanced_accuracy_score",
    "classification_report",
    "confusion_matrix",
    "f1_score",
    "matthews_corrcoef",
    "precision_recall_curve",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
    "report_card",
]

#: The values ``average=`` accepts (multilabel ``"samples"`` is not supported).
AVERAGES = (None, "binary", "micro", "macro", "weighted")

#: The values ``normalize=`` of :func:`confusion_matrix` accepts.
_CM_NORMALIZE = (None, "true", "pred", "all")

#: The thresholds of the course's seed lesson, used by :func:`report_card`.
#:
#: A value strictly below ``good_below`` (strictly above ``good_above``) is "good", strictly
#: above ``bad_above`` (strictly below ``bad_below``) is "bad", anything else is
#: "borderline". Fractions are in [0, 1]: 0.85 means 85 %. Precision has no "bad" line in the
#: seed: it is judged together with recall ("balanced" when both are above 80 %).
THRESHOLDS: dict[str, dict[str, float]] = {
    "perplexity": {"good_below": 20.0, "bad_above": 50.0},
    "accuracy": {"good_above": 0.85, "bad_below": 0.60},
    "precision": {"good_above": 0.80},
    "recall": {"good_above": 0.80, "bad_below": 0.50},
}

_RULE_KEYS = ("good_below", "bad_above", "good_above", "bad_below")

_MAX_SHOWN = 10  # labels listed in an error message before "..."


# --------------------------------------------------------------------------------------
# Small helpers shared by the validators
# --------------------------------------------------------------------------------------


def _sorted(values):
    """Sort label values; fall back to their repr when they cannot be compared."""
    values = list(values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=repr)


def _show(values) -> str:
    """A short, readable list of label values for an error message."""
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    if len(values) > _MAX_SHOWN:
        return repr(values[:_MAX_SHOWN])[:-1] + f", ... ({len(values)} in all)]"
    return repr(values)


def _scalar_kind(value) -> str | None:
    """'string', 'number' or None (neither) for a single label value."""
    if isinstance(value, (str, np.str_)):
        return "string"
    if isinstance(value, (numbers.Number, np.number, np.bool_)):
        return "number"
    return None


def _first_bad(mask) -> tuple[int, int]:
    """Index of the first True in ``mask`` and how many there are."""
    idx = np.flatnonzero(mask)
    return int(idx[0]), int(idx.size)


def _as_label_array(y, name: str) -> tuple[np.ndarray, str]:
    """Turn one sequence of class labels into a 1-D array; return it with its kind.

    The kind is "string" or "number". Raises ValueError for anything that is not a flat
    sequence of labels of one kind without missing values.
    """
    if y is None:
        raise ValueError(f"{name} is None; expected a sequence of class labels, one per sample.")
    if isinstance(y, (str, bytes)):
        raise ValueError(  # noqa: TRY004 - bad user input is a ValueError here
            f"{name}={y!r} is a single string; expected a sequence of labels, one per sample, "
            f"e.g. ['ham', 'spam', 'ham']."
        )
    try:
        arr = np.asarray(y)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} is not a flat sequence of labels ({exc}).") from None
    if arr.ndim == 0:
        raise ValueError(
            f"{name}={y!r} is a single value; expected a sequence of labels, one per sample."
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(
            f"{name} has shape {arr.shape}; expected a 1-D sequence of labels, one per sample. "
            f"Per-class scores of shape (n_samples, n_classes) must be turned into labels first "
            f"(e.g. the argmax of each row)."
        )

    if arr.dtype.kind in "US":
        if not isinstance(y, np.ndarray) and any(not isinstance(v, (str, bytes)) for v in y):
            # numpy turned a mix such as ['ham', 1] into strings without a word
            arr = np.asarray(list(y), dtype=object)
        else:
            return arr, "string"

    if arr.dtype.kind == "O":
        kinds = [_scalar_kind(v) for v in arr]
        if None in kinds:
            i = kinds.index(None)
            raise ValueError(
                f"{name}[{i}] is {arr[i]!r}, which is not a class label; labels must be strings "
                f"or numbers, with no missing values."
            )
        if len(set(kinds)) > 1:
            i_str = kinds.index("string")
            i_num = kinds.index("number")
            raise ValueError(
                f"{name} mixes strings and numbers (e.g. {arr[i_str]!r} at index {i_str} and "
                f"{arr[i_num]!r} at index {i_num}); all labels must be of one type."
            )
        if kinds and kinds[0] == "string":
            return arr.astype(str), "string"
        arr = np.asarray(arr.tolist())

    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} has dtype {arr.dtype}; labels must be strings or numbers (int, bool, float)."
        )
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            i, n = _first_bad(bad)
            raise ValueError(
                f"{name} contains {arr[i].item()!r} at index {i} ({n} non-finite value(s) in "
                f"all); labels cannot be missing or infinite. Drop or fill those samples first."
            )
        frac = arr != np.round(arr)
        if frac.any():
            i, _ = _first_bad(frac)
            raise ValueError(
                f"{name} contains non-integer values such as {arr[i].item()!r} (index {i}): "
                f"these look like scores, not class labels. Threshold them first, e.g. "
                f"y_pred = (y_score >= 0.5).astype(int), or pass the scores as y_score to "
                f"precision_recall_curve."
            )
    return arr, "number"


def _check_option(name: str, value, allowed) -> None:
    """Raise ValueError unless ``value`` is one of ``allowed`` (compared by ==, type-aware)."""
    if isinstance(value, np.bool_):
        value = bool(value)
    for a in allowed:
        if value is a or (
            type(value) is type(a) and value == a  # so that True does not match 1
        ):
            return
    raise ValueError(f"{name}={value!r} is not supported; choose one of {list(allowed)!r}.")


def _check_sample_weight(sample_weight, n: int):
    if sample_weight is None:
        return None
    try:
        sw = np.asarray(sample_weight, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            "sample_weight must be a sequence of non-negative numbers, one per sample."
        ) from None
    if sw.ndim != 1:
        raise ValueError(f"sample_weight has shape {sw.shape}; expected a 1-D sequence.")
    if sw.shape[0] != n:
        raise ValueError(
            f"sample_weight has {sw.shape[0]} values but there are {n} samples; pass one weight "
            f"per sample."
        )
    bad = ~np.isfinite(sw) | (sw < 0)
    if bad.any():
        i, n_bad = _first_bad(bad)
        raise ValueError(
            f"sample_weight[{i}] is {sw[i].item()!r} ({n_bad} bad value(s) in all); weights "
            f"must be finite and non-negative."
        )
    return sw


# --------------------------------------------------------------------------------------
# Validator family 1: label predictions (y_true, y_pred, labels, sample_weight)
# --------------------------------------------------------------------------------------


def _check_targets(y_true, y_pred, *, labels=None, sample_weight=None):
    """Validate ``y_true``/``y_pred`` (and ``labels``, ``sample_weight``) for label metrics.

    Returns ``(y_true, y_pred, labels, sample_weight, kind)`` as arrays ready for
    scikit-learn; ``kind`` is "string" or "number".
    """
    yt, kind_t = _as_label_array(y_true, "y_true")
    yp, kind_p = _as_label_array(y_pred, "y_pred")
    if yt.shape[0] != yp.shape[0]:
        raise ValueError(
            f"y_true and y_pred have different lengths: len(y_true)={yt.shape[0]} but "
            f"len(y_pred)={yp.shape[0]}. They must hold one label per sample, in the same order."
        )
    if yt.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty; at least one sample is needed.")
    if kind_t != kind_p:
        raise ValueError(
            f"y_true holds {kind_t}s (e.g. {yt[0].item()!r}) but y_pred holds {kind_p}s "
            f"(e.g. {yp[0].item()!r}); both must use the same labels. Map one onto the other "
            f"first, e.g. y_pred = ['spam' if p == 1 else 'ham' for p in y_pred]."
        )

    lab = None
    if labels is not None:
        lab, kind_l = _as_label_array(labels, "labels")
        if lab.shape[0] == 0:
            raise ValueError(
                "labels is empty; pass labels=None to use the labels found in y_true and "
                "y_pred, or list them, e.g. labels=['ham', 'spam']."
            )
        counts = Counter(lab.tolist())
        dupes = [v for v, c in counts.items() if c > 1]
        if dupes:
            raise ValueError(f"labels lists {_show(dupes)} more than once; each label once.")
        if kind_l != kind_t:
            raise ValueError(
                f"labels holds {kind_l}s ({_show(lab.tolist())}) but y_true and y_pred hold "
                f"{kind_t}s (e.g. {yt[0].item()!r}); they must use the same labels."
            )
        allowed = set(lab.tolist())
        for name, arr in (("y_pred", yp), ("y_true", yt)):
            unknown = _sorted(set(arr.tolist()) - allowed)
            if unknown:
                raise ValueError(
                    f"{name} contains label(s) {_show(unknown)} that are not in "
                    f"labels={_show(lab.tolist())}. Every label in y_true and y_pred must be "
                    f"listed: map stray values (an LLM answer outside the label set, a typo, "
                    f"another capitalisation) onto a listed label, or add them to labels."
                )

    sw = _check_sample_weight(sample_weight, yt.shape[0])
    return yt, yp, lab, sw, kind_t


# --------------------------------------------------------------------------------------
# Validator family 2: options of the precision / recall / F family
# --------------------------------------------------------------------------------------


def _check_prf_options(yt, yp, kind, *, labels, pos_label, average, zero_division, beta=1.0):
    """Validate ``average``, ``pos_label``, ``zero_division`` and ``beta`` for checked targets."""
    if average == "samples":
        raise ValueError(
            "average='samples' is for multilabel targets, which llmlab does not support; choose "
            f"one of {list(AVERAGES)!r}."
        )
    _check_option("average", average, AVERAGES)

    zd_ok = (isinstance(zero_division, str) and zero_division == "warn") or (
        isinstance(zero_division, numbers.Real)
        and not isinstance(zero_division, (bool, np.bool_))
        and (math.isnan(zero_division) or zero_division in (0, 1))
    )
    if not zd_ok:
        raise ValueError(
            f"zero_division={zero_division!r} is not supported; choose one of "
            f"['warn', 0.0, 1.0, np.nan]."
        )

    if (
        not isinstance(beta, numbers.Real)
        or isinstance(beta, (bool, np.bool_))
        or not math.isfinite(beta)
        or beta < 0
    ):
        raise ValueError(f"beta={beta!r} must be a finite number >= 0 (beta=1 gives F1).")

    if average != "binary":
        return

    present = _sorted(set(yt.tolist()) | set(yp.tolist()))
    if len(present) > 2:
        stray = _sorted(set(yp.tolist()) - set(yt.tolist()))
        if stray and len(set(yt.tolist())) <= 2:
            raise ValueError(
                f"y_pred contains label(s) {_show(stray)} that never occur in y_true "
                f"({_show(_sorted(set(yt.tolist())))}), so there are {len(present)} classes but "
                f"average='binary' needs two. Map stray predictions onto a real label, or choose "
                f"another average from [None, 'micro', 'macro', 'weighted']."
            )
        raise ValueError(
            f"average='binary' needs at most two classes, but y_true and y_pred hold "
            f"{len(present)}: {_show(present)}. Choose another average from "
            f"[None, 'micro', 'macro', 'weighted']."
        )
    pk = _scalar_kind(pos_label)
    if pk != kind:
        raise ValueError(
            f"pos_label={pos_label!r} is not a valid label: the labels are {kind}s "
            f"{_show(present)}. Pass the class you care about, e.g. pos_label={present[-1]!r}."
        )
    known = present if labels is None else _sorted(set(present) | set(labels.tolist()))
    if pos_label not in known and (len(known) >= 2 or labels is not None):
        where = "y_true and y_pred" if labels is None else "labels, y_true and y_pred"
        raise ValueError(
            f"pos_label={pos_label!r} is not one of the labels in {where}: {_show(known)}. "
            f"Pass the class you care about, e.g. pos_label={known[-1]!r}."
        )


# --------------------------------------------------------------------------------------
# Validator family 3: scores (y_true, y_score, pos_label, sample_weight)
# --------------------------------------------------------------------------------------


def _check_scores(y_true, y_score, *, pos_label=None, sample_weight=None):
    """Validate inputs of score-based metrics; return ``(y_true, y_score, pos_label, sw)``."""
    yt, kind = _as_label_array(y_true, "y_true")
    if y_score is None:
        raise ValueError("y_score is None; expected one score per sample.")
    raw = np.asarray(y_score)
    if raw.dtype.kind in "USO" and raw.size and any(isinstance(v, str) for v in raw.ravel()):
        raise ValueError(
            f"y_score holds strings (e.g. {next(v for v in raw.ravel() if isinstance(v, str))!r})"
            f"; it must hold numbers: the score or probability of the positive class for each "
            f"sample. Did you pass y_pred instead of y_score?"
        )
    try:
        # keep a float32 array float32, as scikit-learn would (its thresholds stay 0.3, not
        # 0.30000001); anything else becomes float64
        ys = raw if raw.dtype.kind == "f" else np.asarray(y_score, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            "y_score must be a sequence of numbers: the score or probability of the positive "
            "class for each sample."
        ) from None
    if ys.ndim == 0:
        raise ValueError(f"y_score={y_score!r} is a single value; expected one score per sample.")
    if ys.ndim == 2 and ys.shape[1] == 1:
        ys = ys.ravel()
    if ys.ndim != 1:
        raise ValueError(
            f"y_score has shape {ys.shape}; expected one score per sample. For per-class "
            f"probabilities pass the positive class's column, e.g. y_score[:, 1]."
        )
    if yt.shape[0] != ys.shape[0]:
        raise ValueError(
            f"y_true and y_score have different lengths: len(y_true)={yt.shape[0]} but "
            f"len(y_score)={ys.shape[0]}. They must hold one value per sample, in the same order."
        )
    if yt.shape[0] == 0:
        raise ValueError("y_true and y_score are empty; at least one sample is needed.")
    bad = ~np.isfinite(ys)
    if bad.any():
        i, n = _first_bad(bad)
        raise ValueError(
            f"y_score contains {ys[i].item()!r} at index {i} ({n} non-finite value(s) in all); "
            f"scores must be finite numbers. Drop those samples or fix the scorer."
        )

    classes = _sorted(set(yt.tolist()))
    if len(classes) > 2:
        raise ValueError(
            f"y_true holds {len(classes)} classes {_show(classes)}; a precision-recall curve "
            f"needs a binary task (the positive class against the rest). Binarize first, e.g. "
            f"y_true = [y == 'spam' for y in y_true]."
        )
    if pos_label is None:
        if kind == "number" and (set(classes) <= {0, 1} or set(classes) <= {-1, 1}):
            pos_label = 1
        else:
            raise ValueError(
                f"y_true holds {_show(classes)} and pos_label is not set; pass the class that "
                f"y_score scores, e.g. pos_label={classes[-1]!r}."
            )
    if _scalar_kind(pos_label) != kind:
        raise ValueError(
            f"pos_label={pos_label!r} is not a valid label: y_true holds {kind}s "
            f"{_show(classes)}. Pass the class that y_score scores, e.g. "
            f"pos_label={classes[-1]!r}."
        )
    if pos_label not in classes:
        if len(classes) == 2:
            raise ValueError(
                f"pos_label={pos_label!r} is not one of the labels in y_true: {_show(classes)}."
            )
        raise ValueError(
            f"y_true contains no positive sample (no {pos_label!r}; only {_show(classes)}): "
            f"recall = TP / (TP + FN) is undefined without positives, so a precision-recall "
            f"curve means nothing. Evaluate on data that contains the positive class."
        )
    sw = _check_sample_weight(sample_weight, yt.shape[0])
    return yt, ys, pos_label, sw


# --------------------------------------------------------------------------------------
# Metrics (thin wrappers on scikit-learn)
# --------------------------------------------------------------------------------------


def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None, normalize=None):
    """Compute the confusion matrix: row ``i``, column ``j`` counts true ``i`` predicted ``j``.

    A wrapper of :func:`sklearn.metrics.confusion_matrix` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like of shape (n_classes,), default=None
        The order of the rows and columns. ``None`` uses the sorted labels found in ``y_true``
        and ``y_pred``. Unlike scikit-learn, every label found must be listed.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    normalize : {None, 'true', 'pred', 'all'}, default=None
        Divide the counts by the row sums (``'true'``), the column sums (``'pred'``) or the
        total (``'all'``). ``None`` keeps counts.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        The confusion matrix. For a binary task with ``labels=[negative, positive]`` it reads
        ``[[TN, FP], [FN, TP]]``.

    Raises
    ------
    ValueError
        If the inputs differ in length, are empty, mix label types, contain a label that is
        not in ``labels``, or ``normalize`` is not one of the allowed values.

    See Also
    --------
    llmlab.plots.ConfusionMatrixDisplay : Plot it.

    Examples
    --------
    >>> from llmlab.metrics import confusion_matrix
    >>> y_true = ["ham", "ham", "spam", "spam", "spam"]
    >>> y_pred = ["ham", "spam", "spam", "spam", "ham"]
    >>> confusion_matrix(y_true, y_pred, labels=["ham", "spam"])
    array([[1, 1],
           [1, 2]])
    >>> confusion_matrix(y_true, y_pred, labels=["ham", "spam"], normalize="true")
    array([[0.5       , 0.5       ],
           [0.33333333, 0.66666667]])
    """
    _check_option("normalize", normalize, _CM_NORMALIZE)
    yt, yp, lab, sw, _ = _check_targets(y_true, y_pred, labels=labels, sample_weight=sample_weight)
    return _skm.confusion_matrix(yt, yp, labels=lab, sample_weight=sw, normalize=normalize)


def accuracy_score(y_true, y_pred, *, normalize=True, sample_weight=None):
    """Share (or number) of samples whose predicted label equals the true label.

    A wrapper of :func:`sklearn.metrics.accuracy_score` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    normalize : bool, default=True
        ``True`` returns the fraction correct, ``False`` the number correct.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    float
        The fraction (or, with ``normalize=False``, the number) of correct predictions.

    Raises
    ------
    ValueError
        If the inputs differ in length, are empty or mix label types.

    Notes
    -----
    Under class imbalance accuracy hides the rare class: on data that is 98 % "ham", always
    answering "ham" scores 98 %. Look at :func:`recall_score` and
    :func:`balanced_accuracy_score` too.

    Examples
    --------
    >>> from llmlab.metrics import accuracy_score
    >>> accuracy_score(["ham", "spam", "ham", "ham"], ["ham", "ham", "ham", "ham"])
    0.75
    >>> accuracy_score(["ham", "spam", "ham", "ham"], ["ham", "ham", "ham", "ham"],
    ...                normalize=False)
    3.0
    """
    _check_option("normalize", normalize, (True, False))
    yt, yp, _, sw, _ = _check_targets(y_true, y_pred, sample_weight=sample_weight)
    return _skm.accuracy_score(yt, yp, normalize=normalize, sample_weight=sw)


def precision_recall_fscore_support(
    y_true,
    y_pred,
    *,
    beta=1.0,
    labels=None,
    pos_label=1,
    average=None,
    warn_for=("precision", "recall", "f-score"),
    sample_weight=None,
    zero_division="warn",
):
    """Compute precision, recall, F-beta and support, per class or averaged.

    A wrapper of :func:`sklearn.metrics.precision_recall_fscore_support` that checks its
    inputs first. Precision is ``TP / (TP + FP)``, recall ``TP / (TP + FN)``, F-beta their
    weighted harmonic mean and support the number of true samples of each class.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    beta : float, default=1.0
        Weight of recall against precision (``beta=1`` is F1).
    labels : array-like, default=None
        The classes to report and their order; ``None`` uses the sorted labels found. Ignored
        with ``average='binary'``. Unlike scikit-learn, every label found must be listed.
    pos_label : str or int, default=1
        The positive class when ``average='binary'``, e.g. ``"spam"``.
    average : {None, 'binary', 'micro', 'macro', 'weighted'}, default=None
        ``None`` returns one value per class; ``'binary'`` the values of ``pos_label``;
        ``'micro'`` counts TP/FP/FN over all classes; ``'macro'`` is the unweighted mean of
        the per-class values; ``'weighted'`` their mean weighted by support.
    warn_for : tuple of str, default=('precision', 'recall', 'f-score')
        Which ill-defined metrics warn (as in scikit-learn).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    zero_division : {'warn', 0.0, 1.0, np.nan}, default='warn'
        The value returned where a ratio is 0/0 (e.g. precision when nothing is predicted
        positive). ``'warn'`` returns 0.0 and raises an ``UndefinedMetricWarning``.

    Returns
    -------
    precision, recall, fbeta_score : float or ndarray of shape (n_classes,)
    support : None or ndarray of shape (n_classes,)
        ``None`` when ``average`` is not ``None``.

    Raises
    ------
    ValueError
        For mismatched or empty inputs, unknown labels, a ``pos_label`` that is not a label,
        more than two classes with ``average='binary'``, or an unsupported ``average``,
        ``zero_division`` or ``beta``.

    Examples
    --------
    >>> from llmlab.metrics import precision_recall_fscore_support
    >>> y_true = ["ham", "ham", "spam", "spam", "spam"]
    >>> y_pred = ["ham", "spam", "spam", "spam", "ham"]
    >>> p, r, f, s = precision_recall_fscore_support(y_true, y_pred)
    >>> p.round(3).tolist(), r.round(3).tolist(), s.tolist()
    ([0.5, 0.667], [0.5, 0.667], [2, 3])
    """
    yt, yp, lab, sw, kind = _check_targets(
        y_true, y_pred, labels=labels, sample_weight=sample_weight
    )
    _check_prf_options(
        yt,
        yp,
        kind,
        labels=lab,
        pos_label=pos_label,
        average=average,
        zero_division=zero_division,
        beta=beta,
    )
    return _skm.precision_recall_fscore_support(
        yt,
        yp,
        beta=beta,
        labels=lab,
        pos_label=pos_label,
        average=average,
        warn_for=warn_for,
        sample_weight=sw,
        zero_division=zero_division,
    )


def _prf(which, y_true, y_pred, labels, pos_label, average, sample_weight, zero_division):
    yt, yp, lab, sw, kind = _check_targets(
        y_true, y_pred, labels=labels, sample_weight=sample_weight
    )
    _check_prf_options(
        yt, yp, kind, labels=lab, pos_label=pos_label, average=average,
        zero_division=zero_division,
    )
    func = {"precision": _skm.precision_score, "recall": _skm.recall_score, "f1": _skm.f1_score}
    return func[which](
        yt,
        yp,
        labels=lab,
        pos_label=pos_label,
        average=average,
        sample_weight=sw,
        zero_division=zero_division,
    )


def precision_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """Precision ``TP / (TP + FP)``: of the samples predicted positive, the share that is.

    A wrapper of :func:`sklearn.metrics.precision_score` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        The classes for ``average != 'binary'`` and their order; ``None`` uses the sorted
        labels found. Unlike scikit-learn, every label found must be listed.
    pos_label : str or int, default=1
        The positive class when ``average='binary'``, e.g. ``"spam"``.
    average : {'binary', None, 'micro', 'macro', 'weighted'}, default='binary'
        ``'binary'`` scores ``pos_label`` only; ``None`` returns one value per class;
        ``'micro'``, ``'macro'`` and ``'weighted'`` average over classes.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    zero_division : {'warn', 0.0, 1.0, np.nan}, default='warn'
        The value returned when nothing is predicted positive (0/0). ``'warn'`` returns 0.0
        and raises an ``UndefinedMetricWarning``.

    Returns
    -------
    float or ndarray of shape (n_classes,)

    Raises
    ------
    ValueError
        For mismatched or empty inputs, unknown labels, a ``pos_label`` that is not a label,
        more than two classes with ``average='binary'``, or an unsupported option.

    Examples
    --------
    TP=3, FP=1, FN=2, TN=4:

    >>> from llmlab.metrics import precision_score
    >>> y_true = ["spam"] * 3 + ["ham"] + ["spam"] * 2 + ["ham"] * 4
    >>> y_pred = ["spam"] * 3 + ["spam"] + ["ham"] * 2 + ["ham"] * 4
    >>> precision_score(y_true, y_pred, pos_label="spam")
    0.75
    >>> precision_score(y_true, y_pred, average=None).round(3)
    array([0.667, 0.75 ])
    """
    return _prf("precision", y_true, y_pred, labels, pos_label, average, sample_weight,
                zero_division)


def recall_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """Recall ``TP / (TP + FN)``: of the truly positive samples, the share that is found.

    A wrapper of :func:`sklearn.metrics.recall_score` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        The classes for ``average != 'binary'`` and their order; ``None`` uses the sorted
        labels found. Unlike scikit-learn, every label found must be listed.
    pos_label : str or int, default=1
        The positive class when ``average='binary'``, e.g. ``"spam"``.
    average : {'binary', None, 'micro', 'macro', 'weighted'}, default='binary'
        ``'binary'`` scores ``pos_label`` only; ``None`` returns one value per class;
        ``'micro'``, ``'macro'`` and ``'weighted'`` average over classes.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    zero_division : {'warn', 0.0, 1.0, np.nan}, default='warn'
        The value returned when ``y_true`` has no positive sample (0/0). ``'warn'`` returns
        0.0 and raises an ``UndefinedMetricWarning``.

    Returns
    -------
    float or ndarray of shape (n_classes,)

    Raises
    ------
    ValueError
        For mismatched or empty inputs, unknown labels, a ``pos_label`` that is not a label,
        more than two classes with ``average='binary'``, or an unsupported option.

    Examples
    --------
    TP=3, FP=1, FN=2, TN=4:

    >>> from llmlab.metrics import recall_score
    >>> y_true = ["spam"] * 3 + ["ham"] + ["spam"] * 2 + ["ham"] * 4
    >>> y_pred = ["spam"] * 3 + ["spam"] + ["ham"] * 2 + ["ham"] * 4
    >>> recall_score(y_true, y_pred, pos_label="spam")
    0.6
    >>> recall_score(y_true, y_pred, average="macro")
    0.7
    """
    return _prf("recall", y_true, y_pred, labels, pos_label, average, sample_weight,
                zero_division)


def f1_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """F1 score: the harmonic mean of precision and recall, ``2 TP / (2 TP + FP + FN)``.

    A wrapper of :func:`sklearn.metrics.f1_score` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        The classes for ``average != 'binary'`` and their order; ``None`` uses the sorted
        labels found. Unlike scikit-learn, every label found must be listed.
    pos_label : str or int, default=1
        The positive class when ``average='binary'``, e.g. ``"spam"``.
    average : {'binary', None, 'micro', 'macro', 'weighted'}, default='binary'
        ``'binary'`` scores ``pos_label`` only; ``None`` returns one value per class;
        ``'micro'``, ``'macro'`` and ``'weighted'`` average over classes.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    zero_division : {'warn', 0.0, 1.0, np.nan}, default='warn'
        The value returned when there is no positive sample in ``y_true`` nor in ``y_pred``.
        ``'warn'`` returns 0.0 and raises an ``UndefinedMetricWarning``.

    Returns
    -------
    float or ndarray of shape (n_classes,)

    Raises
    ------
    ValueError
        For mismatched or empty inputs, unknown labels, a ``pos_label`` that is not a label,
        more than two classes with ``average='binary'``, or an unsupported option.

    Notes
    -----
    F1 ignores true negatives, so it does not reward a classifier for the easy majority class.

    Examples
    --------
    TP=3, FP=1, FN=2, TN=4: precision 0.75, recall 0.6, F1 = 2/3.

    >>> from llmlab.metrics import f1_score
    >>> y_true = ["spam"] * 3 + ["ham"] + ["spam"] * 2 + ["ham"] * 4
    >>> y_pred = ["spam"] * 3 + ["spam"] + ["ham"] * 2 + ["ham"] * 4
    >>> round(f1_score(y_true, y_pred, pos_label="spam"), 4)
    0.6667
    """
    return _prf("f1", y_true, y_pred, labels, pos_label, average, sample_weight, zero_division)


def balanced_accuracy_score(y_true, y_pred, *, sample_weight=None, adjusted=False):
    """Balanced accuracy: the mean of the recall of each class.

    A wrapper of :func:`sklearn.metrics.balanced_accuracy_score` that checks its inputs
    first. Unlike accuracy it is not inflated by a large majority class: always answering
    the majority class scores ``1 / n_classes`` (0.5 for two classes).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    adjusted : bool, default=False
        Rescale so that chance scores 0 and a perfect classifier 1.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the inputs differ in length, are empty or mix label types.

    Notes
    -----
    As in scikit-learn, a class predicted but absent from ``y_true`` gives a ``UserWarning``
    ("y_pred contains classes not in y_true") and is left out of the mean.

    Examples
    --------
    >>> from llmlab.metrics import balanced_accuracy_score
    >>> y_true = ["ham"] * 98 + ["spam"] * 2
    >>> balanced_accuracy_score(y_true, ["ham"] * 100)
    0.5
    """
    _check_option("adjusted", adjusted, (True, False))
    yt, yp, _, sw, _ = _check_targets(y_true, y_pred, sample_weight=sample_weight)
    return _skm.balanced_accuracy_score(yt, yp, sample_weight=sw, adjusted=adjusted)


def matthews_corrcoef(y_true, y_pred, *, sample_weight=None):
    """Matthews correlation coefficient (MCC) between true and predicted labels.

    A wrapper of :func:`sklearn.metrics.matthews_corrcoef` that checks its inputs first.
    MCC uses all four cells of the confusion matrix: +1 is perfect, 0 no better than chance,
    -1 always wrong. As in scikit-learn, it is 0.0 when it is undefined (a single class in
    ``y_true`` or in ``y_pred``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    float
        A value in [-1, 1].

    Raises
    ------
    ValueError
        If the inputs differ in length, are empty or mix label types.

    Examples
    --------
    >>> from llmlab.metrics import matthews_corrcoef
    >>> y_true = ["spam"] * 3 + ["ham"] + ["spam"] * 2 + ["ham"] * 4
    >>> y_pred = ["spam"] * 3 + ["spam"] + ["ham"] * 2 + ["ham"] * 4
    >>> round(matthews_corrcoef(y_true, y_pred), 4)
    0.4082
    """
    yt, yp, _, sw, _ = _check_targets(y_true, y_pred, sample_weight=sample_weight)
    return _skm.matthews_corrcoef(yt, yp, sample_weight=sw)


def precision_recall_curve(
    y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=False
):
    """Precision and recall of ``y_score >= threshold`` for every distinct threshold.

    A wrapper of :func:`sklearn.metrics.precision_recall_curve` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels of a binary task, e.g. ``"ham"``/``"spam"``.
    y_score : array-like of shape (n_samples,)
        Score (or probability) of the positive class for each sample, e.g. the ``y_score``
        of :func:`llmlab.classify`.
    pos_label : str or int, default=None
        The class that ``y_score`` scores. ``None`` is allowed only when ``y_true`` takes
        values in {0, 1} or {-1, 1}; the positive class is then 1.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    drop_intermediate : bool, default=False
        Drop thresholds that do not change the curve's shape (as in scikit-learn).

    Returns
    -------
    precision : ndarray of shape (n_thresholds + 1,)
        Precision at each threshold; the last value is 1 (nothing predicted positive).
    recall : ndarray of shape (n_thresholds + 1,)
        Recall at each threshold, decreasing; the last value is 0.
    thresholds : ndarray of shape (n_thresholds,)
        The increasing distinct scores used as thresholds.

    Raises
    ------
    ValueError
        For mismatched or empty inputs, NaN or infinite scores, scores of the wrong shape,
        more than two classes, a missing or unknown ``pos_label``, or a ``y_true`` with no
        positive sample (recall is undefined; scikit-learn only warns).

    See Also
    --------
    llmlab.plots.PrecisionRecallDisplay : Plot it, marking the chosen threshold.

    Examples
    --------
    >>> from llmlab.metrics import precision_recall_curve
    >>> y_true = ["ham", "ham", "spam", "spam"]
    >>> y_score = [0.1, 0.4, 0.35, 0.8]
    >>> precision, recall, thresholds = precision_recall_curve(y_true, y_score,
    ...                                                        pos_label="spam")
    >>> precision.round(3).tolist()
    [0.5, 0.667, 0.5, 1.0, 1.0]
    >>> recall.tolist()
    [1.0, 1.0, 0.5, 0.5, 0.0]
    >>> thresholds.tolist()
    [0.1, 0.35, 0.4, 0.8]
    """
    yt, ys, pos_label, sw = _check_scores(
        y_true, y_score, pos_label=pos_label, sample_weight=sample_weight
    )
    _check_option("drop_intermediate", drop_intermediate, (True, False))
    # positional y_score: scikit-learn renamed the argument (probas_pred -> y_score) in 1.5
    return _skm.precision_recall_curve(
        yt, ys, pos_label=pos_label, sample_weight=sw, drop_intermediate=drop_intermediate
    )


def classification_report(
    y_true,
    y_pred,
    *,
    labels=None,
    target_names=None,
    sample_weight=None,
    digits=2,
    output_dict=False,
    zero_division="warn",
):
    """Text (or dict) summary of precision, recall, F1 and support for each class.

    A wrapper of :func:`sklearn.metrics.classification_report` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        The classes to report and their order. Unlike scikit-learn, every label found must
        be listed.
    target_names : list of str, default=None
        Display names of ``labels``, in the same order.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    digits : int, default=2
        Digits of the floats in the text report.
    output_dict : bool, default=False
        Return a dict instead of text.
    zero_division : {'warn', 0.0, 1.0, np.nan}, default='warn'
        The value returned where a ratio is 0/0.

    Returns
    -------
    str or dict

    Raises
    ------
    ValueError
        For mismatched or empty inputs, unknown labels, ``target_names`` of the wrong length
        or an unsupported ``zero_division``.

    Examples
    --------
    >>> from llmlab.metrics import classification_report
    >>> y_true = ["spam"] * 3 + ["ham"] + ["spam"] * 2 + ["ham"] * 4
    >>> y_pred = ["spam"] * 3 + ["spam"] + ["ham"] * 2 + ["ham"] * 4
    >>> print(classification_report(y_true, y_pred))
                  precision    recall  f1-score   support
    <BLANKLINE>
             ham       0.67      0.80      0.73         5
            spam       0.75      0.60      0.67         5
    <BLANKLINE>
        accuracy                           0.70        10
       macro avg       0.71      0.70      0.70        10
    weighted avg       0.71      0.70      0.70        10
    <BLANKLINE>
    """
    yt, yp, lab, sw, kind = _check_targets(
        y_true, y_pred, labels=labels, sample_weight=sample_weight
    )
    _check_prf_options(
        yt, yp, kind, labels=lab, pos_label=None, average=None, zero_division=zero_division
    )
    if target_names is not None:
        n_classes = len(lab) if lab is not None else len(set(yt.tolist()) | set(yp.tolist()))
        if len(target_names) != n_classes:
            raise ValueError(
                f"target_names has {len(target_names)} names but there are {n_classes} "
                f"classes; give one name per class, in the order of labels."
            )
    if not isinstance(digits, numbers.Integral) or isinstance(digits, bool) or digits < 0:
        raise ValueError(f"digits={digits!r} must be an integer >= 0.")
    return _skm.classification_report(
        yt,
        yp,
        labels=lab,
        target_names=target_names,
        sample_weight=sw,
        digits=digits,
        output_dict=output_dict,
        zero_division=zero_division,
    )


# --------------------------------------------------------------------------------------
# Report card
# --------------------------------------------------------------------------------------

_VERDICTS = ("good", "borderline", "bad", "n/a")

_FRACTION_METRICS = (
    "accuracy",
    "baseline_accuracy",
    "positive_rate",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "pr_balance",
)


@dataclass(frozen=True)
class ReportRow:
    """One line of a :class:`ReportCard`.

    Attributes
    ----------
    metric : str
        The metric's name, e.g. ``"accuracy"``.
    value : float
        Its value (NaN where it is undefined). Fractions are in [0, 1].
    verdict : {'good', 'borderline', 'bad', 'n/a'}
        What the course's thresholds say; ``'n/a'`` where no threshold applies.
    rule : str
        The rule that gave the verdict.
    caveat : str
        What the verdict does not tell you.
    """

    metric: str
    value: float
    verdict: str
    rule: str
    caveat: str


def _format_value(metric: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "undefined"
    if metric in _FRACTION_METRICS:
        return f"{100 * value:.1f} %"
    if metric == "mcc":
        return f"{value:+.3f}"
    if metric == "bits_per_byte":
        return f"{value:.3f}"
    return f"{value:.2f}"


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class ReportCard:
    """Metric values with a verdict, the rule behind it and its caveat.

    Made by :func:`report_card`. Print it for a plain-text table; in a notebook it renders as
    an HTML table.

    Attributes
    ----------
    rows : list of ReportRow
        One row per metric, in a fixed order.
    flags : list of str
        Warnings about the card as a whole, e.g. the accuracy paradox.
    title : str
        The card's heading.
    n_samples, n_positive : int or None
        Number of samples and of positive samples, when the card was made from labels.
    pos_label : str, int or None
        The positive class, when the card was made from labels.
    """

    rows: list[ReportRow]
    flags: list[str] = field(default_factory=list)
    title: str = "Report card"
    n_samples: int | None = None
    n_positive: int | None = None
    pos_label: Any = None

    # -- access ------------------------------------------------------------------------
    def __getitem__(self, metric: str) -> ReportRow:
        for row in self.rows:
            if row.metric == metric:
                return row
        raise KeyError(f"{metric!r} is not on this card; it has {self.metrics!r}.")

    def __contains__(self, metric) -> bool:
        return any(row.metric == metric for row in self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def metrics(self) -> list[str]:
        """The metric names on the card, in order."""
        return [row.metric for row in self.rows]

    @property
    def verdicts(self) -> dict[str, str]:
        """``{metric: verdict}`` for every row."""
        return {row.metric: row.verdict for row in self.rows}

    @property
    def accuracy_paradox(self) -> bool:
        """True when accuracy is good but recall is bad."""
        return any(flag.startswith("accuracy paradox") for flag in self.flags)

    # -- export ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The card as plain Python data.

        Returns
        -------
        dict
            ``{"title", "metrics": {metric: {"value", "verdict", "rule", "caveat"}},
            "flags", "n_samples", "n_positive", "pos_label"}``.
        """
        return {
            "title": self.title,
            "metrics": {
                row.metric: {k: v for k, v in asdict(row).items() if k != "metric"}
                for row in self.rows
            },
            "flags": list(self.flags),
            "n_samples": self.n_samples,
            "n_positive": self.n_positive,
            "pos_label": _plain(self.pos_label),
        }

    def to_csv(self, path_or_buf=None) -> str | None:
        """Write the rows as CSV (columns metric, value, verdict, rule, caveat).

        Parameters
        ----------
        path_or_buf : str, path or file-like, default=None
            Where to write. ``None`` returns the CSV text instead.

        Returns
        -------
        str or None
        """
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["metric", "value", "verdict", "rule", "caveat"])
        for row in self.rows:
            writer.writerow([row.metric, repr(float(row.value)), row.verdict, row.rule,
                             row.caveat])
        text = buf.getvalue()
        if path_or_buf is None:
            return text
        if hasattr(path_or_buf, "write"):
            path_or_buf.write(text)
        else:
            with open(path_or_buf, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        return None

    def to_text(self, *, caveats: bool = True) -> str:
        """Render the card as a plain-text table (with its caveats and flags below)."""
        header = ("metric", "value", "verdict", "rule")
        body = [(r.metric, _format_value(r.metric, r.value), r.verdict, r.rule) for r in self.rows]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(4)]

        def fmt(line):
            return "  ".join(
                cell.rjust(w) if i == 1 else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            ).rstrip()

        lines = [self.title]
        if self.n_samples is not None:
            lines[0] += f" ({self.n_samples} samples, positive class {self.pos_label!r})"
        lines += [fmt(header), fmt(tuple("-" * w for w in widths))]
        lines += [fmt(line) for line in body]
        if self.flags:
            lines.append("")
            lines += [f"! {flag}" for flag in self.flags]
        if caveats:
            notes = [(r.metric, r.caveat) for r in self.rows if r.caveat]
            if notes:
                lines += ["", "Caveats:"]
                lines += [f"- {metric}: {caveat}" for metric, caveat in notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        colours = {"good": "#d4edda", "borderline": "#fff3cd", "bad": "#f8d7da", "n/a": "#eeeeee"}
        esc = html.escape
        title = esc(self.title)
        if self.n_samples is not None:
            title += esc(f" ({self.n_samples} samples, positive class {self.pos_label!r})")
        parts = [
            '<div class="llmlab-report-card">',
            f"<h4>{title}</h4>",
            (
                "<table><thead><tr><th>metric</th><th>value</th><th>verdict</th><th>rule</th>"
                "<th>caveat</th></tr></thead><tbody>"
            ),
        ]
        for r in self.rows:
            parts.append(
                f"<tr><td>{esc(r.metric)}</td>"
                f'<td style="text-align:right">{esc(_format_value(r.metric, r.value))}</td>'
                f'<td style="background:{colours.get(r.verdict, "")}">{esc(r.verdict)}</td>'
                f"<td>{esc(r.rule)}</td><td>{esc(r.caveat)}</td></tr>"
            )
        parts.append("</tbody></table>")
        for flag in self.flags:
            parts.append(f'<p style="color:#a00"><strong>{esc(flag)}</strong></p>')
        parts.append("</div>")
        return "".join(parts)


# -- validator family 4: report-card values ----------------------------------------------


def _check_card_value(name: str, value, low: float, high: float | None = None):
    """Return ``value`` as a float after checking it; None stays None, NaN stays NaN."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise ValueError(  # noqa: TRY004 - bad user input is a ValueError here
            f"{name}={value!r} must be a number (or None to leave it off the card)."
        )
    value = float(value)
    if math.isnan(value):
        return value
    if high is None:
        if not (math.isfinite(value) and value >= low):
            raise ValueError(f"{name}={value!r} must be a finite number >= {low:g}.")
    elif not (low <= value <= high):
        hint = ""
        if high == 1 and 1 < value <= 100:
            hint = f"; pass a fraction such as {value / 100:g}, not a percentage"
        raise ValueError(f"{name}={value!r} is outside [{low:g}, {high:g}]{hint}.")
    return value


def _check_thresholds(thresholds):
    """Merge user overrides into :data:`THRESHOLDS`, checking names and values."""
    merged = {metric: dict(rule) for metric, rule in THRESHOLDS.items()}
    if thresholds is None:
        return merged
    if not isinstance(thresholds, dict):
        raise ValueError(  # noqa: TRY004 - bad user input is a ValueError here
            f"thresholds must be a dict like {{'accuracy': {{'good_above': 0.9}}}}, "
            f"got {thresholds!r}."
        )
    for metric, rule in thresholds.items():
        if metric not in THRESHOLDS:
            raise ValueError(
                f"thresholds has no rule for {metric!r}; choose among {sorted(THRESHOLDS)!r}."
            )
        if not isinstance(rule, dict):
            raise ValueError(  # noqa: TRY004 - bad user input is a ValueError here
                f"thresholds[{metric!r}] must be a dict, got {rule!r}."
            )
        for key, val in rule.items():
            if key not in _RULE_KEYS:
                raise ValueError(
                    f"thresholds[{metric!r}] has an unknown key {key!r}; choose among "
                    f"{list(_RULE_KEYS)!r}."
                )
            if val is not None:
                _check_card_value(f"thresholds[{metric!r}][{key!r}]", val, -math.inf, math.inf)
            merged[metric][key] = val
        merged[metric] = {k: v for k, v in merged[metric].items() if v is not None}
    return merged


def _verdict(value, rule: dict) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if "bad_above" in rule and value > rule["bad_above"]:
        return "bad"
    if "bad_below" in rule and value < rule["bad_below"]:
        return "bad"
    if "good_below" in rule and value < rule["good_below"]:
        return "good"
    if "good_above" in rule and value > rule["good_above"]:
        return "good"
    return "borderline"


def _rule_text(rule: dict, percent: bool) -> str:
    def num(x):
        return f"{100 * x:g} %" if percent else f"{x:g}"

    parts = []
    if "good_below" in rule:
        parts.append(f"< {num(rule['good_below'])} good")
    if "good_above" in rule:
        parts.append(f"> {num(rule['good_above'])} good")
    if "bad_above" in rule:
        parts.append(f"> {num(rule['bad_above'])} bad")
    if "bad_below" in rule:
        parts.append(f"< {num(rule['bad_below'])} bad")
    return ", ".join(parts) + ", else borderline"


def report_card(
    y_true=None,
    y_pred=None,
    *,
    pos_label=1,
    perplexity=None,
    bits_per_byte=None,
    accuracy=None,
    precision=None,
    recall=None,
    f1=None,
    balanced_accuracy=None,
    mcc=None,
    positive_rate=None,
    baseline_accuracy=None,
    thresholds=None,
    title="Report card",
):
    """Judge a model's metrics with the course's thresholds, each with its caveat.

    Give labels (``y_true``, ``y_pred``, ``pos_label``) and the card computes accuracy,
    the always-majority baseline, the positive-class rate, balanced accuracy, precision,
    recall, F1 and MCC. Or give the values you already have as keywords. Perplexity and
    bits per byte can be added either way.

    Verdicts (see :data:`THRESHOLDS`; "borderline" in between):

    * perplexity below 20 good, above 50 bad; it depends on the tokenizer and the text, so the
      card also shows bits per byte, which has no fixed threshold;
    * accuracy above 85 % good, below 60 % bad; it hides the rare class under imbalance;
    * precision above 80 % good; recall above 80 % good, below 50 % bad; both above 80 % makes
      them balanced (row ``pr_balance``, valued at the smaller of the two).

    The card is flagged with the **accuracy paradox** when accuracy is good but recall is
    bad, and when accuracy is no better than always predicting the majority class.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,), default=None
        Labels of a binary task. Give both or neither.
    pos_label : str or int, default=1
        The positive (usually rare) class, e.g. ``"spam"``. Used with ``y_true``/``y_pred``.
    perplexity : float or object, default=None
        Corpus perplexity (>= 1). An object with ``.perplexity`` and ``.bits_per_byte``
        attributes, such as the result of :func:`llmlab.perplexity`, fills both rows.
    bits_per_byte : float, default=None
        Bits per UTF-8 byte (>= 0).
    accuracy, precision, recall, f1, balanced_accuracy, positive_rate, baseline_accuracy : \
float, default=None
        Values in [0, 1] (0.85, not 85), when not computed from labels. NaN means
        undefined and gives the verdict "n/a".
    mcc : float, default=None
        Matthews correlation coefficient in [-1, 1].
    thresholds : dict, default=None
        Overrides of :data:`THRESHOLDS`, e.g. ``{"accuracy": {"good_above": 0.9}}``.
    title : str, default="Report card"
        The card's heading.

    Returns
    -------
    ReportCard

    Raises
    ------
    ValueError
        If only one of ``y_true``/``y_pred`` is given, if labels and the same metric as a
        keyword are both given, if the labels are not a valid binary task for ``pos_label``,
        or if a value is out of range (e.g. ``accuracy=85``).

    Notes
    -----
    From labels, precision and recall are NaN ("undefined", verdict "n/a") where they are
    0/0: precision when nothing is predicted positive, recall when ``y_true`` has no positive
    sample.

    Examples
    --------
    A model that answers "ham" to everything, on data that is 98 % ham:

    >>> from llmlab.metrics import report_card
    >>> y_true = ["ham"] * 98 + ["spam"] * 2
    >>> card = report_card(y_true, ["ham"] * 100, pos_label="spam", perplexity=12.5,
    ...                    bits_per_byte=1.1)
    >>> card["accuracy"].verdict, card["recall"].verdict, card.accuracy_paradox
    ('good', 'bad', True)
    >>> card["baseline_accuracy"].value
    0.98
    >>> print(card.to_text(caveats=False))  # doctest: +NORMALIZE_WHITESPACE
    Report card (100 samples, positive class 'spam')
    metric                 value  verdict  rule
    -----------------  ---------  -------  --------------------------------------------------------
    perplexity             12.50  good     < 20 good, > 50 bad, else borderline
    bits_per_byte          1.100  n/a      no threshold; lower is better
    accuracy              98.0 %  good     > 85 % good, < 60 % bad, else borderline
    baseline_accuracy     98.0 %  n/a      accuracy of always predicting the majority class 'ham'
    positive_rate          2.0 %  n/a      share of y_true that is 'spam' (2 of 100)
    balanced_accuracy     50.0 %  n/a      no threshold; 50 % is chance for two classes
    precision          undefined  n/a      > 80 % good, else borderline
    recall                 0.0 %  bad      > 80 % good, < 50 % bad, else borderline
    f1                     0.0 %  n/a      no threshold; harmonic mean of precision and recall
    pr_balance             0.0 %  bad      min(precision, recall); both good: good; recall bad: bad
    mcc                   +0.000  n/a      no threshold; 0 chance, +1 perfect, -1 always wrong
    <BLANKLINE>
    ! accuracy paradox: accuracy 98.0 % is good but recall 0.0 % is bad; the model misses most
      'spam' samples.
    ! accuracy 98.0 % is no better than always predicting 'ham' (98.0 %).

    From values alone:

    >>> report_card(perplexity=35.0, accuracy=0.9, recall=0.4).verdicts
    {'perplexity': 'borderline', 'accuracy': 'good', 'recall': 'bad'}
    """
    rules = _check_thresholds(thresholds)

    # perplexity may be a result object carrying both numbers
    if perplexity is not None and hasattr(perplexity, "perplexity"):
        if bits_per_byte is not None:
            raise ValueError(
                "perplexity is a result object that already carries bits_per_byte; do not "
                "pass bits_per_byte as well."
            )
        bits_per_byte = getattr(perplexity, "bits_per_byte", None)
        perplexity = perplexity.perplexity
    perplexity = _check_card_value("perplexity", perplexity, 1.0)
    bits_per_byte = _check_card_value("bits_per_byte", bits_per_byte, 0.0)

    given = {
        "accuracy": accuracy,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "balanced_accuracy": balanced_accuracy,
        "positive_rate": positive_rate,
        "baseline_accuracy": baseline_accuracy,
    }
    values = {k: _check_card_value(k, v, 0.0, 1.0) for k, v in given.items()}
    values["mcc"] = _check_card_value("mcc", mcc, -1.0, 1.0)

    n_samples = n_positive = None
    card_pos_label = None
    majority = None
    if (y_true is None) != (y_pred is None):
        missing = "y_pred" if y_pred is None else "y_true"
        raise ValueError(f"{missing} is missing: give both y_true and y_pred, or neither.")
    if y_true is not None:
        clash = [k for k, v in values.items() if v is not None]
        if clash:
            raise ValueError(
                f"give either y_true and y_pred or the metric values, not both: "
                f"{', '.join(f'{k}=' for k in clash)} would be computed from the labels."
            )
        yt, yp, _, _, kind = _check_targets(y_true, y_pred)
        _check_prf_options(
            yt, yp, kind, labels=None, pos_label=pos_label, average="binary", zero_division=0.0
        )
        counts = Counter(yt.tolist())
        majority, majority_count = max(counts.items(), key=lambda kv: (kv[1], repr(kv[0])))
        n_samples = int(yt.shape[0])
        n_positive = int(counts.get(pos_label, 0))
        card_pos_label = _plain(pos_label)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values.update(
                accuracy=float(_skm.accuracy_score(yt, yp)),
                baseline_accuracy=majority_count / n_samples,
                positive_rate=n_positive / n_samples,
                balanced_accuracy=float(_skm.balanced_accuracy_score(yt, yp)),
                precision=float(
                    _skm.precision_score(yt, yp, pos_label=pos_label, zero_division=np.nan)
                ),
                recall=float(_skm.recall_score(yt, yp, pos_label=pos_label, zero_division=np.nan)),
                f1=float(_skm.f1_score(yt, yp, pos_label=pos_label, zero_division=np.nan)),
                mcc=float(_skm.matthews_corrcoef(yt, yp)),
            )

    pos = repr(card_pos_label) if card_pos_label is not None else "positive"
    rows: list[ReportRow] = []

    def add(metric, value, verdict, rule, caveat):
        if value is not None:
            rows.append(ReportRow(metric, value, verdict, rule, caveat))

    add(
        "perplexity",
        perplexity,
        _verdict(perplexity, rules["perplexity"]),
        _rule_text(rules["perplexity"], percent=False),
        "Depends on the tokenizer and the text's domain: a model with a larger vocabulary or "
        "on easier text scores lower without being better. Compare models with bits per byte "
        "on the same text.",
    )
    add(
        "bits_per_byte",
        bits_per_byte,
        "n/a",
        "no threshold; lower is better",
        "Independent of the tokenizer, so comparable across models, but only on the same text.",
    )

    acc = values["accuracy"]
    base = values["baseline_accuracy"]
    acc_caveat = "Hides the rare class under class imbalance: check recall and the baseline."
    if base is not None and majority is not None:
        acc_caveat += (
            f" Always predicting {majority!r} already scores {_format_value('accuracy', base)}."
        )
    elif base is not None:
        acc_caveat += (
            f" Always predicting the majority class scores {_format_value('accuracy', base)}."
        )
    add(
        "accuracy",
        acc,
        _verdict(acc, rules["accuracy"]),
        _rule_text(rules["accuracy"], percent=True),
        acc_caveat,
    )
    add(
        "baseline_accuracy",
        base,
        "n/a",
        "accuracy of always predicting the majority class"
        + (f" {majority!r}" if majority is not None else ""),
        "A useful model must beat it.",
    )
    rate = values["positive_rate"]
    add(
        "positive_rate",
        rate,
        "n/a",
        f"share of y_true that is {pos}"
        + (f" ({n_positive} of {n_samples})" if n_samples is not None else ""),
        "The rarer the positive class, the less accuracy says; look at recall, precision, F1.",
    )
    add(
        "balanced_accuracy",
        values["balanced_accuracy"],
        "n/a",
        "no threshold; 50 % is chance for two classes",
        "Mean recall of the classes: not inflated by a large majority class.",
    )

    prec, rec = values["precision"], values["recall"]
    prec_caveat = (
        f"Of the samples predicted {pos}, the share that truly is; the seed gives no 'bad' line, "
        f"judge it together with recall."
    )
    if prec is not None and math.isnan(prec):
        prec_caveat = f"Undefined: the model never predicted {pos}. " + prec_caveat
    add(
        "precision",
        prec,
        _verdict(prec, rules["precision"]),
        _rule_text(rules["precision"], percent=True),
        prec_caveat,
    )
    rec_caveat = (
        f"Of the true {pos} samples, the share the model finds: the number accuracy hides "
        f"under imbalance."
    )
    if rec is not None and math.isnan(rec):
        rec_caveat = f"Undefined: y_true has no {pos} sample. " + rec_caveat
    add(
        "recall",
        rec,
        _verdict(rec, rules["recall"]),
        _rule_text(rules["recall"], percent=True),
        rec_caveat,
    )
    add(
        "f1",
        values["f1"],
        "n/a",
        "no threshold; harmonic mean of precision and recall",
        "Ignores true negatives, so the easy majority class does not inflate it.",
    )
    if prec is not None and rec is not None:
        p_good = _verdict(prec, rules["precision"]) == "good"
        r_verdict = _verdict(rec, rules["recall"])
        if r_verdict == "bad":
            bal_verdict = "bad"
        elif math.isnan(prec) or math.isnan(rec):
            bal_verdict = "n/a"
        else:
            bal_verdict = "good" if p_good and r_verdict == "good" else "borderline"
        defined = [v for v in (prec, rec) if not math.isnan(v)]
        balance = min(defined) if defined else float("nan")
        add(
            "pr_balance",
            balance,
            bal_verdict,
            "min(precision, recall); both good: good; recall bad: bad",
            "Which of the two matters more depends on the cost of a false alarm against a miss.",
        )
    add(
        "mcc",
        values["mcc"],
        "n/a",
        "no threshold; 0 chance, +1 perfect, -1 always wrong",
        "Uses all four cells of the confusion matrix; robust to imbalance.",
    )

    flags = []
    if (
        acc is not None
        and rec is not None
        and _verdict(acc, rules["accuracy"]) == "good"
        and _verdict(rec, rules["recall"]) == "bad"
    ):
        flags.append(
            f"accuracy paradox: accuracy {_format_value('accuracy', acc)} is good but "
            f"recall {_format_value('recall', rec)} is bad; the model misses most "
            f"{pos} samples."
        )
    if acc is not None and base is not None and not math.isnan(acc) and acc <= base:
        who = repr(majority) if majority is not None else "the majority class"
        flags.append(
            f"accuracy {_format_value('accuracy', acc)} is no better than always predicting "
            f"{who} ({_format_value('accuracy', base)})."
        )

    return ReportCard(
        rows=rows,
        flags=flags,
        title=title,
        n_samples=n_samples,
        n_positive=n_positive,
        pos_label=card_pos_label,
    )
