"""llmlab.metrics: parity with scikit-learn, hand-computed cases, clear errors, report card."""

import ast
import csv
import doctest
import inspect
import io
import math
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

import llmlab
import llmlab.metrics as lm
from llmlab.metrics import (
    THRESHOLDS,
    ReportCard,
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_recall_curve,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    report_card,
)

SEEDS = [0, 1, 2, 3, 4]


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def _same(ours, theirs):
    """Compare results that may be floats, arrays or tuples of them (NaN equals NaN)."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _same(a, b)
    elif theirs is None:
        assert ours is None
    else:
        np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float),
                                   rtol=0, atol=1e-12, equal_nan=True)


def _binary_case(seed, strings):
    rng = np.random.default_rng(seed)
    n = 40
    y_true = (rng.random(n) < 0.35).astype(int)
    y_pred = np.where(rng.random(n) < 0.75, y_true, 1 - y_true)
    if strings:
        names = np.array(["ham", "spam"])
        return list(names[y_true]), list(names[y_pred]), "spam", rng.random(n)
    return y_true, y_pred, 1, rng.random(n)


def _multiclass_case(seed, strings):
    rng = np.random.default_rng(100 + seed)
    n = 50
    y_true = rng.integers(0, 3, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, 3, n))
    if strings:
        names = np.array(["bird", "cat", "dog"])
        return names[y_true], names[y_pred], rng.random(n)
    return y_true, y_pred, rng.random(n)


# --------------------------------------------------------------------------------------
# Signatures mirror scikit-learn
# --------------------------------------------------------------------------------------

MIRRORED = [
    "confusion_matrix",
    "accuracy_score",
    "precision_score",
    "recall_score",
    "f1_score",
    "precision_recall_fscore_support",
    "balanced_accuracy_score",
    "matthews_corrcoef",
    "precision_recall_curve",
    "classification_report",
]


@pytest.mark.parametrize("name", MIRRORED)
def test_signature_mirrors_sklearn(name):
    ours = inspect.signature(getattr(lm, name)).parameters
    theirs = inspect.signature(getattr(skm, name)).parameters
    assert list(ours) == list(theirs)
    for pname, p in theirs.items():
        assert ours[pname].kind == p.kind, pname
        if p.default is not inspect.Parameter.empty:
            assert ours[pname].default == p.default, pname


def test_no_assert_statements_in_library():
    package = Path(llmlab.__file__).parent
    modules = sorted(package.glob("**/*.py"))
    assert len(modules) > 20
    for path in modules:
        tree = ast.parse(path.read_text())
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Assert)], path


def test_doctests_pass():
    import llmlab.metrics.classification
    import llmlab.metrics.curves
    import llmlab.report

    attempted = 0
    for module in (llmlab.metrics.classification, llmlab.metrics.curves, llmlab.report):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted > 10


# --------------------------------------------------------------------------------------
# Parity with scikit-learn on random inputs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("strings", [False, True])
def test_binary_parity(seed, strings):
    y_true, y_pred, pos, weights = _binary_case(seed, strings)
    for sw in (None, weights):
        _same(confusion_matrix(y_true, y_pred, sample_weight=sw),
              skm.confusion_matrix(y_true, y_pred, sample_weight=sw))
        for norm in ("true", "pred", "all"):
            _same(confusion_matrix(y_true, y_pred, sample_weight=sw, normalize=norm),
                  skm.confusion_matrix(y_true, y_pred, sample_weight=sw, normalize=norm))
        for normalize in (True, False):
            _same(accuracy_score(y_true, y_pred, normalize=normalize, sample_weight=sw),
                  skm.accuracy_score(y_true, y_pred, normalize=normalize, sample_weight=sw))
        for adjusted in (False, True):
            _same(balanced_accuracy_score(y_true, y_pred, sample_weight=sw, adjusted=adjusted),
                  skm.balanced_accuracy_score(y_true, y_pred, sample_weight=sw,
                                              adjusted=adjusted))
        _same(matthews_corrcoef(y_true, y_pred, sample_weight=sw),
              skm.matthews_corrcoef(y_true, y_pred, sample_weight=sw))
        for ours, theirs in ((precision_score, skm.precision_score),
                             (recall_score, skm.recall_score), (f1_score, skm.f1_score)):
            for average in ("binary", None, "micro", "macro", "weighted"):
                # pos_label only matters (and only passes without a warning) for 'binary'
                kw = {"pos_label": pos if average == "binary" else 1, "average": average,
                          "sample_weight": sw}
                _same(ours(y_true, y_pred, **kw), theirs(y_true, y_pred, **kw))
        for beta in (0.5, 1.0, 2.0):
            kw = {"beta": beta, "sample_weight": sw}
            _same(precision_recall_fscore_support(y_true, y_pred, **kw),
                  skm.precision_recall_fscore_support(y_true, y_pred, **kw))
            kw.update(average="binary", pos_label=pos)
            _same(precision_recall_fscore_support(y_true, y_pred, **kw),
                  skm.precision_recall_fscore_support(y_true, y_pred, **kw))


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("strings", [False, True])
def test_multiclass_parity(seed, strings):
    y_true, y_pred, weights = _multiclass_case(seed, strings)
    classes = sorted(set(np.asarray(y_true).tolist()))
    extra = "eel" if strings else 7  # a listed class that never occurs is allowed
    for labels in (None, classes[::-1], [*classes, extra]):
        for sw in (None, weights):
            _same(confusion_matrix(y_true, y_pred, labels=labels, sample_weight=sw),
                  skm.confusion_matrix(y_true, y_pred, labels=labels, sample_weight=sw))
            for ours, theirs in ((precision_score, skm.precision_score),
                                 (recall_score, skm.recall_score),
                                 (f1_score, skm.f1_score)):
                for average in (None, "micro", "macro", "weighted"):
                    kw = {"labels": labels, "average": average, "sample_weight": sw,
                              "zero_division": 0.0}
                    _same(ours(y_true, y_pred, **kw), theirs(y_true, y_pred, **kw))
            kw = {"labels": labels, "sample_weight": sw, "zero_division": 0.0}
            _same(precision_recall_fscore_support(y_true, y_pred, **kw),
                  skm.precision_recall_fscore_support(y_true, y_pred, **kw))
    _same(accuracy_score(y_true, y_pred), skm.accuracy_score(y_true, y_pred))
    _same(balanced_accuracy_score(y_true, y_pred), skm.balanced_accuracy_score(y_true, y_pred))
    _same(matthews_corrcoef(y_true, y_pred), skm.matthews_corrcoef(y_true, y_pred))
    assert classification_report(y_true, y_pred) == skm.classification_report(y_true, y_pred)
    kw = {"labels": [*classes, extra], "sample_weight": weights, "zero_division": 0.0}
    assert classification_report(y_true, y_pred, output_dict=True, **kw) == \
        skm.classification_report(y_true, y_pred, output_dict=True, **kw)


@pytest.mark.parametrize("zero_division", [0.0, 1.0, np.nan, "warn"])
@pytest.mark.parametrize("average", ["binary", None, "macro", "weighted", "micro"])
def test_zero_division_parity(zero_division, average):
    # nothing predicted spam: precision of spam is 0/0
    y_true = ["ham", "spam", "ham", "spam", "ham"]
    y_pred = ["ham"] * 5
    # no spam at all: recall of spam is 0/0 too
    cases = [(y_true, y_pred), (["ham"] * 4, ["ham", "ham", "ham", "ham"])]
    for yt, yp in cases:
        for ours, theirs in ((precision_score, skm.precision_score),
                             (recall_score, skm.recall_score), (f1_score, skm.f1_score)):
            if average == "binary":
                kw = {"pos_label": "spam", "average": average, "zero_division": zero_division}
            else:
                kw = {"labels": ["ham", "spam"], "average": average, "zero_division": zero_division}
            _same(_quiet(ours, yt, yp, **kw), _quiet(theirs, yt, yp, **kw))


def test_zero_division_warn_warns_like_sklearn():
    with pytest.warns(UndefinedMetricWarning, match="Precision is ill-defined"):
        value = precision_score(["ham", "spam"], ["ham", "ham"], pos_label="spam")
    assert value == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision_score(["ham", "spam"], ["ham", "ham"], pos_label="spam",
                               zero_division=1.0) == 1.0
        assert math.isnan(precision_score(["ham", "spam"], ["ham", "ham"], pos_label="spam",
                                          zero_division=np.nan))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("strings", [False, True])
def test_precision_recall_curve_parity(seed, strings):
    y_true, _, pos, weights = _binary_case(seed, strings)
    rng = np.random.default_rng(seed)
    y_score = np.round(rng.random(len(y_true)), 1)  # ties on purpose
    for sw in (None, weights):
        for drop in (False, True):
            ours = precision_recall_curve(y_true, y_score, pos_label=pos, sample_weight=sw,
                                          drop_intermediate=drop)
            theirs = skm.precision_recall_curve(y_true, y_score, pos_label=pos,
                                                sample_weight=sw, drop_intermediate=drop)
            _same(ours, theirs)


def test_precision_recall_curve_default_pos_label_for_01():
    y_true, y_score = [0, 1, 1, 0], [0.2, 0.9, 0.4, 0.5]
    _same(precision_recall_curve(y_true, y_score), skm.precision_recall_curve(y_true, y_score))
    _same(precision_recall_curve([-1, 1, 1, -1], y_score),
          skm.precision_recall_curve([-1, 1, 1, -1], y_score))


def test_precision_recall_curve_all_positive_is_allowed():
    _same(precision_recall_curve(["spam"] * 3, [0.2, 0.5, 0.9], pos_label="spam"),
          skm.precision_recall_curve(["spam"] * 3, [0.2, 0.5, 0.9], pos_label="spam"))


def test_accepts_tuples_column_vectors_and_bools():
    assert accuracy_score((1, 0, 1), (1, 1, 1)) == pytest.approx(2 / 3)
    assert accuracy_score(np.array([[1], [0]]), np.array([[1], [0]])) == 1.0
    assert recall_score([True, False, True], [True, False, False]) == 0.5
    assert precision_score([1.0, 0.0, 1.0], [1, 1, 1]) == pytest.approx(2 / 3)


# --------------------------------------------------------------------------------------
# Hand-computed case: TP=3, FP=1, FN=2, TN=4
# --------------------------------------------------------------------------------------

HAND_TRUE = ["spam"] * 3 + ["ham"] + ["spam"] * 2 + ["ham"] * 4
HAND_PRED = ["spam"] * 3 + ["spam"] + ["ham"] * 2 + ["ham"] * 4


def test_hand_computed_binary():
    assert confusion_matrix(HAND_TRUE, HAND_PRED, labels=["ham", "spam"]).tolist() == [
        [4, 1],
        [2, 3],
    ]
    assert precision_score(HAND_TRUE, HAND_PRED, pos_label="spam") == pytest.approx(0.75)
    assert recall_score(HAND_TRUE, HAND_PRED, pos_label="spam") == pytest.approx(0.6)
    assert f1_score(HAND_TRUE, HAND_PRED, pos_label="spam") == pytest.approx(2 / 3)
    assert accuracy_score(HAND_TRUE, HAND_PRED) == pytest.approx(0.7)
    assert accuracy_score(HAND_TRUE, HAND_PRED, normalize=False) == 7
    assert balanced_accuracy_score(HAND_TRUE, HAND_PRED) == pytest.approx((0.6 + 0.8) / 2)
    assert matthews_corrcoef(HAND_TRUE, HAND_PRED) == pytest.approx(
        (3 * 4 - 1 * 2) / math.sqrt(4 * 5 * 5 * 6)
    )
    p, r, _, s = precision_recall_fscore_support(HAND_TRUE, HAND_PRED, labels=["spam", "ham"])
    assert p.tolist() == pytest.approx([0.75, 4 / 6])
    assert r.tolist() == pytest.approx([0.6, 0.8])
    assert s.tolist() == [5, 5]
    # ham as the positive class swaps the roles
    assert precision_score(HAND_TRUE, HAND_PRED, pos_label="ham") == pytest.approx(4 / 6)
    assert recall_score(HAND_TRUE, HAND_PRED, pos_label="ham") == pytest.approx(0.8)


def test_hand_computed_curve():
    precision, recall, thresholds = precision_recall_curve(
        ["ham", "ham", "spam", "spam"], [0.1, 0.4, 0.35, 0.8], pos_label="spam"
    )
    assert thresholds.tolist() == [0.1, 0.35, 0.4, 0.8]
    assert precision.tolist() == pytest.approx([0.5, 2 / 3, 0.5, 1.0, 1.0])
    assert recall.tolist() == [1.0, 1.0, 0.5, 0.5, 0.0]


# --------------------------------------------------------------------------------------
# Bad inputs raise ValueError naming the problem
# --------------------------------------------------------------------------------------

LABEL_FUNCS = [
    confusion_matrix,
    accuracy_score,
    precision_score,
    recall_score,
    f1_score,
    precision_recall_fscore_support,
    balanced_accuracy_score,
    matthews_corrcoef,
    classification_report,
]


@pytest.mark.parametrize("func", LABEL_FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        ([0, 1, 1], [0, 1], r"different lengths: len\(y_true\)=3 but len\(y_pred\)=2"),
        ([], [], "empty"),
        (None, [0, 1], "y_true is None"),
        ("spam", ["spam"], "single string"),
        (5, [5], "single value"),
        ([0, 1], [[0.2, 0.8], [0.6, 0.4]], r"shape \(2, 2\)"),
        (["ham", "spam"], [0, 1], "y_true holds strings .* but y_pred holds numbers"),
        (["ham", "spam"], ["ham", 1], "y_pred mixes strings and numbers"),
        (["ham", "spam"], ["ham", None], r"y_pred\[1\] is None, which is not a class label"),
        ([0.0, float("nan"), 1.0], [0, 1, 1], "y_true contains nan at index 1"),
        ([0, 1, 1], [0.2, 0.9, 0.7], "non-integer values such as 0.2 .* look like scores"),
    ],
)
def test_bad_label_inputs(func, y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        func(y_true, y_pred)


LABELLED_FUNCS = [
    confusion_matrix,
    precision_score,
    recall_score,
    f1_score,
    precision_recall_fscore_support,
    classification_report,
]


@pytest.mark.parametrize("func", LABELLED_FUNCS, ids=lambda f: f.__name__)
def test_labels_must_cover_every_label(func):
    kw = {} if func is confusion_matrix or func is classification_report else \
        {"average": "macro"}
    with pytest.raises(ValueError, match=r"y_pred contains label\(s\) \['Spam'\] that are not "
                                         r"in labels=\['ham', 'spam'\]"):
        func(["ham", "spam"], ["ham", "Spam"], labels=["ham", "spam"], **kw)
    with pytest.raises(ValueError, match=r"y_true contains label\(s\) \['eggs'\]"):
        func(["ham", "eggs"], ["ham", "ham"], labels=["ham", "spam"], **kw)
    with pytest.raises(ValueError, match="labels is empty"):
        func(["ham"], ["ham"], labels=[], **kw)
    with pytest.raises(ValueError, match=r"labels lists \['ham'\] more than once"):
        func(["ham"], ["ham"], labels=["ham", "ham"], **kw)
    with pytest.raises(ValueError, match="labels holds numbers .* y_true and y_pred hold strings"):
        func(["ham"], ["ham"], labels=[0, 1], **kw)


def test_long_label_lists_are_shortened_in_messages():
    labels = [f"c{i}" for i in range(20)]
    with pytest.raises(ValueError, match=r"\.\.\. \(20 in all\)"):
        confusion_matrix(["x"], ["c0"], labels=labels)


@pytest.mark.parametrize("func", [precision_score, recall_score, f1_score],
                         ids=lambda f: f.__name__)
def test_binary_average_errors(func):
    # an LLM answer outside the label set, named clearly
    with pytest.raises(ValueError, match=r"y_pred contains label\(s\) \['Spam'\] that never "
                                         r"occur in y_true \(\['ham', 'spam'\]\)"):
        func(["ham", "spam", "ham"], ["ham", "Spam", "spam"], pos_label="spam")
    with pytest.raises(ValueError, match=r"average='binary' needs at most two classes, but "
                                         r"y_true and y_pred hold 3"):
        func(["a", "b", "c"], ["a", "b", "c"], pos_label="a")
    with pytest.raises(ValueError, match=r"pos_label=1 is not a valid label: the labels are "
                                         r"strings \['ham', 'spam'\].*pos_label='spam'"):
        func(["ham", "spam"], ["ham", "spam"])
    with pytest.raises(ValueError, match=r"pos_label='eggs' is not one of the labels in y_true "
                                         r"and y_pred: \['ham', 'spam'\]"):
        func(["ham", "spam"], ["ham", "spam"], pos_label="eggs")
    with pytest.raises(ValueError, match=r"pos_label='spam' is not one of the labels in labels"):
        func(["ham"], ["ham"], pos_label="spam", labels=["ham", "eggs"])


def test_single_class_binary_follows_sklearn():
    # only 'ham' anywhere, pos_label 'spam': allowed, 0/0 handled by zero_division
    with pytest.warns(UndefinedMetricWarning):
        assert recall_score(["ham", "ham"], ["ham", "ham"], pos_label="spam") == 0.0
    assert recall_score(["ham", "ham"], ["ham", "ham"], pos_label="spam",
                        zero_division=1.0) == 1.0


@pytest.mark.parametrize("func", [precision_score, recall_score, f1_score,
                                  precision_recall_fscore_support], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"average": "mean"}, r"average='mean' is not supported; choose one of \[None, 'binary'"),
        ({"average": "samples"}, "multilabel"),
        ({"zero_division": 2}, r"zero_division=2 is not supported; choose one of \['warn'"),
        ({"zero_division": "ignore"}, "zero_division='ignore' is not supported"),
        ({"sample_weight": [1, 1]}, "sample_weight has 2 values but there are 3 samples"),
        ({"sample_weight": [1, -1, 1]}, r"sample_weight\[1\] is -1.0"),
        ({"sample_weight": [1, np.nan, 1]}, r"sample_weight\[1\] is nan"),
    ],
)
def test_bad_options(func, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func([0, 1, 1], [0, 1, 0], **kwargs)


def test_bad_beta_normalize_digits():
    with pytest.raises(ValueError, match=r"beta=-1 is not supported; expected a finite number >= 0"):
        precision_recall_fscore_support([0, 1], [0, 1], beta=-1)
    with pytest.raises(ValueError, match=r"normalize='rows' is not supported; choose one of "
                                         r"\[None, 'true', 'pred', 'all'\]"):
        confusion_matrix([0, 1], [0, 1], normalize="rows")
    with pytest.raises(ValueError, match=r"normalize='yes' is not supported; choose one of "
                                         r"\[True, False\]"):
        accuracy_score([0, 1], [0, 1], normalize="yes")
    with pytest.raises(ValueError, match="target_names has 1 names but there are 2 classes"):
        classification_report([0, 1], [0, 1], target_names=["ham"])
    with pytest.raises(ValueError, match=r"digits=-1 is not supported; expected an int >= 0"):
        classification_report([0, 1], [0, 1], digits=-1)


@pytest.mark.parametrize(
    "y_true, y_score, kwargs, match",
    [
        ([0, 1, 1], [0.2, 0.7], {}, r"len\(y_true\)=3 but len\(y_score\)=2"),
        ([], [], {}, "empty"),
        ([0, 1, 1], [0.2, 0.7, np.nan], {}, "y_score contains nan at index 2"),
        ([0, 1, 1], [np.inf, 0.7, 0.1], {}, "y_score contains inf at index 0"),
        ([0, 1], None, {}, "y_score is None"),
        ([0, 1], [[0.8, 0.2], [0.3, 0.7]], {}, r"shape \(2, 2\).*y_score\[:, 1\]"),
        (["ham", "spam"], ["ham", "spam"], {"pos_label": "spam"},
         "y_score holds strings .* Did you pass y_pred"),
        ([0, 1, 2], [0.1, 0.5, 0.9], {}, r"y_true holds 3 classes \[0, 1, 2\]"),
        (["ham", "spam"], [0.1, 0.9], {}, r"pos_label is not set; .* pos_label='spam'"),
        (["ham", "spam"], [0.1, 0.9], {"pos_label": 1}, "pos_label=1 is not a valid label"),
        (["ham", "spam"], [0.1, 0.9], {"pos_label": "eggs"}, "pos_label='eggs' is not one of"),
        (["ham", "ham"], [0.1, 0.9], {"pos_label": "spam"},
         r"no positive sample \(no 'spam'; only \['ham'\]\)"),
        ([0, 0, 0], [0.1, 0.5, 0.9], {}, "no positive sample"),
        ([0, 1], [0.1, 0.9], {"sample_weight": [1]}, "sample_weight has 1 values"),
    ],
)
def test_precision_recall_curve_bad_inputs(y_true, y_score, kwargs, match):
    with pytest.raises(ValueError, match=match):
        precision_recall_curve(y_true, y_score, **kwargs)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        precision_score([0, 1], [0, 1], None, 1)
    with pytest.raises(TypeError):
        precision_recall_curve([0, 1], [0.1, 0.9], 1)


# --------------------------------------------------------------------------------------
# Report card
# --------------------------------------------------------------------------------------


def test_thresholds_are_the_seed_lessons():
    assert THRESHOLDS == {
        "perplexity": {"good_below": 20.0, "bad_above": 50.0},
        "accuracy": {"good_above": 0.85, "bad_below": 0.60},
        "precision": {"good_above": 0.80},
        "recall": {"good_above": 0.80, "bad_below": 0.50},
    }


@pytest.mark.parametrize(
    "metric, value, verdict",
    [
        ("perplexity", 1.0, "good"),
        ("perplexity", 19.99, "good"),
        ("perplexity", 20.0, "borderline"),
        ("perplexity", 35.0, "borderline"),
        ("perplexity", 50.0, "borderline"),
        ("perplexity", 50.01, "bad"),
        ("accuracy", 0.99, "good"),
        ("accuracy", 0.851, "good"),
        ("accuracy", 0.85, "borderline"),
        ("accuracy", 0.60, "borderline"),
        ("accuracy", 0.599, "bad"),
        ("precision", 0.801, "good"),
        ("precision", 0.80, "borderline"),
        ("precision", 0.10, "borderline"),
        ("recall", 0.801, "good"),
        ("recall", 0.80, "borderline"),
        ("recall", 0.50, "borderline"),
        ("recall", 0.499, "bad"),
        ("accuracy", float("nan"), "n/a"),
        ("bits_per_byte", 1.2, "n/a"),
        ("f1", 0.9, "n/a"),
        ("mcc", -0.3, "n/a"),
        ("balanced_accuracy", 0.5, "n/a"),
    ],
)
def test_verdicts_at_and_around_thresholds(metric, value, verdict):
    card = report_card(**{metric: value})
    assert card.metrics == [metric]
    assert card[metric].verdict == verdict
    assert card[metric].caveat
    assert card[metric].rule


@pytest.mark.parametrize(
    "precision, recall, verdict",
    [(0.9, 0.85, "good"), (0.9, 0.8, "borderline"), (0.7, 0.9, "borderline"),
     (0.9, 0.6, "borderline"), (0.95, 0.4, "bad"), (float("nan"), 0.2, "bad"),
     (float("nan"), 0.9, "n/a")],
)
def test_precision_recall_balance(precision, recall, verdict):
    card = report_card(precision=precision, recall=recall)
    assert card["pr_balance"].verdict == verdict
    if not math.isnan(precision):
        assert card["pr_balance"].value == min(precision, recall)


def test_caveats_name_the_limits():
    card = report_card(perplexity=12.0, bits_per_byte=1.1, accuracy=0.9)
    assert "tokenizer" in card["perplexity"].caveat and "domain" in card["perplexity"].caveat
    assert "bits per byte" in card["perplexity"].caveat
    assert card["bits_per_byte"].verdict == "n/a"
    assert "rare class" in card["accuracy"].caveat


def test_accuracy_paradox_on_all_ham_predictor():
    y_true = ["ham"] * 98 + ["spam"] * 2
    card = report_card(y_true, ["ham"] * 100, pos_label="spam")
    assert card.accuracy_paradox
    assert card["accuracy"].value == pytest.approx(0.98)
    assert card["accuracy"].verdict == "good"
    assert card["recall"].value == 0.0 and card["recall"].verdict == "bad"
    assert card["baseline_accuracy"].value == pytest.approx(0.98)
    assert card["positive_rate"].value == pytest.approx(0.02)
    assert "'ham' already scores 98.0 %" in card["accuracy"].caveat
    assert math.isnan(card["precision"].value) and card["precision"].verdict == "n/a"
    assert "never predicted 'spam'" in card["precision"].caveat
    assert card["balanced_accuracy"].value == pytest.approx(0.5)
    assert (card.n_samples, card.n_positive, card.pos_label) == (100, 2, "spam")
    assert any(f.startswith("accuracy paradox") for f in card.flags)
    assert any("no better than always predicting 'ham'" in f for f in card.flags)
    text = str(card)
    assert "accuracy paradox" in text and "Caveats:" in text


def test_accuracy_paradox_from_values_like_the_seed_quiz():
    card = report_card(accuracy=0.98, recall=0.12)
    assert card.accuracy_paradox
    assert not report_card(accuracy=0.98, recall=0.9).accuracy_paradox
    assert not report_card(accuracy=0.98).accuracy_paradox


def test_good_model_has_no_flags():
    y_true = ["ham"] * 8 + ["spam"] * 8
    y_pred = ["ham"] * 8 + ["spam"] * 7 + ["ham"]
    # by the point alone (no intervals), 15 of 16 right is good
    card = report_card(y_true, y_pred, pos_label="spam", confidence_level=None)
    assert card.flags == []
    assert card.verdicts["accuracy"] == "good"
    assert card.verdicts["pr_balance"] == "good"
    # with its 95 % interval, 16 samples cannot tell: the interval crosses 85 %
    card = report_card(y_true, y_pred, pos_label="spam")
    assert card.flags == []
    assert card["accuracy"].low < 0.85 < card["accuracy"].high
    assert card.verdicts["accuracy"] == "undecided"
    assert "crosses the line at 85.0 %" in card["accuracy"].caveat
    assert card.verdicts["pr_balance"] == "undecided"
    # ... and 10 times as many samples with the same error rate can
    card = report_card(y_true * 10, y_pred * 10, pos_label="spam")
    assert card["accuracy"].low > 0.85
    assert card.verdicts["accuracy"] == "good"


@pytest.mark.parametrize("seed", SEEDS)
def test_card_from_labels_matches_metrics(seed):
    y_true, y_pred, pos, _ = _binary_case(seed, strings=True)
    card = report_card(y_true, y_pred, pos_label=pos)
    assert card["accuracy"].value == pytest.approx(accuracy_score(y_true, y_pred))
    assert card["precision"].value == pytest.approx(precision_score(y_true, y_pred, pos_label=pos))
    assert card["recall"].value == pytest.approx(recall_score(y_true, y_pred, pos_label=pos))
    assert card["f1"].value == pytest.approx(f1_score(y_true, y_pred, pos_label=pos))
    assert card["mcc"].value == pytest.approx(matthews_corrcoef(y_true, y_pred))
    assert card["balanced_accuracy"].value == pytest.approx(
        balanced_accuracy_score(y_true, y_pred))
    assert card["positive_rate"].value == pytest.approx(np.mean(np.array(y_true) == pos))


def test_card_takes_a_perplexity_result():
    res = SimpleNamespace(perplexity=55.0, bits_per_byte=2.5)
    card = report_card(perplexity=res)
    assert card.verdicts == {"perplexity": "bad", "bits_per_byte": "n/a"}
    assert card["bits_per_byte"].value == 2.5


def test_card_threshold_overrides_do_not_touch_the_constant():
    before = {k: dict(v) for k, v in THRESHOLDS.items()}
    card = report_card(accuracy=0.9, thresholds={"accuracy": {"good_above": 0.95}})
    assert card["accuracy"].verdict == "borderline"
    assert "> 95 % good" in card["accuracy"].rule
    assert THRESHOLDS == before


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((), {"accuracy": 85},
         r"accuracy=85.0 is outside \[0, 1\]; pass a fraction such as 0.85, not a percentage"),
        ((), {"recall": -0.1}, r"recall=-0.1 is outside \[0, 1\]"),
        ((), {"mcc": 1.5}, r"mcc=1.5 is outside \[-1, 1\]"),
        ((), {"perplexity": 0.5}, "perplexity=0.5 must be a finite number >= 1"),
        ((), {"perplexity": float("inf")}, "perplexity=inf must be a finite number"),
        ((), {"bits_per_byte": -1}, "bits_per_byte=-1.0 must be a finite number >= 0"),
        ((), {"accuracy": "high"}, "accuracy='high' must be a number"),
        ((["ham"],), {}, "y_pred is missing"),
        ((["ham", "spam"], ["ham", "spam"]), {"pos_label": "spam", "accuracy": 0.9},
         "either y_true and y_pred or the metric values, not both: accuracy="),
        ((["ham", "spam"], ["ham", "spam"]), {}, r"pos_label=1 is not a valid label"),
        ((["ham", "spam", "eggs"], ["ham", "spam", "eggs"]), {"pos_label": "spam"},
         "needs at most two classes"),
        ((), {"perplexity": SimpleNamespace(perplexity=5.0, bits_per_byte=1.0),
              "bits_per_byte": 1.0}, "already carries bits_per_byte"),
        ((), {"thresholds": {"f2": {}}}, r"no rule for 'f2'; choose among \['accuracy'"),
        ((), {"thresholds": {"accuracy": {"great_above": 0.9}}}, "unknown key 'great_above'"),
    ],
)
def test_card_bad_inputs(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        report_card(*args, **kwargs)


def test_card_exports(tmp_path):
    card = report_card(["ham", "ham", "spam", "spam"], ["ham", "spam", "spam", "spam"],
                       pos_label="spam", perplexity=18.0, bits_per_byte=1.0,
                       title="tiny-llama <test>")
    assert isinstance(card, ReportCard)
    d = card.to_dict()
    assert d["title"] == "tiny-llama <test>"
    assert list(d["metrics"]) == card.metrics
    assert d["metrics"]["perplexity"] == {
        "value": 18.0, "verdict": "good", "rule": card["perplexity"].rule,
        "caveat": card["perplexity"].caveat, "low": None, "high": None,
    }
    assert d["metrics"]["accuracy"]["low"] <= 0.75 <= d["metrics"]["accuracy"]["high"]
    assert d["confidence_level"] == 0.95 and "random_state=0" in d["interval_note"]
    assert d["pos_label"] == "spam" and d["n_samples"] == 4
    rows = list(csv.DictReader(io.StringIO(card.to_csv())))
    assert [r["metric"] for r in rows] == card.metrics
    assert float(rows[0]["value"]) == 18.0 and rows[0]["verdict"] == "good"
    path = tmp_path / "card.csv"
    assert card.to_csv(path) is None
    assert path.read_text() == card.to_csv()
    html = card._repr_html_()
    assert html.count("<tr>") == len(card) + 1
    assert "tiny-llama &lt;test&gt;" in html and "<test>" not in html
    text = card.to_text()
    for row in card:
        assert row.metric in text
    assert "Caveats:" not in card.to_text(caveats=False)
    assert "perplexity" in card and "nope" not in card
    with pytest.raises(KeyError, match="not on this card"):
        card["nope"]


def test_report_rows_are_a_table_whose_directions_agree_with_the_thresholds():
    from llmlab.report import DIRECTIONS, ROWS

    assert [spec.metric for spec in ROWS] == list(DIRECTIONS)
    for metric, rule in THRESHOLDS.items():
        lower = {"good_below", "bad_above"} & set(rule)
        higher = {"good_above", "bad_below"} & set(rule)
        assert bool(lower) != bool(higher), metric
        assert DIRECTIONS[metric] == ("lower" if lower else "higher"), metric
    # every row a full card prints comes from the table, in its order
    card = report_card(["a", "b", "b", "a"], ["a", "b", "a", "a"], pos_label="b",
                       y_score=[0.2, 0.9, 0.4, 0.1], perplexity=30.0, bits_per_byte=1.5)
    assert card.metrics == [spec.metric for spec in ROWS]
