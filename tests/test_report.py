"""llmlab.report: the registry, the undefined-value rule, single-class input, the verdict enum,
and the report card against scikit-learn."""

import json
import math
import re
import string
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

import llmlab
import llmlab.metrics
from llmlab import resampling
from llmlab.evaluation import classification_counts
from llmlab.report import METRICS, ROWS, ReportCard, RowSpec, Verdict, report_card
from llmlab.report.compute import check_data, compute
from llmlab.report.present import _fields
from llmlab.report.registry import TEMPLATE_FIELDS

SK = {  # the oracle: scikit-learn, called here with the card's own conventions
    "accuracy": lambda t, p, pos: skm.accuracy_score(t, p),
    "balanced_accuracy": lambda t, p, pos: skm.balanced_accuracy_score(t, p),
    "precision": lambda t, p, pos: skm.precision_score(t, p, pos_label=pos,
                                                       zero_division=np.nan),
    "recall": lambda t, p, pos: skm.recall_score(t, p, pos_label=pos, zero_division=np.nan),
    "f1": lambda t, p, pos: skm.f1_score(t, p, pos_label=pos, zero_division=np.nan),
    "mcc": lambda t, p, pos: skm.matthews_corrcoef(t, p),
}


def _sklearn(metric, y_true, y_pred, pos_label):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(SK[metric](np.asarray(y_true), np.asarray(y_pred), pos_label))


def _same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-12)


# --------------------------------------------------------------------------------------
# Single-class input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("confidence_level", [None, 0.95])
def test_single_class_card_works_and_says_what_is_undefined(confidence_level):
    y = ["ham"] * 10
    card = report_card(y, y, pos_label="spam", confidence_level=confidence_level,
                       n_resamples=500)
    for metric in SK:
        assert _same(card[metric].value, _sklearn(metric, y, y, "spam")), metric
    # sklearn itself gives NaN for these three with zero_division=np.nan: 0/0
    assert set(card.undefined) == {"precision", "recall", "f1", "pr_balance"}
    assert "never predicted 'spam'" in card.undefined["precision"]
    assert "y_true has no 'spam' sample" in card.undefined["recall"]
    for metric in card.undefined:
        assert math.isnan(card[metric].value) and card[metric].verdict == "n/a"
        assert card[metric].caveat.startswith("Undefined: ")
        assert "undefined" in card.to_text().split(metric, 1)[1].split("\n")[0]
    flag = [f for f in card.flags if f.startswith("undefined:")]
    assert flag and all(m in flag[0] for m in ("precision", "recall", "f1"))


@pytest.mark.parametrize("confidence_level", [None, 0.95])
def test_single_class_has_no_chance_level(confidence_level):
    y_true = ["ham"] * 12
    y_pred = ["ham"] * 9 + ["spam"] * 3
    card = report_card(y_true, y_pred, pos_label="spam", confidence_level=confidence_level,
                       n_resamples=500)
    for metric in SK:
        assert _same(card[metric].value, _sklearn(metric, y_true, y_pred, "spam")), metric
    # balanced accuracy (sklearn: the recall of 'ham', 75 %) and MCC (0) both n/a, not
    # "above chance" next to "chance"
    assert card["balanced_accuracy"].value == pytest.approx(0.75)
    assert card["balanced_accuracy"].verdict == card["mcc"].verdict == "n/a"
    for metric in ("balanced_accuracy", "mcc"):
        assert "one class only ('ham')" in card[metric].caveat
    assert any(f.startswith("no chance level") for f in card.flags)
    assert not any("not distinguishable from chance" in f for f in card.flags)
    # precision is defined here (3 predicted spam, none right); recall is not
    assert card["precision"].value == 0.0 and set(card.undefined) == {"recall"}


