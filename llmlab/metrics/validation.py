"""Input checks shared by the metrics and the plots: one validator per family.

Each raises a ``ValueError`` (``TypeError`` for a wrong kind of object) that names the bad
value and the values that would have been accepted, before scikit-learn sees the input.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter

import numpy as np

__all__ = [
    "AVERAGES",
    "check_option",
    "check_prf_options",
    "check_probabilities",
    "check_sample_weight",
    "check_scores",
    "check_targets",
]

#: The values ``average=`` accepts (multilabel ``"samples"`` is not supported).
AVERAGES = (None, "binary", "micro", "macro", "weighted")

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


def check_option(name: str, value, allowed) -> None:
    """Raise ValueError unless ``value`` is one of ``allowed`` (compared by ==, type-aware)."""
    if isinstance(value, np.bool_):
        value = bool(value)
    for a in allowed:
        if value is a or (
            type(value) is type(a) and value == a  # so that True does not match 1
        ):
            return
    raise ValueError(f"{name}={value!r} is not supported; choose one of {list(allowed)!r}.")


def check_sample_weight(sample_weight, n: int):
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


def check_targets(y_true, y_pred, *, labels=None, sample_weight=None):
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

    sw = check_sample_weight(sample_weight, yt.shape[0])
    return yt, yp, lab, sw, kind_t


# --------------------------------------------------------------------------------------
# Validator family 2: options of the precision / recall / F family
# --------------------------------------------------------------------------------------


def check_prf_options(yt, yp, kind, *, labels, pos_label, average, zero_division, beta=1.0):
    """Validate ``average``, ``pos_label``, ``zero_division`` and ``beta`` for checked targets."""
    if average == "samples":
        raise ValueError(
            "average='samples' is for multilabel targets, which llmlab does not support; choose "
            f"one of {list(AVERAGES)!r}."
        )
    check_option("average", average, AVERAGES)

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


def check_scores(y_true, y_score, *, pos_label=None, sample_weight=None, name="y_score",
                 require_positive=True):
    """Validate inputs of score-based metrics; return ``(y_true, y_score, pos_label, sw)``.

    ``name`` is what the scores are called in messages (``"y_prob"`` for probabilities);
    ``require_positive`` refuses a ``y_true`` without the positive class (a precision-recall
    curve needs one; a calibration measure does not).
    """
    yt, kind = _as_label_array(y_true, "y_true")
    if y_score is None:
        raise ValueError(f"{name} is None; expected one score per sample.")
    raw = np.asarray(y_score)
    if raw.dtype.kind in "USO" and raw.size and any(isinstance(v, str) for v in raw.ravel()):
        raise ValueError(
            f"{name} holds strings (e.g. {next(v for v in raw.ravel() if isinstance(v, str))!r})"
            f"; it must hold numbers: the score or probability of the positive class for each "
            f"sample. Did you pass y_pred instead of {name}?"
        )
    try:
        # keep a float32 array float32, as scikit-learn would (its thresholds stay 0.3, not
        # 0.30000001); anything else becomes float64
        ys = raw if raw.dtype.kind == "f" else np.asarray(y_score, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a sequence of numbers: the score or probability of the positive "
            "class for each sample."
        ) from None
    if ys.ndim == 0:
        raise ValueError(f"{name}={y_score!r} is a single value; expected one score per sample.")
    if ys.ndim == 2 and ys.shape[1] == 1:
        ys = ys.ravel()
    if ys.ndim != 1:
        raise ValueError(
            f"{name} has shape {ys.shape}; expected one score per sample. For per-class "
            f"probabilities pass the positive class's column, e.g. {name}[:, 1]."
        )
    if yt.shape[0] != ys.shape[0]:
        raise ValueError(
            f"y_true and {name} have different lengths: len(y_true)={yt.shape[0]} but "
            f"len({name})={ys.shape[0]}. They must hold one value per sample, in the same order."
        )
    if yt.shape[0] == 0:
        raise ValueError(f"y_true and {name} are empty; at least one sample is needed.")
    bad = ~np.isfinite(ys)
    if bad.any():
        i, n = _first_bad(bad)
        raise ValueError(
            f"{name} contains {ys[i].item()!r} at index {i} ({n} non-finite value(s) in all); "
            f"scores must be finite numbers. Drop those samples or fix the scorer."
        )

    classes = _sorted(set(yt.tolist()))
    if len(classes) > 2:
        raise ValueError(
            f"y_true holds {len(classes)} classes {_show(classes)}; {name} needs a binary "
            f"task (the positive class against the rest). Binarize first, e.g. "
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
        if len(classes) == 2 or not require_positive:
            raise ValueError(
                f"pos_label={pos_label!r} is not one of the labels in y_true: {_show(classes)}."
            )
        raise ValueError(
            f"y_true contains no positive sample (no {pos_label!r}; only {_show(classes)}): "
            f"recall = TP / (TP + FN) is undefined without positives, so a precision-recall "
            f"curve means nothing. Evaluate on data that contains the positive class."
        )
    sw = check_sample_weight(sample_weight, yt.shape[0])
    return yt, ys, pos_label, sw


def check_probabilities(y_true, y_prob, *, pos_label=None):
    """Validate a binary ``y_true`` and probabilities in [0, 1]; return ``(positive, y_prob)``.

    ``positive`` is the boolean array ``y_true == pos_label``. The checks are
    :func:`check_scores`' (a ``y_true`` without positives is allowed) plus the range.
    """
    yt, yp, pos_label, _ = check_scores(y_true, y_prob, pos_label=pos_label, name="y_prob",
                                        require_positive=False)
    bad = (yp < 0) | (yp > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"y_prob[{i}] is {yp[i].item()!r}; probabilities must lie in [0, 1]. Scores that "
            f"are not probabilities have no calibration to measure."
        )
    return yt == pos_label, yp


