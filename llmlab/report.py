"""The report card: metric values judged against the course's thresholds, with caveats.

The metrics themselves are computed by :mod:`llmlab.metrics` (scikit-learn underneath); this
module judges and presents them. Each row of a card comes from one entry of :data:`ROWS`, a
table of row specifications: the metric, which direction is better, its unit, the rule when
it has no threshold, its chance level and its caveat. Verdicts use :data:`THRESHOLDS` (the
seed lesson's lines, which a caller may override) and each threshold is printed with the caveat
it needs.

A card computed from labels (or scores) also shows each metric's bootstrap confidence interval
(:mod:`llmlab.metrics.uncertainty`, reproducible with ``random_state``), and then the verdict
uses the interval, not the point: "good" or "bad" only when the whole interval is on that
side of the line, "undecided" when it crosses a line. Metrics with a chance level (balanced
accuracy, MCC, ROC AUC, average precision) are judged against it: "above chance", "chance"
(the interval contains the chance level: not distinguishable from guessing) or "below chance".
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as _skm

from llmlab.card import ReportCard, ReportRow, format_value, plain
from llmlab.metrics import resampling as _bs
from llmlab.metrics.validation import check_prf_options, check_scores, check_targets

__all__ = ["DIRECTIONS", "ROWS", "THRESHOLDS", "ReportCard", "ReportRow", "RowSpec",
           "report_card"]

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


@dataclass(frozen=True)
class RowSpec:
    """What a report-card row is: one entry of :data:`ROWS`.

    Attributes
    ----------
    metric : str
        The row's name and the key of its value.
    better : {"higher", "lower", None}
        Which direction is better (None for descriptive rows such as the positive rate).
    unit : {"fraction", "number", "bits", "signed"}
        How the value is printed (fractions as percentages).
    rule : str or None
        The rule text for a row without a threshold; None when :data:`THRESHOLDS` judges it.
        May use ``{pos}``, ``{majority}``, ``{n_positive}`` and ``{n_samples}``.
    caveat : str
        What the verdict does not tell you; may use the same fields.
    chance : float, str or None, default=None
        The value of guessing (e.g. 0.5 for ROC AUC), or the name of the card value that
        holds it (``"positive_rate"`` for average precision). With an interval, the verdict
        says whether the metric is distinguishable from it.
    """

    metric: str
    better: str | None
    unit: str
    rule: str | None
    caveat: str
    chance: float | str | None = None


#: The rows of a report card, in the order they are printed.
ROWS: tuple[RowSpec, ...] = (
    RowSpec(
        "perplexity", "lower", "number", None,
        "Depends on the tokenizer and the text's domain: on the same text, a tokenizer with "
        "coarser tokens (a larger vocabulary) gives a higher per-token perplexity without the "
        "model being worse, and easier text scores lower. Compare models with bits per byte "
        "on the same text.",
    ),
    RowSpec(
        "bits_per_byte", "lower", "bits", "no threshold; lower is better",
        "Independent of the tokenizer, so comparable across models, but only on the same text.",
    ),
    RowSpec(
        "accuracy", "higher", "fraction", None,
        "Hides the rare class under class imbalance: check recall and the baseline.",
    ),
    RowSpec(
        "baseline_accuracy", None, "fraction",
        "accuracy of always predicting the majority class{majority_named}",
        "A useful model must beat it.",
    ),
    RowSpec(
        "positive_rate", None, "fraction", "share of y_true that is {pos}{counts}",
        "The rarer the positive class, the less accuracy says; look at recall, precision, F1.",
    ),
    RowSpec(
        "balanced_accuracy", "higher", "fraction",
        "no threshold; 50 % is chance for two classes",
        "Mean recall of the classes: not inflated by a large majority class.",
        chance=0.5,
    ),
    RowSpec(
        "precision", "higher", "fraction", None,
        "Of the samples predicted {pos}, the share that truly is; the seed gives no 'bad' "
        "line, judge it together with recall.",
    ),
    RowSpec(
        "recall", "higher", "fraction", None,
        "Of the true {pos} samples, the share the model finds: the number accuracy hides "
        "under imbalance.",
    ),
    RowSpec(
        "f1", "higher", "fraction", "no threshold; harmonic mean of precision and recall",
        "Ignores true negatives, so the easy majority class does not inflate it.",
    ),
    RowSpec(
        "pr_balance", "higher", "fraction",
        "min(precision, recall); both good: good; recall bad: bad",
        "Which of the two matters more depends on the cost of a false alarm against a miss.",
    ),
    RowSpec(
        "mcc", "higher", "signed", "no threshold; 0 chance, +1 perfect, -1 always wrong",
        "Uses all four cells of the confusion matrix; robust to imbalance.",
        chance=0.0,
    ),
    RowSpec(
        "roc_auc", "higher", "score", "no threshold; 0.5 is chance, 1 perfect",
        "The chance that a random {pos} sample scores above a random other one: it judges "
        "the scores at every threshold, not the threshold in use.",
        chance=0.5,
    ),
    RowSpec(
        "average_precision", "higher", "score",
        "no threshold; chance is the positive rate{prevalence}",
        "Mean precision over the recall levels of the score ranking; its chance level is the "
        "share of {pos}, so compare it with that, not with 0.5.",
        chance="positive_rate",
    ),
)

_SPECS = {spec.metric: spec for spec in ROWS}

#: Which direction is better, per metric (None: descriptive, neither).
DIRECTIONS: dict[str, str | None] = {spec.metric: spec.better for spec in ROWS}

def _format_value(metric: str, value: float) -> str:
    spec = _SPECS.get(metric)
    return format_value(spec.unit if spec else "number", value)


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
    y_score=None,
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
    confidence_level=0.95,
    n_resamples=9999,
    random_state=0,
):
    """Judge a model's metrics with the course's thresholds, each with its caveat.

    Give labels (``y_true``, ``y_pred``, ``pos_label``) and the card computes accuracy,
    the always-majority baseline, the positive-class rate, balanced accuracy, precision,
    recall, F1 and MCC; give scores too (``y_score``) and it adds ROC AUC and average
    precision. Or give the values you already have as keywords. Perplexity and bits per byte
    can be added either way.

    From labels, scores or a perplexity result, every metric comes with its bootstrap
    confidence interval (percentile method; samples resampled, texts for perplexity) and the
    verdict uses the interval, not the point:

    * "good" / "bad" only when the whole interval is on that side of the line; "undecided"
      when the interval crosses a line (the data cannot tell); "borderline" when it lies
      between the lines;
    * metrics with a chance level (balanced accuracy 50 %, MCC 0, ROC AUC 0.5, average
      precision = the positive rate) are "above chance", "chance" (the interval contains
      the chance level: not distinguishable from guessing; the card is flagged) or
      "below chance".

    Values given as keywords have no interval and are judged by the point.

    Verdicts (see :data:`THRESHOLDS`; "borderline" in between):

    * perplexity below 20 good, above 50 bad; it depends on the tokenizer and the text, so the
      card also shows bits per byte, which has no fixed threshold;
    * accuracy above 85 % good, below 60 % bad; it hides the rare class under imbalance;
    * precision above 80 % good; recall above 80 % good, below 50 % bad; both above 80 % makes
      them balanced (row ``pr_balance``, valued at the smaller of the two).

    The card is flagged with the **accuracy paradox** when accuracy is good but recall is
    bad, and when accuracy is no better than always predicting the majority class (both on
    the point values).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,), default=None
        Labels of a binary task. ``y_pred`` may be left out when ``y_score`` is given.
    pos_label : str or int, default=1
        The positive (usually rare) class, e.g. ``"spam"``. Used with ``y_true``/``y_pred``.
    y_score : array-like of shape (n_samples,), default=None
        Score or probability of ``pos_label`` (e.g. ``classify(...).y_score``): adds ROC AUC
        and average precision, with intervals.
    perplexity : float or object, default=None
        Corpus perplexity (>= 1). An object with ``.perplexity`` and ``.bits_per_byte``
        attributes, such as the result of :func:`llmlab.perplexity`, fills both rows; with
        its per-text lists it also gives their intervals, resampling texts.
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
    confidence_level : float or None, default=0.95
        Level of the intervals; ``None`` computes none (verdicts by the point alone).
    n_resamples : int, default=9999
        Bootstrap resamples.
    random_state : None, int or numpy.random.Generator, default=0
        Seed of the resampling. A card is a record, so the default is fixed: the same inputs
        give the same card. Pass ``None`` for a fresh draw.

    Returns
    -------
    ReportCard

    Raises
    ------
    ValueError
        If ``y_true`` is given without ``y_pred`` or ``y_score`` (or the other way round), if
        labels and the same metric as a keyword are both given, if the labels are not a valid
        binary task for ``pos_label``, if a value is out of range (e.g. ``accuracy=85``), or
        for bad interval options.

    Notes
    -----
    From labels, precision and recall are NaN ("undefined", verdict "n/a") where they are
    0/0: precision when nothing is predicted positive, recall when ``y_true`` has no positive
    sample. Resamples on which a metric is undefined are left out of its interval.

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
    metric                 value  95 % interval      verdict  rule
    -----------------  ---------  -----------------  -------
      --------------------------------------------------------
    perplexity             12.50                     good     < 20 good, > 50 bad, else borderline
    bits_per_byte          1.100                     n/a      no threshold; lower is better
    accuracy              98.0 %  [95.0 %, 100.0 %]  good     > 85 % good, < 60 % bad, else
      borderline
    baseline_accuracy     98.0 %                     n/a      accuracy of always predicting the
      majority class 'ham'
    positive_rate          2.0 %                     n/a      share of y_true that is 'spam' (2 of
      100)
    balanced_accuracy     50.0 %  [50.0 %, 100.0 %]  chance   no threshold; 50 % is chance for two
      classes
    precision          undefined                     n/a      > 80 % good, else borderline
    recall                 0.0 %  [0.0 %, 0.0 %]     bad      > 80 % good, < 50 % bad, else
      borderline
    f1                     0.0 %  [0.0 %, 0.0 %]     n/a      no threshold; harmonic mean of
      precision and recall
    pr_balance             0.0 %  [0.0 %, 0.0 %]     bad      min(precision, recall); both good:
      good; recall bad: bad
    mcc                   +0.000  [+0.000, +0.000]   chance   no threshold; 0 chance, +1 perfect, -1
      always wrong
    <BLANKLINE>
    Intervals: 95 % percentile bootstrap over the 100 samples (9999 resamples, random_state=0).
    <BLANKLINE>
    ! accuracy paradox: accuracy 98.0 % is good but recall 0.0 % is bad; the model misses most
      'spam' samples.
    ! accuracy 98.0 % is no better than always predicting 'ham' (98.0 %).
    ! not distinguishable from chance: balanced accuracy 50.0 %, 95 % interval [50.0 %, 100.0 %]
      contains 50.0 %; MCC +0.000, 95 % interval [+0.000, +0.000] contains +0.000.

    A classifier whose scores carry no signal:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y_true = rng.choice(["ham", "spam"], size=200)
    >>> card = report_card(y_true, y_score=rng.random(200), pos_label="spam")
    >>> card["roc_auc"].verdict, card["roc_auc"].low < 0.5 < card["roc_auc"].high
    ('chance', True)

    From values alone (no intervals):

    >>> report_card(perplexity=35.0, accuracy=0.9, recall=0.4).verdicts
    {'perplexity': 'borderline', 'accuracy': 'good', 'recall': 'bad'}
    """

    rules = _check_thresholds(thresholds)
    rng = None
    if confidence_level is not None:
        rng = _bs.check_bootstrap_options(confidence_level, n_resamples, "percentile",
                                          random_state)
    seed_state = rng.bit_generator.state if rng is not None else None

    # perplexity may be a result object carrying both numbers (and its per-text lists)
    ppl_result = None
    if perplexity is not None and hasattr(perplexity, "perplexity"):
        if bits_per_byte is not None:
            raise ValueError(
                "perplexity is a result object that already carries bits_per_byte; do not "
                "pass bits_per_byte as well."
            )
        ppl_result = perplexity
        bits_per_byte = getattr(perplexity, "bits_per_byte", None)
        perplexity = perplexity.perplexity
    values = {
        "perplexity": _check_card_value("perplexity", perplexity, 1.0),
        "bits_per_byte": _check_card_value("bits_per_byte", bits_per_byte, 0.0),
    }
    given = {
        "accuracy": accuracy,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "balanced_accuracy": balanced_accuracy,
        "positive_rate": positive_rate,
        "baseline_accuracy": baseline_accuracy,
    }
    values.update({k: _check_card_value(k, v, 0.0, 1.0) for k, v in given.items()})
    values["mcc"] = _check_card_value("mcc", mcc, -1.0, 1.0)
    values["roc_auc"] = values["average_precision"] = None

    n_samples = n_positive = None
    card_pos_label = None
    majority = None
    kernels = {}  # metric -> weighted kernel over the samples, for the intervals
    if y_true is None and (y_pred is not None or y_score is not None):
        raise ValueError("y_true is missing: give y_true with y_pred (and/or y_score).")
    if y_true is not None and y_pred is None and y_score is None:
        raise ValueError("y_pred is missing: give both y_true and y_pred, or neither "
                         "(or y_true and y_score).")
    if y_true is not None:
        clash = [k for k in (*given, "mcc") if values[k] is not None]
        if clash:
            raise ValueError(
                f"give either y_true and y_pred or the metric values, not both: "
                f"{', '.join(f'{k}=' for k in clash)} would be computed from the labels."
            )
        if y_pred is not None:
            yt, yp, _, _, kind = check_targets(y_true, y_pred)
            check_prf_options(
                yt, yp, kind, labels=None, pos_label=pos_label, average="binary",
                zero_division=0.0,
            )
        else:
            yt = None
        if y_score is not None:
            yt_s, ys, _, _ = check_scores(y_true, y_score, pos_label=pos_label)
            if yt is None:
                yt = yt_s
            elif yt.shape[0] != ys.shape[0]:
                raise ValueError(
                    f"y_pred and y_score have different lengths: {yt.shape[0]} and "
                    f"{ys.shape[0]}; they must describe the same samples."
                )
        counts = Counter(yt.tolist())
        majority, majority_count = max(counts.items(), key=lambda kv: (kv[1], repr(kv[0])))
        n_samples = int(yt.shape[0])
        n_positive = int(counts.get(pos_label, 0))
        card_pos_label = plain(pos_label)
        values.update(baseline_accuracy=majority_count / n_samples,
                      positive_rate=n_positive / n_samples)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if y_pred is not None:
                values.update(
                    accuracy=float(_skm.accuracy_score(yt, yp)),
                    balanced_accuracy=float(_skm.balanced_accuracy_score(yt, yp)),
                    precision=float(
                        _skm.precision_score(yt, yp, pos_label=pos_label, zero_division=np.nan)
                    ),
                    recall=float(
                        _skm.recall_score(yt, yp, pos_label=pos_label, zero_division=np.nan)
                    ),
                    f1=float(_skm.f1_score(yt, yp, pos_label=pos_label, zero_division=np.nan)),
                    mcc=float(_skm.matthews_corrcoef(yt, yp)),
                )
                for metric, name in (("accuracy", "accuracy_score"),
                                     ("balanced_accuracy", "balanced_accuracy_score"),
                                     ("precision", "precision_score"),
                                     ("recall", "recall_score"), ("f1", "f1_score"),
                                     ("mcc", "matthews_corrcoef")):
                    kernels[metric] = _bs.label_kernel(name, yt, yp, pos_label=pos_label,
                                                       zero_division=np.nan)
                kernels["pr_balance"] = _bs.min_kernel(kernels["precision"], kernels["recall"])
            if y_score is not None:
                positive = yt == pos_label
                if 0 < n_positive < n_samples:
                    values["roc_auc"] = float(_skm.roc_auc_score(positive, ys))
                else:
                    values["roc_auc"] = float("nan")
                values["average_precision"] = (
                    float(_skm.average_precision_score(positive, ys)) if n_positive
                    else float("nan"))
                for metric, name in (("roc_auc", "roc_auc_score"),
                                     ("average_precision", "average_precision_score")):
                    kernels[metric] = _bs.score_kernel(name, positive, np.asarray(ys, float))

    prec, rec = values["precision"], values["recall"]
    if prec is not None and rec is not None:
        defined = [v for v in (prec, rec) if not math.isnan(v)]
        values["pr_balance"] = min(defined) if defined else float("nan")
    else:
        values["pr_balance"] = None

    # -- intervals ---------------------------------------------------------------------
    intervals = {}
    notes_ci = []
    if rng is not None and kernels:
        names = [m for m in kernels if values[m] is not None and not math.isnan(values[m])]
        found = _bs.percentile_intervals([kernels[m] for m in names], n_samples,
                                         confidence_level=confidence_level,
                                         n_resamples=n_resamples, rng=rng)
        intervals.update(zip(names, found))
        notes_ci.append(f"over the {n_samples} samples")
    if rng is not None and ppl_result is not None:
        ppl_kernels = _perplexity_kernels(ppl_result)
        if ppl_kernels:
            rng_ppl = np.random.default_rng()
            rng_ppl.bit_generator.state = seed_state  # the same seed as the samples'
            names = list(ppl_kernels)
            found = _bs.percentile_intervals([ppl_kernels[m] for m in names],
                                             ppl_kernels[names[0]].n,
                                             confidence_level=confidence_level,
                                             n_resamples=n_resamples, rng=rng_ppl)
            intervals.update(zip(names, found))
            notes_ci.append(f"over the {ppl_kernels[names[0]].n} texts for perplexity")
    interval_note = ""
    if intervals:
        seed = f", random_state={random_state}" if isinstance(random_state, int) else ""
        interval_note = (f"Intervals: {100 * confidence_level:g} % percentile bootstrap "
                         f"{' and '.join(notes_ci)} ({n_resamples} resamples{seed}).")

    # -- verdicts ----------------------------------------------------------------------
    verdicts, crossed = {}, {}
    for m in rules:
        if m in intervals:
            verdicts[m], crossed[m] = _interval_verdict(values[m], intervals[m], rules[m])
        else:
            verdicts[m] = _verdict(values[m], rules[m])
    if values["pr_balance"] is not None:
        if verdicts["recall"] == "bad":
            verdicts["pr_balance"] = "bad"
        elif math.isnan(prec) or math.isnan(rec):
            verdicts["pr_balance"] = "n/a"
        elif verdicts["precision"] == verdicts["recall"] == "good":
            verdicts["pr_balance"] = "good"
        elif "undecided" in (verdicts["precision"], verdicts["recall"]):
            verdicts["pr_balance"] = "undecided"
        else:
            verdicts["pr_balance"] = "borderline"
    chance_flags = []
    for spec in ROWS:
        if spec.chance is None or spec.metric not in intervals:
            continue
        level = values[spec.chance] if isinstance(spec.chance, str) else spec.chance
        low, high = intervals[spec.metric]
        if math.isnan(low) or level is None:
            continue
        if low > level:
            verdicts[spec.metric] = "above chance"
        elif high < level:
            verdicts[spec.metric] = "below chance"
        else:
            verdicts[spec.metric] = "chance"
            chance_flags.append((spec.metric, level))

    fields = {
        "pos": repr(card_pos_label) if card_pos_label is not None else "positive",
        "majority_named": f" {majority!r}" if majority is not None else "",
        "counts": f" ({n_positive} of {n_samples})" if n_samples is not None else "",
        "prevalence": (f" ({_format_value('positive_rate', values['positive_rate'])})"
                       if values["positive_rate"] is not None else ""),
    }
    notes = _caveat_notes(values, majority, fields["pos"])
    for m, lines in crossed.items():
        if not lines:
            continue
        low, high = intervals[m]
        before, after = notes.get(m, ("", ""))
        notes[m] = (
            f"Undecided: the {100 * confidence_level:g} % interval "
            f"[{_format_value(m, low)}, {_format_value(m, high)}] crosses the line at "
            f"{' and '.join(_format_value(m, v) for v in lines)}; more samples would tell. "
            + before, after)
    rows: list[ReportRow] = []
    for spec in ROWS:
        value = values[spec.metric]
        if value is None:
            continue
        rule = (spec.rule.format(**fields) if spec.rule is not None
                else _rule_text(rules[spec.metric], percent=spec.unit == "fraction"))
        caveat = spec.caveat.format(**fields)
        before, after = notes.get(spec.metric, ("", ""))
        low, high = intervals.get(spec.metric, (None, None))
        rows.append(ReportRow(spec.metric, value, verdicts.get(spec.metric, "n/a"), rule,
                              before + caveat + after, low, high, spec.unit))

    acc, base = values["accuracy"], values["baseline_accuracy"]
    flags = []
    if acc is not None and rec is not None and _verdict(acc, rules["accuracy"]) == "good" \
            and _verdict(rec, rules["recall"]) == "bad":
        flags.append(
            f"accuracy paradox: accuracy {_format_value('accuracy', acc)} is good but "
            f"recall {_format_value('recall', rec)} is bad; the model misses most "
            f"{fields['pos']} samples."
        )
    if acc is not None and base is not None and not math.isnan(acc) and acc <= base:
        who = repr(majority) if majority is not None else "the majority class"
        flags.append(
            f"accuracy {_format_value('accuracy', acc)} is no better than always predicting "
            f"{who} ({_format_value('accuracy', base)})."
        )
    if chance_flags:
        parts = []
        for m, level in chance_flags:
            low, high = intervals[m]
            parts.append(
                f"{m.replace('_', ' ').replace('roc auc', 'ROC AUC').replace('mcc', 'MCC')} "
                f"{_format_value(m, values[m])}, {100 * confidence_level:g} % interval "
                f"[{_format_value(m, low)}, {_format_value(m, high)}] contains "
                f"{_format_value(m, level)}")
        flags.append("not distinguishable from chance: " + "; ".join(parts) + ".")

    return ReportCard(
        rows=rows,
        flags=flags,
        title=title,
        n_samples=n_samples,
        n_positive=n_positive,
        pos_label=card_pos_label,
        confidence_level=float(confidence_level) if intervals else None,
        interval_note=interval_note,
    )


def _perplexity_kernels(result) -> dict:
    """Kernels resampling texts for perplexity and bits per byte, where the result allows."""
    nll = getattr(result, "per_text_nll", None)
    tokens = getattr(result, "per_text_tokens", None)
    if nll is None or tokens is None or len(nll) < 2 or len(nll) != len(tokens):
        return {}
    out = {"perplexity": _bs.ratio_kernel(nll, tokens, np.exp)}
    nbytes = getattr(result, "per_text_bytes", None)
    if nbytes is not None and len(nbytes) == len(nll):
        out["bits_per_byte"] = _bs.ratio_kernel(nll, nbytes, lambda x: x / math.log(2))
    return out


def _interval_verdict(value, interval, rule):
    """The verdict of a whole interval, and the lines it crosses (for 'undecided')."""
    low, high = interval
    if value is None or math.isnan(value) or math.isnan(low):
        return _verdict(value, rule), None
    v_low, v_high = _verdict(low, rule), _verdict(high, rule)
    if v_low == v_high:
        return v_low, None
    lines = sorted({v for v in rule.values() if low <= v <= high})
    return "undecided", lines


def _caveat_notes(values, majority, pos) -> dict:
    """Per metric, text put before and after its caveat for this card's values."""
    notes = {}
    base = values["baseline_accuracy"]
    if base is not None and majority is not None:
        notes["accuracy"] = ("", f" Always predicting {majority!r} already scores "
                                 f"{_format_value('accuracy', base)}.")
    elif base is not None:
        notes["accuracy"] = ("", f" Always predicting the majority class scores "
                                 f"{_format_value('accuracy', base)}.")
    prec, rec = values["precision"], values["recall"]
    if prec is not None and math.isnan(prec):
        notes["precision"] = (f"Undefined: the model never predicted {pos}. ", "")
    if rec is not None and math.isnan(rec):
        notes["recall"] = (f"Undefined: y_true has no {pos} sample. ", "")
    return notes
