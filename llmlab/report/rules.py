"""Step 2 of a report card: every rule that turns a value into a verdict.

:data:`THRESHOLDS` holds the rules of thumb the course quotes. :func:`verdict` judges a value and
:func:`interval_verdict` a whole confidence interval against them; :func:`chance_verdict`
judges an interval against a chance level, :func:`pr_balance_verdict` precision and recall
together, and :func:`judge` applies all of them (and the card's flags) to what
:func:`llmlab.report.compute.compute` found. Verdicts are :class:`Verdict` members.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

from llmlab.report.compute import Computed, check_card_value
from llmlab.report.registry import ROWS

__all__ = ["RULE_KEYS", "THRESHOLDS", "Judgement", "Verdict", "chance_verdict",
           "check_thresholds", "interval_verdict", "judge", "pr_balance_verdict", "verdict"]


class Verdict(str, Enum):
    """What a row of the card says.

    A member is a ``str``: it equals, hashes, formats and prints as its value, so
    ``row.verdict == "good"`` and ``{"good": ...}[row.verdict]`` work, and a card's
    ``verdicts`` print as plain strings.
    """

    GOOD = "good"
    BORDERLINE = "borderline"
    BAD = "bad"
    UNDECIDED = "undecided"  # the interval crosses a line
    ABOVE_CHANCE = "above chance"
    CHANCE = "chance"  # the interval contains the chance level
    BELOW_CHANCE = "below chance"
    NA = "n/a"  # no rule applies, or the value is undefined

    __hash__ = str.__hash__
    __str__ = str.__str__
    __format__ = str.__format__

    def __repr__(self) -> str:
        return repr(self.value)


#: Rules of thumb the course quotes (and teaches the limits of), used by :func:`llmlab.report.report_card`.
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


def verdict(value, rule: dict) -> Verdict:
    """The verdict of one value against one metric's lines (``n/a`` for None or NaN)."""
    if value is None or math.isnan(value):
        return Verdict.NA
    if "bad_above" in rule and value > rule["bad_above"]:
        return Verdict.BAD
    if "bad_below" in rule and value < rule["bad_below"]:
        return Verdict.BAD
    if "good_below" in rule and value < rule["good_below"]:
        return Verdict.GOOD
    if "good_above" in rule and value > rule["good_above"]:
        return Verdict.GOOD
    return Verdict.BORDERLINE


def interval_verdict(value, interval, rule):
    """The verdict of a whole interval, and the lines it crosses (for 'undecided')."""
    low, high = interval
    if value is None or math.isnan(value) or math.isnan(low):
        return verdict(value, rule), None
    v_low, v_high = verdict(low, rule), verdict(high, rule)
    if v_low == v_high:
        return v_low, None
    lines = sorted({v for v in rule.values() if low <= v <= high})
    return Verdict.UNDECIDED, lines


def chance_verdict(interval, level) -> Verdict:
    """Whether an interval lies above, below or around the chance ``level``."""
    low, high = interval
    if level is None or math.isnan(level) or math.isnan(low):
        return Verdict.NA
    if low > level:
        return Verdict.ABOVE_CHANCE
    if high < level:
        return Verdict.BELOW_CHANCE
    return Verdict.CHANCE


def pr_balance_verdict(precision, recall, v_precision, v_recall) -> Verdict:
    """Precision and recall judged together: both good is good, a bad recall is bad."""
    if v_recall == Verdict.BAD:
        return Verdict.BAD
    if math.isnan(precision) or math.isnan(recall):
        return Verdict.NA
    if v_precision == v_recall == Verdict.GOOD:
        return Verdict.GOOD
    if Verdict.UNDECIDED in (v_precision, v_recall):
        return Verdict.UNDECIDED
    return Verdict.BORDERLINE


@dataclass
class Judgement:
    """What :func:`judge` decided.

    Attributes
    ----------
    verdicts : dict
        Metric -> :class:`Verdict`, for every row.
    crossed : dict
        Metric -> the lines its interval crosses (rows judged "undecided").
    chance : dict
        Metric -> the chance level its interval contains (rows judged "chance").
    no_chance : dict
        Metric -> why it is not judged against its chance level (e.g. one class).
    accuracy_paradox : bool
        Accuracy good but recall bad (by the points).
    no_better_than_majority : bool
        Accuracy at or below the always-majority baseline.
    """

    verdicts: dict[str, Verdict]
    crossed: dict[str, list] = field(default_factory=dict)
    chance: dict[str, float] = field(default_factory=dict)
    no_chance: dict[str, str] = field(default_factory=dict)
    accuracy_paradox: bool = False
    no_better_than_majority: bool = False


def judge(computed: Computed, rules: dict) -> Judgement:
    """Step 2 of :func:`llmlab.report.report_card`: a verdict for every row, and the flags."""
    values, intervals = computed.values, computed.intervals
    out = Judgement({m: Verdict.NA for m in values})
    for m, rule in rules.items():
        if m not in values:
            continue
        if m in intervals:
            out.verdicts[m], lines = interval_verdict(values[m], intervals[m], rule)
            if lines:
                out.crossed[m] = lines
        else:
            out.verdicts[m] = verdict(values[m], rule)
    if "pr_balance" in values:
        out.verdicts["pr_balance"] = pr_balance_verdict(
            values["precision"], values["recall"], out.verdicts["precision"],
            out.verdicts["recall"])
    _judge_chance(computed, out)
    acc, rec, base = values.get("accuracy"), values.get("recall"), values.get("baseline_accuracy")
    out.accuracy_paradox = (acc is not None and rec is not None
                            and verdict(acc, rules["accuracy"]) == Verdict.GOOD
                            and verdict(rec, rules["recall"]) == Verdict.BAD)
    out.no_better_than_majority = (acc is not None and base is not None
                                   and not math.isnan(acc) and acc <= base)
    return out


def _judge_chance(computed: Computed, out: Judgement) -> None:
    """Rows with a chance level: above, below or not distinguishable from guessing.

    With a single class in ``y_true`` there is no guessing to compare with (every predictor
    has the same balanced accuracy and MCC), so those rows are ``n/a``, with the reason.
    """
    values, intervals = computed.values, computed.intervals
    one_class = len(computed.classes) == 1
    for spec in ROWS:
        if spec.chance is None or spec.metric not in values:
            continue
        if one_class:
            out.verdicts[spec.metric] = Verdict.NA
            out.no_chance[spec.metric] = (
                f"y_true has one class only ({computed.classes[0]!r}), so there is no chance "
                f"level to compare with")
            continue
        if spec.metric not in intervals:
            continue
        level = values.get(spec.chance) if isinstance(spec.chance, str) else spec.chance
        result = chance_verdict(intervals[spec.metric], level)
        if result == Verdict.NA:
            continue
        out.verdicts[spec.metric] = result
        if result == Verdict.CHANCE:
            out.chance[spec.metric] = level