def test_single_class_with_scores():
    rng = np.random.default_rng(0)
    y_score = rng.random(20)
    for y_true, undefined in ((["ham"] * 20, {"roc_auc", "average_precision"}),
                              (["spam"] * 20, {"roc_auc"})):
        positive = np.asarray(y_true) == "spam"
        for metric in undefined:  # the oracle: sklearn warns that it is undefined
            func = {"roc_auc": skm.roc_auc_score,
                    "average_precision": skm.average_precision_score}[metric]
            with pytest.warns(UserWarning, match="not defined|No positive class"):
                func(positive, y_score)
        card = report_card(y_true, y_score=y_score, pos_label="spam", n_resamples=300)
        assert set(card.undefined) == undefined
        for metric in undefined:
            assert math.isnan(card[metric].value) and card[metric].low is None
        if "average_precision" not in undefined:
            assert card["average_precision"].value == pytest.approx(
                skm.average_precision_score(positive, y_score))
        assert card["roc_auc"].verdict == card["average_precision"].verdict == "n/a"


def test_two_classes_keep_the_chance_verdicts():
    y_true = ["ham"] * 98 + ["spam"] * 2
    card = report_card(y_true, ["ham"] * 100, pos_label="spam")
    assert card["balanced_accuracy"].verdict == card["mcc"].verdict == "chance"
    assert not any(f.startswith("no chance level") for f in card.flags)


def test_label_kernel_counts_an_absent_positive_class():
    y = np.array(["ham"] * 6)
    for name, func in (("precision_score", skm.precision_score),
                       ("recall_score", skm.recall_score), ("f1_score", skm.f1_score)):
        kernel = resampling.label_kernel(name, y, y, pos_label="spam", zero_division=np.nan)
        assert math.isnan(kernel.point)
        assert math.isnan(func(y, y, pos_label="spam", zero_division=np.nan))
        assert np.isnan(kernel.resampled(np.zeros((3, 6), dtype=int))).all()


# --------------------------------------------------------------------------------------
# One undefined-value rule: the registry, the kernels, the model cards and the report
# --------------------------------------------------------------------------------------


def _cases():
    rng = np.random.default_rng(7)
    names = np.array(["ham", "spam"])
    yield ["ham"] * 30, ["ham"] * 30  # one class, no positive anywhere
    yield ["spam"] * 30, ["spam"] * 20 + ["ham"] * 10  # one class, the positive one
    yield ["ham"] * 25 + ["spam"] * 5, ["ham"] * 30  # never predicts the positive class
    yield ["ham"] * 30, ["ham"] * 25 + ["spam"] * 5  # no positive in y_true
    for _ in range(5):
        y_true = names[(rng.random(30) < 0.3).astype(int)]
        y_pred = np.where(rng.random(30) < 0.7, y_true, names[rng.integers(0, 2, 30)])
        yield list(y_true), list(y_pred)


@pytest.mark.parametrize("case", list(_cases()))
def test_registry_values_kernels_and_sklearn_agree(case):
    y_true, y_pred = case
    data = check_data(y_true, y_pred, np.linspace(0, 1, len(y_true)), "spam")
    kernels = {}
    for m in METRICS:
        if m.inputs in ("texts", "derived", "y_true"):
            continue
        value, reason = m.compute(data)
        assert (reason is not None) == math.isnan(value), m.name
        if m.name in SK:
            assert _same(value, _sklearn(m.name, y_true, y_pred, "spam")), m.name
        kernel = kernels[m.name] = m.kernel(data, kernels)
        # the vectorised kernel follows the same rule on the original sample
        assert _same(kernel.point, value), m.name


