"""The report card as an object: its rows and flags, and its text, CSV, JSON and HTML.

:func:`llmlab.report.report_card` computes, judges and presents the metrics as a
:class:`ReportCard`; this module holds what the card is and how it writes itself out,
nothing about how it judges.
"""

from __future__ import annotations

import csv
import html
import io
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["FORMATS", "ReportCard", "ReportRow", "format_value", "plain"]

#: How each unit of :class:`ReportRow` is written.
FORMATS = {
    "fraction": lambda v: f"{100 * v:.1f} %",
    "signed": lambda v: f"{v:+.3f}",
    "bits": lambda v: f"{v:.3f}",
    "number": lambda v: f"{v:.2f}",
    "score": lambda v: f"{v:.3f}",
}


@dataclass(frozen=True)
class ReportRow:
    """One line of a :class:`ReportCard`.

    Attributes
    ----------
    metric : str
        The metric's name, e.g. ``"accuracy"``.
    value : float
        Its value (NaN where it is undefined). Fractions are in [0, 1].
    verdict : Verdict
        A :class:`~llmlab.report.rules.Verdict`, a ``str``: ``'good'``, ``'borderline'``,
        ``'bad'``, ``'undecided'``, ``'above chance'``, ``'chance'``, ``'below chance'`` or
        ``'n/a'``. What the course's thresholds say; with an interval, what the whole interval says
        (``'undecided'``: it crosses a line). Rows with a chance level and an interval say
        whether the metric is distinguishable from guessing. ``'n/a'`` where no rule applies.
    rule : str
        The rule that gave the verdict.
    caveat : str
        What the verdict does not tell you.
    low, high : float or None
        The bootstrap confidence interval (None when the card has none for this row).
    unit : {"fraction", "number", "bits", "signed", "score"}
        How the value is printed (:data:`FORMATS`; fractions as percentages).
    """

    metric: str
    value: float
    verdict: str
    rule: str
    caveat: str
    low: float | None = None
    high: float | None = None
    unit: str = "number"


def format_value(unit: str, value: float) -> str:
    """``value`` written as its unit is (``"undefined"`` for None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "undefined"
    return FORMATS.get(unit, FORMATS["number"])(value)


def _format_interval(row) -> str:
    if row.low is None:
        return ""
    if math.isnan(row.low):
        return "undefined"
    return f"[{format_value(row.unit, row.low)}, {format_value(row.unit, row.high)}]"


def plain(value):
    """A numpy scalar as the Python value it holds (anything else unchanged)."""
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
    confidence_level : float or None
        The level of the rows' intervals (None: the card has no intervals).
    interval_note : str
        How the intervals were computed (method, resamples, seed).
    undefined : dict
        Metric -> why its value is undefined (NaN, printed ``"undefined"``), e.g.
        ``{"precision": "the model never predicted 'spam', so TP + FP = 0"}``.
    """

    rows: list[ReportRow]
    flags: list[str] = field(default_factory=list)
    title: str = "Report card"
    n_samples: int | None = None
    n_positive: int | None = None
    pos_label: Any = None
    confidence_level: float | None = None
    interval_note: str = ""
    undefined: dict[str, str] = field(default_factory=dict)

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
    def verdicts(self) -> dict:
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
            ``{"title", "metrics": {metric: {"value", "verdict", "rule", "caveat", "low",
            "high"}}, "flags", "n_samples", "n_positive", "pos_label", "confidence_level",
            "interval_note", "undefined"}``; verdicts as plain strings.
        """
        return {
            "title": self.title,
            "metrics": {
                row.metric: {**{k: v for k, v in asdict(row).items()
                                if k not in ("metric", "unit")}, "verdict": str(row.verdict)}
                for row in self.rows
            },
            "flags": list(self.flags),
            "n_samples": self.n_samples,
            "n_positive": self.n_positive,
            "pos_label": plain(self.pos_label),
            "confidence_level": self.confidence_level,
            "interval_note": self.interval_note,
            "undefined": dict(self.undefined),
        }

    def to_csv(self, path_or_buf=None) -> str | None:
        """Write the rows as CSV (columns metric, value, low, high, verdict, rule, caveat).

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
        writer.writerow(["metric", "value", "low", "high", "verdict", "rule", "caveat"])
        for row in self.rows:
            low, high = ("", "") if row.low is None else (repr(row.low), repr(row.high))
            writer.writerow([row.metric, repr(float(row.value)), low, high, row.verdict,
                             row.rule, row.caveat])
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
        with_ci = self._has_intervals()
        header = ("metric", "value", *((self._ci_header(),) if with_ci else ()), "verdict",
                  "rule")
        body = [
            (r.metric, format_value(r.unit, r.value),
             *((_format_interval(r),) if with_ci else ()), r.verdict, r.rule)
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

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
        if with_ci and self.interval_note:
            lines += ["", self.interval_note]
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

    def _has_intervals(self) -> bool:
        return any(r.low is not None for r in self.rows)

    def _ci_header(self) -> str:
        level = self.confidence_level if self.confidence_level is not None else 0.95
        return f"{100 * level:g} % interval"

    def _repr_html_(self) -> str:
        colours = {"good": "#d4edda", "borderline": "#fff3cd", "bad": "#f8d7da", "n/a": "#eeeeee",
                   "undecided": "#fff3cd", "above chance": "#d4edda", "chance": "#f8d7da",
                   "below chance": "#f8d7da"}
        with_ci = self._has_intervals()
        ci_head = f"<th>{html.escape(self._ci_header())}</th>" if with_ci else ""
        esc = html.escape
        title = esc(self.title)
        if self.n_samples is not None:
            title += esc(f" ({self.n_samples} samples, positive class {self.pos_label!r})")
        parts = [
            '<div class="llmlab-report-card">',
            f"<h4>{title}</h4>",
            (
                f"<table><thead><tr><th>metric</th><th>value</th>{ci_head}<th>verdict</th>"
                f"<th>rule</th><th>caveat</th></tr></thead><tbody>"
            ),
        ]
        for r in self.rows:
            parts.append(
                f"<tr><td>{esc(r.metric)}</td>"
                f'<td style="text-align:right">{esc(format_value(r.unit, r.value))}</td>'
                + (f"<td>{esc(_format_interval(r))}</td>" if with_ci else "")
                + f'<td style="background:{colours.get(r.verdict, "")}">{esc(r.verdict)}</td>'
                f"<td>{esc(r.rule)}</td><td>{esc(r.caveat)}</td></tr>"
            )
        parts.append("</tbody></table>")
        if with_ci and self.interval_note:
            parts.append(f"<p><em>{esc(self.interval_note)}</em></p>")
        for flag in self.flags:
            parts.append(f'<p style="color:#a00"><strong>{esc(flag)}</strong></p>')
        parts.append("</div>")
        return "".join(parts)
