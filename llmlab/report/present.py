"""Step 3 of a report card: rows, rule texts, caveats and flags, as a :class:`ReportCard`.

:func:`present` writes what :func:`~llmlab.report.compute.compute` found and
:func:`~llmlab.report.rules.judge` decided; it decides nothing itself.
"""

from __future__ import annotations

from llmlab.report.card import ReportCard, ReportRow, format_value
from llmlab.report.compute import Computed
from llmlab.report.registry import ROWS, SPECS
from llmlab.report.rules import Judgement

__all__ = ["format_metric", "present", "rule_text"]


def format_metric(metric: str, value: float) -> str:
    """``value`` written as ``metric``'s row writes it (``"undefined"`` for NaN)."""
    spec = SPECS.get(metric)
    return format_value(spec.unit if spec else "number", value)


def rule_text(rule: dict, percent: bool) -> str:
    """A threshold rule in words, e.g. ``"> 85 % good, < 60 % bad, else borderline"``."""
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


_NAMES = {"balanced_accuracy": "balanced accuracy", "mcc": "MCC", "roc_auc": "ROC AUC",
          "average_precision": "average precision"}


def _name(metric: str) -> str:
    return _NAMES.get(metric, metric)


def _and(words) -> str:
    words = list(words)
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


def _fields(c: Computed) -> dict:
    """The template fields of :data:`~llmlab.report.registry.TEMPLATE_FIELDS`."""
    rate = c.values.get("positive_rate")
    return {
        "pos": repr(c.pos_label) if c.pos_label is not None else "positive",
        "majority_named": f" {c.majority!r}" if c.majority is not None else "",
        "counts": f" ({c.n_positive} of {c.n_samples})" if c.n_samples is not None else "",
        "prevalence": f" ({format_metric('positive_rate', rate)})" if rate is not None else "",
    }


def _notes(c: Computed, j: Judgement) -> dict:
    """Per metric, text put before and after its caveat for this card's values."""
    notes = {m: ["", ""] for m in c.values}
    base = c.values.get("baseline_accuracy")
    if base is not None and "accuracy" in c.values:
        who = repr(c.majority) if c.majority is not None else "the majority class"
        already = " already" if c.majority is not None else ""
        notes["accuracy"][1] = (f" Always predicting {who}{already} scores "
                                f"{format_metric('accuracy', base)}.")
    for m, lines in j.crossed.items():
        low, high = c.intervals[m]
        notes[m][0] += (
            f"Undecided: the {100 * c.confidence_level:g} % interval "
            f"[{format_metric(m, low)}, {format_metric(m, high)}] crosses the line at "
            f"{' and '.join(format_metric(m, v) for v in lines)}; more samples would tell. ")
    for m, reason in c.undefined.items():
        notes[m][0] += f"Undefined: {reason}. "
    for m, reason in j.no_chance.items():
        notes[m][0] += f"Not judged against chance: {reason}. "
    return notes


def _flags(c: Computed, j: Judgement, pos: str) -> list[str]:
    values, flags = c.values, []
    if j.accuracy_paradox:
        flags.append(
            f"accuracy paradox: accuracy {format_metric('accuracy', values['accuracy'])} is "
            f"good but recall {format_metric('recall', values['recall'])} is bad; the model "
            f"misses most {pos} samples.")
    if j.no_better_than_majority:
        who = repr(c.majority) if c.majority is not None else "the majority class"
        flags.append(
            f"accuracy {format_metric('accuracy', values['accuracy'])} is no better than "
            f"always predicting {who} "
            f"({format_metric('accuracy', values['baseline_accuracy'])}).")
    if j.chance:
        parts = []
        for m, level in j.chance.items():
            low, high = c.intervals[m]
            parts.append(
                f"{_name(m)} {format_metric(m, values[m])}, {100 * c.confidence_level:g} % "
                f"interval [{format_metric(m, low)}, {format_metric(m, high)}] contains "
                f"{format_metric(m, level)}")
        flags.append("not distinguishable from chance: " + "; ".join(parts) + ".")
    if c.undefined:
        flags.append("undefined: " + "; ".join(f"{_name(m)} ({c.undefined[m]})"
                                               for m in c.values if m in c.undefined) + ".")
    if j.no_chance:
        flags.append(f"no chance level: y_true has one class only ({c.classes[0]!r}); "
                     f"{_and(_name(m) for m in j.no_chance)} are not judged against chance.")
    return flags


def present(c: Computed, j: Judgement, rules: dict, *, title: str) -> ReportCard:
    """Step 3 of :func:`llmlab.report.report_card`: the card, rows in registry order."""
    fields = _fields(c)
    notes = _notes(c, j)
    rows = []
    for spec in ROWS:
        if spec.metric not in c.values:
            continue
        rule = (spec.rule.format(**fields) if spec.rule is not None
                else rule_text(rules[spec.metric], percent=spec.unit == "fraction"))
        before, after = notes[spec.metric]
        low, high = c.intervals.get(spec.metric, (None, None))
        rows.append(ReportRow(spec.metric, c.values[spec.metric], j.verdicts[spec.metric],
                              rule, before + spec.caveat.format(**fields) + after, low, high,
                              spec.unit))
    return ReportCard(
        rows=rows,
        flags=_flags(c, j, fields["pos"]),
        title=title,
        n_samples=c.n_samples,
        n_positive=c.n_positive,
        pos_label=c.pos_label,
        confidence_level=c.confidence_level,
        interval_note=c.interval_note,
        undefined=dict(c.undefined),
    )
