"""Step 1 of a report card: the values, why some are undefined, and their intervals.

:func:`compute` checks the inputs, computes every row of :data:`~llmlab.report.registry.METRICS`
that the inputs allow (with the row's own undefined-value rule) and, with a confidence level,
the rows' bootstrap intervals on one set of resamples. It judges nothing: that is
:mod:`llmlab.report.rules`.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from llmlab import resampling as _bs
from llmlab.validation import check_prf_options, check_scores, check_targets
from llmlab.report.card import plain
from llmlab.report.registry import METRICS, REGISTRY, Data

__all__ = ["LABEL_KEYWORDS", "Computed", "check_card_value", "check_data", "compute",
           "label_metrics"]

#: The metrics that may be given as keywords instead of being computed from labels.
LABEL_KEYWORDS = ("accuracy", "precision", "recall", "f1", "balanced_accuracy", "mcc",
                  "positive_rate", "baseline_accuracy")


@dataclass
class Computed:
    """What :func:`compute` found, before any judging.

    Attributes
    ----------
    values : dict
        Metric -> value (NaN where undefined), for every row the card has.
    undefined : dict
        Metric -> why its value is undefined (only the undefined ones).
    intervals : dict
        Metric -> ``(low, high)``, for the rows that have an interval.
    n_samples, n_positive : int or None
        Number of samples and of ``pos_label`` samples in ``y_true`` (None without labels).
    pos_label : object
        The positive class (None without labels).
    majority : object
        The majority class of ``y_true`` (None without labels).
    classes : list
        The classes of ``y_true`` (empty without labels).
    confidence_level : float or None
        The intervals' level (None when the card has none).
    interval_note : str
        How the intervals were computed.
    """

    values: dict[str, float]
    undefined: dict[str, str] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    n_samples: int | None = None
    n_positive: int | None = None
    pos_label: Any = None
    majority: Any = None
    classes: list = field(default_factory=list)
    confidence_level: float | None = None
    interval_note: str = ""


def check_card_value(name: str, value, low: float, high: float | None = None):
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


def _split_perplexity(perplexity, bits_per_byte):
    """``(perplexity, bits_per_byte, result)``: a result object carries both numbers."""
    if perplexity is None or not hasattr(perplexity, "perplexity"):
        return perplexity, bits_per_byte, None
    if bits_per_byte is not None:
        raise ValueError(
            "perplexity is a result object that already carries bits_per_byte; do not pass "
            "bits_per_byte as well."
        )
    return perplexity.perplexity, getattr(perplexity, "bits_per_byte", None), perplexity


def check_data(y_true, y_pred, y_score, pos_label) -> Data:
    """Check labels and scores of a binary task; single-class ``y_true`` is allowed."""
    if y_true is None and (y_pred is not None or y_score is not None):
        raise ValueError("y_true is missing: give y_true with y_pred (and/or y_score).")
    if y_pred is None and y_score is None:
        raise ValueError("y_pred is missing: give both y_true and y_pred, or neither "
                         "(or y_true and y_score).")
    yt, yp, _, _, kind = check_targets(y_true, y_true if y_pred is None else y_pred)
    classes = sorted(set(yt.tolist()), key=repr)
    if y_pred is None and len(classes) > 2:
        raise ValueError(
            f"y_true holds {len(classes)} classes {classes!r}; the card's scores need a binary "
            f"task (pos_label against the rest). Binarize first, e.g. "
            f"y_true = [y == {pos_label!r} for y in y_true] with pos_label=True."
        )
    check_prf_options(yt, yp, kind, labels=None, pos_label=pos_label, average="binary",
                      zero_division=0.0)
    ys = None
    if y_score is not None:
        # check_scores refuses a y_true without pos_label; the card reports ROC AUC and
        # average precision undefined there instead, so the scores are checked against a
        # class y_true has
        present = pos_label if pos_label in set(yt.tolist()) else yt[0]
        _, ys, _, _ = check_scores(yt, y_score, pos_label=present)
    return Data(y_true=yt, y_pred=None if y_pred is None else yp, y_score=ys,
                pos_label=pos_label)


def label_metrics(data: Data, names=None) -> tuple[dict, dict]:
    """Values (NaN where undefined) and reasons of the registry's rows that ``data`` allows.

    The one place a label or score metric is computed, for the card and for
    :func:`llmlab.evaluation.classification_counts`.
    """
    values, undefined = {}, {}
    for m in METRICS:
        if names is not None and m.name not in names:
            continue
        if m.inputs == "y_true" or (m.inputs == "y_pred" and data.y_pred is not None) or (
                m.inputs == "y_score" and data.y_score is not None):
            values[m.name], reason = m.compute(data)
            if reason is not None:
                undefined[m.name] = reason
    return values, undefined


def _given_values(given: dict) -> tuple[dict, dict]:
    values = {}
    for name, value in given.items():
        low, high = REGISTRY[name].bounds
        value = check_card_value(name, value, low, high)
        if value is not None:
            values[name] = value
    undefined = {k: "given as NaN" for k, v in values.items() if math.isnan(v)}
    return values, undefined


def _pr_balance(values: dict, undefined: dict) -> None:
    """``pr_balance``: the smaller of precision and recall, undefined where both are."""
    if "precision" not in values or "recall" not in values:
        return
    values["pr_balance"] = float(np.fmin(values["precision"], values["recall"]))
    if math.isnan(values["pr_balance"]):
        undefined["pr_balance"] = "precision and recall are both undefined"


def compute(*, y_true=None, y_pred=None, y_score=None, pos_label=1, perplexity=None,
            bits_per_byte=None, given=None, confidence_level=0.95, n_resamples=9999,
            random_state=0) -> Computed:
    """Step 1 of :func:`llmlab.report.report_card`: values, reasons and intervals."""
    rng = None
    if confidence_level is not None:
        rng = _bs.check_bootstrap_options(confidence_level, n_resamples, "percentile",
                                          random_state)
    perplexity, bits_per_byte, result = _split_perplexity(perplexity, bits_per_byte)
    values, undefined = _given_values({"perplexity": perplexity, "bits_per_byte": bits_per_byte,
                                       **(given or {})})
    out = Computed(values, undefined)
    data = Data(texts=result)
    if y_true is not None or y_pred is not None or y_score is not None:
        clash = [k for k in LABEL_KEYWORDS if k in values]
        if clash and y_true is not None:
            raise ValueError(
                f"give either y_true and y_pred or the metric values, not both: "
                f"{', '.join(f'{k}=' for k in clash)} would be computed from the labels."
            )
        data = replace(check_data(y_true, y_pred, y_score, pos_label), texts=result)
        found, reasons = label_metrics(data)
        values.update(found)
        undefined.update(reasons)
        _describe_sample(out, data)
    _pr_balance(values, undefined)
    out.values = {m.name: values[m.name] for m in METRICS if m.name in values}
    if rng is not None:
        _intervals(out, data, rng, confidence_level, n_resamples, random_state)
    return out


def _describe_sample(out: Computed, data: Data) -> None:
    counts = Counter(data.y_true.tolist())
    out.majority = max(counts.items(), key=lambda kv: (kv[1], repr(kv[0])))[0]
    out.n_samples = data.n_samples
    out.n_positive = data.n_true_positive
    out.pos_label = plain(data.pos_label)
    out.classes = data.classes


def _intervals(out, data, rng, confidence_level, n_resamples, random_state) -> None:
    """Every row's percentile interval: samples and texts each on one set of resamples."""
    seed_state = rng.bit_generator.state
    kernels = {}
    for m in METRICS:
        from_data = data.texts is not None if m.inputs == "texts" else data.y_true is not None
        if m.name in out.values and m.kernel is not None and from_data:
            kernel = m.kernel(data, kernels)
            if kernel is not None:
                kernels[m.name] = kernel
    # an undefined value has no interval; its kernel may still serve pr_balance's
    kernels = {k: v for k, v in kernels.items() if not math.isnan(out.values[k])}
    groups = (
        ([k for k in kernels if REGISTRY[k].inputs != "texts"], "samples"),
        ([k for k in kernels if REGISTRY[k].inputs == "texts"], "texts for perplexity"),
    )
    notes = []
    draw = rng
    for names, unit in groups:
        if not names:
            continue
        if notes:  # each group draws from the same seed
            draw = np.random.default_rng()
            draw.bit_generator.state = seed_state
        n = kernels[names[0]].n
        found = _bs.percentile_intervals([kernels[k] for k in names], n,
                                         confidence_level=confidence_level,
                                         n_resamples=n_resamples, rng=draw)
        out.intervals.update(zip(names, found))
        notes.append(f"over the {n} {unit}")
    if notes:
        seed = f", random_state={random_state}" if isinstance(random_state, int) else ""
        out.confidence_level = float(confidence_level)
        out.interval_note = (f"Intervals: {100 * confidence_level:g} % percentile bootstrap "
                             f"{' and '.join(notes)} ({n_resamples} resamples{seed}).")
