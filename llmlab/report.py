"""The report card: metric values judged against the course's thresholds, with caveats.

The metrics themselves are computed by :mod:`llmlab.metrics` (scikit-learn underneath); this
module judges and presents them. Each row of a card comes from one entry of :data:`ROWS`, a
table of row specifications: the metric, which direction is better, its unit, the rule when
it has no threshold, and its caveat. Verdicts use :data:`THRESHOLDS` (the seed lesson's lines,
which a caller may override) and each threshold is printed with the caveat it needs.
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

from llmlab.metrics.validation import check_prf_options, check_targets

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
    """

    metric: str
    better: str | None
    unit: str
    rule: str | None
    caveat: str


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
    ),
)

_SPECS = {spec.metric: spec for spec in ROWS}

#: Which direction is better, per metric (None: descriptive, neither).
DIRECTIONS: dict[str, str | None] = {spec.metric: spec.better for spec in ROWS}

_FORMATS = {
    "fraction": lambda v: f"{100 * v:.1f} %",
    "signed": lambda v: f"{v:+.3f}",
    "bits": lambda v: f"{v:.3f}",
    "number": lambda v: f"{v:.2f}",
}


_VERDICTS = ("good", "borderline", "bad", "n/a")


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
    spec = _SPECS.get(metric)
    return _FORMATS[spec.unit if spec else "number"](value)


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

    n_samples = n_positive = None
    card_pos_label = None
    majority = None
    if (y_true is None) != (y_pred is None):
        missing = "y_pred" if y_pred is None else "y_true"
        raise ValueError(f"{missing} is missing: give both y_true and y_pred, or neither.")
    if y_true is not None:
        clash = [k for k in (*given, "mcc") if values[k] is not None]
        if clash:
            raise ValueError(
                f"give either y_true and y_pred or the metric values, not both: "
                f"{', '.join(f'{k}=' for k in clash)} would be computed from the labels."
            )
        yt, yp, _, _, kind = check_targets(y_true, y_pred)
        check_prf_options(
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

    prec, rec = values["precision"], values["recall"]
    verdicts = {m: _verdict(values[m], rules[m]) for m in rules}
    if prec is not None and rec is not None:
        defined = [v for v in (prec, rec) if not math.isnan(v)]
        values["pr_balance"] = min(defined) if defined else float("nan")
        if verdicts["recall"] == "bad":
            verdicts["pr_balance"] = "bad"
        elif math.isnan(prec) or math.isnan(rec):
            verdicts["pr_balance"] = "n/a"
        else:
            both = verdicts["precision"] == verdicts["recall"] == "good"
            verdicts["pr_balance"] = "good" if both else "borderline"
    else:
        values["pr_balance"] = None

    fields = {
        "pos": repr(card_pos_label) if card_pos_label is not None else "positive",
        "majority_named": f" {majority!r}" if majority is not None else "",
        "counts": f" ({n_positive} of {n_samples})" if n_samples is not None else "",
    }
    notes = _caveat_notes(values, majority, fields["pos"])
    rows: list[ReportRow] = []
    for spec in ROWS:
        value = values[spec.metric]
        if value is None:
            continue
        rule = (spec.rule.format(**fields) if spec.rule is not None
                else _rule_text(rules[spec.metric], percent=spec.unit == "fraction"))
        caveat = spec.caveat.format(**fields)
        before, after = notes.get(spec.metric, ("", ""))
        rows.append(ReportRow(spec.metric, value, verdicts.get(spec.metric, "n/a"), rule,
                              before + caveat + after))

    acc, base = values["accuracy"], values["baseline_accuracy"]
    flags = []
    if acc is not None and rec is not None and verdicts["accuracy"] == "good" \
            and verdicts["recall"] == "bad":
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

    return ReportCard(
        rows=rows,
        flags=flags,
        title=title,
        n_samples=n_samples,
        n_positive=n_positive,
        pos_label=card_pos_label,
    )


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
