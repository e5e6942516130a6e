"""The rows of a report card and the rules that judge a value against a line.

:data:`ROWS` is a table of row specifications (:class:`RowSpec`): the metric, which
direction is better, its unit, the rule when it has no threshold, its chance level and its
caveat. :data:`THRESHOLDS` holds the seed lesson's lines; :func:`verdict` judges a value and
:func:`interval_verdict` a whole confidence interval against them. :mod:`llmlab.report` builds
the card from these.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from llmlab.card import format_value

__all__ = ["DIRECTIONS", "ROWS", "RULE_KEYS", "SPECS", "THRESHOLDS", "RowSpec",
           "check_card_value", "check_thresholds", "format_metric", "interval_verdict",
           "rule_text", "verdict"]

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

RULE_KEYS = ("good_below", "bad_above", "good_above", "bad_below")


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

SPECS = {spec.metric: spec for spec in ROWS}

#: Which direction is better, per metric (None: descriptive, neither).
DIRECTIONS: dict[str, str | None] = {spec.metric: spec.better for spec in ROWS}

def format_metric(metric: str, value: float) -> str:
    spec = SPECS.get(metric)
    return format_value(spec.unit if spec else "number", value)


# -- validator family 4: report-card values ----------------------------------------------


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


def check_thresholds(thresholds):
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
            if key not in RULE_KEYS:
                raise ValueError(
                    f"thresholds[{metric!r}] has an unknown key {key!r}; choose among "
                    f"{list(RULE_KEYS)!r}."
                )
            if val is not None:
                check_card_value(f"thresholds[{metric!r}][{key!r}]", val, -math.inf, math.inf)
            merged[metric][key] = val
        merged[metric] = {k: v for k, v in merged[metric].items() if v is not None}
    return merged


def verdict(value, rule: dict) -> str:
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


def rule_text(rule: dict, percent: bool) -> str:
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


def interval_verdict(value, interval, rule):
    """The verdict of a whole interval, and the lines it crosses (for 'undecided')."""
    low, high = interval
    if value is None or math.isnan(value) or math.isnan(low):
        return verdict(value, rule), None
    v_low, v_high = verdict(low, rule), verdict(high, rule)
    if v_low == v_high:
        return v_low, None
    lines = sorted({v for v in rule.values() if low <= v <= high})
    return "undecided", lines