def test_model_card_and_report_agree_on_a_model_that_predicts_no_positive():
    y_true = ["ham"] * 45 + ["spam"] * 5
    y_pred = ["ham"] * 50
    counts = classification_counts(y_true, y_pred)
    card = report_card(y_true, y_pred, pos_label="spam")
    for metric in ("accuracy", "precision", "recall", "f1", "balanced_accuracy"):
        assert _same(counts[metric], card[metric].value), metric
        assert _same(counts[metric], _sklearn(metric, y_true, y_pred, "spam")), metric
    assert math.isnan(counts["precision"]) and math.isnan(card["precision"].value)
    assert counts["undefined"] == {"precision": card.undefined["precision"]}
    assert "undefined" in card.to_text()
    # the card's JSON (what `llmlab report --out` writes) says the same
    data = json.loads(json.dumps(card.to_dict()))
    assert math.isnan(data["metrics"]["precision"]["value"])
    assert data["undefined"]["precision"] == counts["undefined"]["precision"]
    # a model that finds positives has no "undefined" entry
    assert "undefined" not in classification_counts(["ham", "spam"], ["spam", "spam"])


# --------------------------------------------------------------------------------------
# Row specifications and verdicts
# --------------------------------------------------------------------------------------


def _template_fields(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_rowspec_templates_use_only_the_fields_the_card_supplies():
    used = set()
    for spec in ROWS:
        for text in (spec.rule or "", spec.caveat):
            used |= _template_fields(text)
    assert used <= set(TEMPLATE_FIELDS)
    # the docstring lists exactly those fields
    documented = set(re.findall(r"``\{(\w+)\}``", RowSpec.__doc__))
    assert documented == set(TEMPLATE_FIELDS)
    # ... and the card supplies each of them, with labels and without
    with_labels = compute(y_true=["a", "b"], y_pred=["a", "a"], pos_label="b",
                          confidence_level=None)
    from_values = compute(given={"accuracy": 0.5}, confidence_level=None)
    for computed in (with_labels, from_values):
        assert set(_fields(computed)) == set(TEMPLATE_FIELDS)
    assert _fields(with_labels)["counts"] == " (1 of 2)"


def test_verdicts_are_an_enum_that_reads_as_strings():
    card = report_card(["ham"] * 8 + ["spam"] * 8, ["ham"] * 8 + ["spam"] * 7 + ["ham"],
                       pos_label="spam", perplexity=12.0, n_resamples=500)
    assert all(isinstance(row.verdict, Verdict) for row in card)
    assert {v.value for v in Verdict} == {"good", "borderline", "bad", "undecided",
                                          "above chance", "chance", "below chance", "n/a"}
    assert card["perplexity"].verdict is Verdict.GOOD
    assert card["perplexity"].verdict == "good" and "good" == card["perplexity"].verdict
    assert {"good": 1}[card["perplexity"].verdict] == 1
    assert f"{card['perplexity'].verdict}" == str(card["perplexity"].verdict) == "good"
    assert repr(card.verdicts["perplexity"]) == "'good'"
    d = card.to_dict()
    assert all(type(m["verdict"]) is str for m in d["metrics"].values())
    assert json.loads(json.dumps(d))["metrics"]["perplexity"]["verdict"] == "good"
    assert "accuracy,0.9375" in card.to_csv().replace("'", "")
    assert isinstance(card, ReportCard)
    # as lesson 01 uses them: a set of verdicts, sorted and printed
    verdicts = {card["perplexity"].verdict, card["accuracy"].verdict, "good"}
    assert str(sorted(verdicts)) == str(sorted({str(v) for v in verdicts}))


# --------------------------------------------------------------------------------------
# No import circle between the metrics and the report
# --------------------------------------------------------------------------------------


def test_the_metrics_module_offers_the_report_card():
    # the design lists it there; test_structure checks that this adds no import circle
    assert llmlab.metrics.report_card is report_card
    assert "report_card" in llmlab.metrics.__all__


def test_scores_of_more_than_two_classes_are_refused_by_name():
    with pytest.raises(ValueError, match=r"y_true holds 3 classes \['a', 'b', 'c'\]; the "
                                         r"card's scores need a binary task"):
        report_card(["a", "b", "c"], y_score=[0.1, 0.2, 0.3], pos_label="a")
