"""The report card: metric values judged against the course's thresholds, with caveats.

A card is made in three steps over one registry of metrics
(:data:`~llmlab.report.registry.METRICS`, one entry per row: the scikit-learn-named
function, its bootstrap kernel, its undefined-value rule and its row specification):

1. :func:`~llmlab.report.compute.compute`: the values, why some are undefined, and their
   bootstrap intervals;
2. :func:`~llmlab.report.rules.judge`: a :class:`Verdict` for every row (thresholds,
   intervals, chance levels, precision with recall) and the card's flags;
3. :func:`~llmlab.report.present.present`: rows, rule texts, caveats and flags as a
   :class:`ReportCard` (:mod:`llmlab.report.card`), printable as text, CSV, JSON and HTML.

Verdicts use :data:`THRESHOLDS` (rules of thumb, which a caller should replace with the use case's floors) and each
threshold is printed with the caveat it needs. A card computed from labels (or scores) also
shows each metric's bootstrap confidence interval (reproducible with ``random_state``), and
then the verdict uses the interval, not the point: "good" or "bad" only when the whole
interval is on that side of the line, "undecided" when it crosses a line. Metrics with a
chance level (balanced accuracy, MCC, ROC AUC, average precision) are judged against it:
"above chance", "chance" (the interval contains the chance level: not distinguishable from
guessing) or "below chance"; "n/a" when ``y_true`` has one class only.

A metric that is 0/0 on the data is undefined: NaN, printed "undefined", verdict "n/a", and
the card says why (:mod:`llmlab.report.registry` states the rule, which the model cards share).
"""

from __future__ import annotations

from llmlab.report.card import ReportCard, ReportRow
from llmlab.report.compute import compute
from llmlab.report.present import present
from llmlab.report.registry import DIRECTIONS, METRICS, ROWS, RowSpec
from llmlab.report.rules import THRESHOLDS, Verdict, check_thresholds, judge

__all__ = ["DIRECTIONS", "METRICS", "ROWS", "THRESHOLDS", "ReportCard", "ReportRow", "RowSpec",
           "Verdict", "report_card"]


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
    A metric that is 0/0 on the data is undefined: its value is NaN, printed "undefined",
    its verdict "n/a", and ``card.undefined`` (and the row's caveat, and a flag) says why:
    precision when nothing is predicted positive, recall and average precision when
    ``y_true`` has no positive sample, F1 when neither has one, ROC AUC when ``y_true`` has one
    class. The model cards (:func:`llmlab.evaluation.classification_counts`) follow the same
    rule (:mod:`llmlab.report.registry`). Resamples on which a metric is undefined are left
    out of its interval.

    ``y_true`` may hold a single class: the card then says which metrics are undefined, and
    the rows with a chance level (balanced accuracy, MCC, ROC AUC, average precision) are
    "n/a": with one class there is no guessing to compare with.

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
    ! undefined: precision (the model never predicted 'spam', so TP + FP = 0).

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

    rules = check_thresholds(thresholds)
    given = {"accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1,
             "balanced_accuracy": balanced_accuracy, "mcc": mcc, "positive_rate": positive_rate,
             "baseline_accuracy": baseline_accuracy}
    computed = compute(y_true=y_true, y_pred=y_pred, y_score=y_score, pos_label=pos_label,
                       perplexity=perplexity, bits_per_byte=bits_per_byte, given=given,
                       confidence_level=confidence_level, n_resamples=n_resamples,
                       random_state=random_state)
    return present(computed, judge(computed, rules), rules, title=title)
