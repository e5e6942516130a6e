"""The report card: metric values judged against the course's thresholds, with caveats.

The metrics themselves are computed by :mod:`llmlab.metrics` (scikit-learn underneath); this
module judges and presents them. Each row of a card comes from one entry of :data:`ROWS`, a
table of row specifications (in :mod:`llmlab.report_rules`, with the rules that judge a value):
the metric, which direction is better, its unit, the rule when it has no threshold, its chance
level and its caveat. Verdicts use :data:`THRESHOLDS` (the seed lesson's lines, which a caller
may override) and each threshold is printed with the caveat it needs.

A card computed from labels (or scores) also shows each metric's bootstrap confidence interval
(:mod:`llmlab.metrics.uncertainty`, reproducible with ``random_state``), and then the verdict
uses the interval, not the point: "good" or "bad" only when the whole interval is on that
side of the line, "undecided" when it crosses a line. Metrics with a chance level (balanced
accuracy, MCC, ROC AUC, average precision) are judged against it: "above chance", "chance"
(the interval contains the chance level: not distinguishable from guessing) or "below chance".
"""

from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
from sklearn import metrics as _skm

from llmlab.card import ReportCard, ReportRow, plain
from llmlab.metrics import resampling as _bs
from llmlab.metrics.validation import check_prf_options, check_scores, check_targets
from llmlab.report_rules import (
    DIRECTIONS,
    ROWS,
    THRESHOLDS,
    RowSpec,
    check_card_value,
    check_thresholds,
    format_metric,
    interval_verdict,
    rule_text,
    verdict,
)

__all__ = ["DIRECTIONS", "ROWS", "THRESHOLDS", "ReportCard", "ReportRow", "RowSpec",
           "report_card"]


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

    rules = check_thresholds(thresholds)
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
        "perplexity": check_card_value("perplexity", perplexity, 1.0),
        "bits_per_byte": check_card_value("bits_per_byte", bits_per_byte, 0.0),
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
    values.update({k: check_card_value(k, v, 0.0, 1.0) for k, v in given.items()})
    values["mcc"] = check_card_value("mcc", mcc, -1.0, 1.0)
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
            verdicts[m], crossed[m] = interval_verdict(values[m], intervals[m], rules[m])
        else:
            verdicts[m] = verdict(values[m], rules[m])
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
        "prevalence": (f" ({format_metric('positive_rate', values['positive_rate'])})"
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
            f"[{format_metric(m, low)}, {format_metric(m, high)}] crosses the line at "
            f"{' and '.join(format_metric(m, v) for v in lines)}; more samples would tell. "
            + before, after)
    rows: list[ReportRow] = []
    for spec in ROWS:
        value = values[spec.metric]
        if value is None:
            continue
        rule = (spec.rule.format(**fields) if spec.rule is not None
                else rule_text(rules[spec.metric], percent=spec.unit == "fraction"))
        caveat = spec.caveat.format(**fields)
        before, after = notes.get(spec.metric, ("", ""))
        low, high = intervals.get(spec.metric, (None, None))
        rows.append(ReportRow(spec.metric, value, verdicts.get(spec.metric, "n/a"), rule,
                              before + caveat + after, low, high, spec.unit))

    acc, base = values["accuracy"], values["baseline_accuracy"]
    flags = []
    if acc is not None and rec is not None and verdict(acc, rules["accuracy"]) == "good" \
            and verdict(rec, rules["recall"]) == "bad":
        flags.append(
            f"accuracy paradox: accuracy {format_metric('accuracy', acc)} is good but "
            f"recall {format_metric('recall', rec)} is bad; the model misses most "
            f"{fields['pos']} samples."
        )
    if acc is not None and base is not None and not math.isnan(acc) and acc <= base:
        who = repr(majority) if majority is not None else "the majority class"
        flags.append(
            f"accuracy {format_metric('accuracy', acc)} is no better than always predicting "
            f"{who} ({format_metric('accuracy', base)})."
        )
    if chance_flags:
        parts = []
        for m, level in chance_flags:
            low, high = intervals[m]
            parts.append(
                f"{m.replace('_', ' ').replace('roc auc', 'ROC AUC').replace('mcc', 'MCC')} "
                f"{format_metric(m, values[m])}, {100 * confidence_level:g} % interval "
                f"[{format_metric(m, low)}, {format_metric(m, high)}] contains "
                f"{format_metric(m, level)}")
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


def _caveat_notes(values, majority, pos) -> dict:
    """Per metric, text put before and after its caveat for this card's values."""
    notes = {}
    base = values["baseline_accuracy"]
    if base is not None and majority is not None:
        notes["accuracy"] = ("", f" Always predicting {majority!r} already scores "
                                 f"{format_metric('accuracy', base)}.")
    elif base is not None:
        notes["accuracy"] = ("", f" Always predicting the majority class scores "
                                 f"{format_metric('accuracy', base)}.")
    prec, rec = values["precision"], values["recall"]
    if prec is not None and math.isnan(prec):
        notes["precision"] = (f"Undefined: the model never predicted {pos}. ", "")
    if rec is not None and math.isnan(rec):
        notes["recall"] = (f"Undefined: y_true has no {pos} sample. ", "")
    return notes
