"""llmlab.validation: every validator on a good value and a bad one, whose message names the
parameter, the bad value and what is accepted; constraints against scikit-learn's own."""

import doctest
import inspect
import re
import warnings
from numbers import Integral, Real

import numpy as np
import pytest
from scipy import special
from sklearn.utils import _param_validation as skpv

from llmlab import _numeric, datasets, validation
from llmlab.validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    check_1d,
    check_option,
    check_param,
    check_positive_int,
    check_prf_options,
    check_probabilities,
    check_sample_weight,
    check_scores,
    check_str_list,
    check_targets,
    check_texts,
    renamed_keywords,
    validate_params,
)


def _raises(exc, *parts):
    """pytest.raises whose message must hold every one of ``parts``, literally."""
    return pytest.raises(exc, match="(?s)" + ".*".join(re.escape(p) for p in parts))


def test_doctests_pass():
    for module in (validation, _numeric):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__


# --------------------------------------------------------------------------------------
# Constraints
# --------------------------------------------------------------------------------------

GRID = [-2, -1, 0, 1, 2, 3, -1.5, -0.0, 0.5, 1.0, 2.5, 3.0, np.int64(2), np.float32(0.5)]


def _bounds():
    """Every (left, right, closed) scikit-learn accepts: no closed side without a bound."""
    for left, right in [(0, None), (None, 2), (-1, 2), (None, None)]:
        for closed in ("left", "right", "both", "neither"):
            if not (left is None and closed in ("left", "both")
                    or right is None and closed in ("right", "both")):
                yield left, right, closed


@pytest.mark.parametrize("kind", [Integral, Real])
@pytest.mark.parametrize("left, right, closed", list(_bounds()))
def test_interval_agrees_with_sklearns_on_finite_values(kind, left, right, closed):
    ours = Interval(kind, left, right, closed=closed)
    theirs = skpv.Interval(kind, left, right, closed=closed)
    for value in GRID:
        assert ours.is_satisfied_by(value) == theirs.is_satisfied_by(value), value


@pytest.mark.parametrize("value", [True, False, np.bool_(True), np.nan, np.inf, -np.inf, "1",
                                   None, [1]])
def test_interval_refuses_bools_non_finite_and_non_numbers(value):
    assert not Interval(Real, None, None).is_satisfied_by(value)
    assert not Interval(Integral, None, None).is_satisfied_by(value)


@pytest.mark.parametrize(
    "interval, words",
    [
        (Interval(Integral, 1, None, closed="left"), "an int >= 1"),
        (Interval(Integral, 0, None, closed="neither"), "an int > 0"),
        (Interval(Real, None, 1, closed="right"), "a finite number <= 1"),
        (Interval(Real, None, 1, closed="neither"), "a finite number < 1"),
        (Interval(Real, 0, 1, closed="neither"), "a finite number in (0, 1)"),
        (Interval(Real, 0, 1, closed="left"), "a finite number in [0, 1)"),
        (Interval(Real, None, None), "a finite number"),
    ],
)
def test_interval_says_what_it_accepts(interval, words):
    assert str(interval) == words


def test_interval_refuses_a_type_it_cannot_describe():
    with _raises(ValueError, "type=<class 'float'> is not supported", "numbers.Integral"):
        Interval(float, 0, 1)
    with _raises(ValueError, "closed='open' is not supported", "['left', 'right', 'both'"):
        Interval(Real, 0, 1, closed="open")


def test_options_compare_type_and_value():
    opts = Options((None, True, False, "all"))
    for good in (None, True, False, np.bool_(False), "all", np.str_("all")):
        assert opts.is_satisfied_by(good), good
    for bad in (1, 0, 1.0, "All", "true", np.int64(1)):  # True == 1 in Python, not here
        assert not opts.is_satisfied_by(bad), bad
    assert str(opts) == "one of [None, True, False, 'all']"
    assert StrOptions(["a", "b"]).is_satisfied_by("b")
    with _raises(ValueError, "StrOptions takes strings; [1] are not"):
        StrOptions(["a", 1])


def test_invalid_parameter_error_is_a_value_error_and_a_type_error():
    for exc in (ValueError, TypeError, InvalidParameterError):
        with pytest.raises(exc):
            check_positive_int("n", "3")


@pytest.mark.parametrize(
    "constraints, good, bad, words",
    [
        ([StrOptions(["uniform", "quantile"])], "quantile", "median",
         "strategy='median' is not supported; choose one of ['uniform', 'quantile']."),
        ([Options([None, "true"]), StrOptions(["all"])], None, "rows",
         "strategy='rows' is not supported; choose one of [None, 'true', 'all']."),
        ([None, Interval(Real, 0, 1)], 0.25, 1.5,
         "strategy=1.5 is not supported; expected None or a finite number in [0, 1]."),
        (["boolean"], np.bool_(True), "yes",
         "strategy='yes' is not supported; choose one of [True, False]."),
        ([callable], len, "len",
         "strategy='len' is not supported; expected a callable."),
        ([str], "text", 3, "strategy=3 is not supported; expected an instance of str."),
        (Interval(Integral, 1, None, closed="left"), 2, 0,
         "strategy=0 is not supported; expected an int >= 1."),
    ],
)
def test_check_param_on_a_good_and_a_bad_value(constraints, good, bad, words):
    assert check_param("strategy", good, constraints) is good
    with pytest.raises(InvalidParameterError) as info:
        check_param("strategy", bad, constraints)
    assert str(info.value) == words


def test_check_param_cuts_a_long_value_short_and_refuses_unknown_constraints():
    with pytest.raises(InvalidParameterError) as info:
        check_param("labels", list(range(1000)), [None])
    assert len(str(info.value)) < 150 and "labels=[0, 1, 2" in str(info.value)
    with _raises(ValueError, "constraint='int' is not a constraint llmlab knows", "Interval"):
        check_param("n", 1, ["int"])


def test_check_option_is_type_aware():
    check_option("split", "test", ("train", "test"))
    check_option("normalize", False, (True, False))
    with _raises(InvalidParameterError, "normalize=0 is not supported",
                 "choose one of [True, False]"):
        check_option("normalize", 0, (True, False))
    with _raises(InvalidParameterError, "split=None is not supported",
                 "choose one of ['train', 'test']"):
        check_option("split", None, ("train", "test"))


@pytest.mark.parametrize("good", [1, 8, np.int64(3), 10**12])
def test_check_positive_int_accepts_integers_from_one(good):
    out = check_positive_int("batch_size", good)
    assert out == good and type(out) is int


@pytest.mark.parametrize("bad", [0, -3, 1.0, 2.5, True, "8", None, np.nan])
def test_check_positive_int_refuses_the_rest(bad):
    with _raises(InvalidParameterError, f"batch_size={bad!r} is not supported",
                 "expected an int >= 1."):
        check_positive_int("batch_size", bad)


def test_check_positive_int_or_none():
    assert check_positive_int("max_length", None, allow_none=True) is None
    with _raises(InvalidParameterError, "max_length=0 is not supported",
                 "expected None or an int >= 1."):
        check_positive_int("max_length", 0, allow_none=True)


# --------------------------------------------------------------------------------------
# Decorators: validate_params and renamed_keywords
# --------------------------------------------------------------------------------------


@validate_params({"n_bins": [Interval(Integral, 1, None, closed="left")],
                  "strategy": [StrOptions(["uniform", "quantile"])]})
def _binned(y, n_bins, *, strategy="uniform", extra=None):
    """Say what was asked."""
    return (y, n_bins, strategy)


def test_validate_params_checks_positional_and_keyword_arguments():
    assert _binned([1], 3) == ([1], 3, "uniform")
    assert _binned([1], n_bins=3, strategy="quantile") == ([1], 3, "quantile")
    with _raises(InvalidParameterError, "n_bins=0 is not supported", "an int >= 1"):
        _binned([1], 0)
    with _raises(InvalidParameterError, "n_bins=2.5 is not supported"):
        _binned([1], n_bins=2.5)
    with _raises(InvalidParameterError, "strategy='median' is not supported",
                 "['uniform', 'quantile']"):
        _binned([1], 3, strategy="median")
    with pytest.raises(TypeError):  # a missing argument is the call's own TypeError
        _binned([1])


def test_validate_params_keeps_the_signature_and_refuses_unknown_names():
    assert list(inspect.signature(_binned).parameters) == ["y", "n_bins", "strategy", "extra"]
    assert _binned.__doc__ == "Say what was asked."
    with _raises(ValueError, "has no parameter(s) ['bins']"):
        validate_params({"bins": [None]})(_binned.__wrapped__)


@renamed_keywords(y="y_pred", y_a="y_pred_a")
def _pair(y_true, y_pred, y_pred_a=None, **extra):
    return (y_true, y_pred, y_pred_a, extra)


def test_renamed_keywords_warn_and_pass_the_value_on():
    new = _pair([1], y_pred=[2], y_pred_a=[3], pos_label=1)
    with pytest.warns(FutureWarning, match=r"_pair\(y=\.\.\.\) is deprecated: the argument is "
                                           r"now called y_pred\. y= stops working"):
        old = _pair([1], y=[2], y_pred_a=[3], pos_label=1)
    assert old == new
    with pytest.warns(FutureWarning, match="now called y_pred_a"):
        assert _pair([1], [2], y_a=[3], pos_label=1) == new
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new names and positional calls do not warn
        assert _pair([1], [2], [3], pos_label=1) == new


def test_renamed_keywords_refuse_both_names():
    with _raises(TypeError, "got y_pred twice: as y_pred and under its old name y"):
        _pair([1], [2], y=[2])
    with _raises(TypeError, "got y_pred twice"):
        _pair([1], y_pred=[2], y=[2])


# --------------------------------------------------------------------------------------
# Strings and 1-D arrays
# --------------------------------------------------------------------------------------


def test_check_str_list():
    assert check_str_list(("a", "b"), "contexts") == ["a", "b"]
    assert check_str_list(["a", ""], "contexts", allow_empty_items=True) == ["a", ""]
    with _raises(TypeError, "contexts must be a list of strings, got the string 'ab'"):
        check_str_list("ab", "contexts")
    with _raises(ValueError, "contexts is None; pass a list of strings"):
        check_str_list(None, "contexts")
    with _raises(TypeError, "contexts must be a list of strings, got int"):
        check_str_list(5, "contexts")
    with _raises(ValueError, "contexts is empty; pass at least one string"):
        check_str_list([], "contexts")
    with _raises(TypeError, "contexts[1] is a int, not a str"):
        check_str_list(["a", 1], "contexts")
    with _raises(ValueError, "contexts[0] is empty or only whitespace"):
        check_str_list([" "], "contexts")


def test_check_texts():
    assert check_texts("one") == ["one"]
    assert check_texts(iter(["a", "b"])) == ["a", "b"]
    with _raises(ValueError, "texts is empty; pass at least one non-empty string to classify"):
        check_texts([], what="classify")
    with _raises(ValueError, "texts[1] is empty or only whitespace; there is nothing to score"):
        check_texts(["a", "\n"])
    with _raises(TypeError, "texts must be a string or a list of strings, got float"):
        check_texts(1.5)
    with _raises(TypeError, "texts[0] is a bytes, not a str"):
        check_texts([b"a"])


def test_check_1d():
    np.testing.assert_array_equal(check_1d([[1], [2], [3]], "y_true"), [1, 2, 3])
    np.testing.assert_array_equal(check_1d(np.arange(4), "y_true"), np.arange(4))
    for bad, words in [
        (None, ("y_true is None; expected a sequence of labels, one per sample.",)),
        ("spam", ("y_true='spam' is a single string", "expected a sequence of labels")),
        (3, ("y_true=3 is a single value", "one per sample")),
        ([[1, 2], [3, 4]], ("y_true has shape (2, 2); expected a 1-D sequence of labels",
                            "per sample. Try y_true[:, 1].")),
        ([[1], [2, 3]], ("y_true is not a flat sequence of labels",)),
    ]:
        with _raises(ValueError, *words):
            check_1d(bad, "y_true", what="labels", hint=" Try y_true[:, 1].")


# --------------------------------------------------------------------------------------
# Labels, scores, probabilities (the metrics' validators; more through the metrics'
# own tests in test_metrics.py)
# --------------------------------------------------------------------------------------


def test_check_targets_good_and_bad():
    yt, yp, lab, sw, kind = check_targets(["ham", "spam"], ("spam", "spam"),
                                          labels=["spam", "ham"], sample_weight=[1, 2])
    assert yt.tolist() == ["ham", "spam"] and yp.tolist() == ["spam", "spam"]
    assert lab.tolist() == ["spam", "ham"] and sw.tolist() == [1.0, 2.0] and kind == "string"
    assert check_targets([0, 1.0], np.array([1, 1]))[4] == "number"
    with _raises(ValueError, "y_pred contains label(s) ['Spam'] that are not in",
                 "labels=['ham', 'spam']"):
        check_targets(["ham"], ["Spam"], labels=["ham", "spam"])
    with _raises(ValueError, "y_pred[1] is None, which is not a class label"):
        check_targets(["a", "b"], ["a", None])
    with _raises(ValueError, "y_pred mixes strings and numbers (e.g. 'a' at index 0 and 1"):
        check_targets([["a"], ["b"]], [["a"], [1]])


def test_check_sample_weight():
    assert check_sample_weight(None, 3) is None
    assert check_sample_weight((1, 0, 2.5), 3).tolist() == [1.0, 0.0, 2.5]
    with _raises(ValueError, "sample_weight[1] is -1.0", "finite and non-negative"):
        check_sample_weight([1, -1], 2)
    with _raises(ValueError, "sample_weight has 1 values but there are 2 samples"):
        check_sample_weight([1], 2)


def test_check_prf_options():
    yt, yp, lab, _, kind = check_targets(["ham", "spam"], ["ham", "ham"])
    check_prf_options(yt, yp, kind, labels=lab, pos_label="spam", average="binary",
                      zero_division=np.nan, beta=0.5)
    with _raises(InvalidParameterError, "zero_division=0.5 is not supported",
                 "choose one of ['warn', 0.0, 1.0, np.nan]"):
        check_prf_options(yt, yp, kind, labels=lab, pos_label="spam", average="binary",
                          zero_division=0.5)
    with _raises(InvalidParameterError, "beta=inf is not supported",
                 "expected a finite number >= 0"):
        check_prf_options(yt, yp, kind, labels=lab, pos_label="spam", average="binary",
                          zero_division=0.0, beta=np.inf)
    with _raises(InvalidParameterError, "average='avg' is not supported",
                 "choose one of [None, 'binary', 'micro', 'macro', 'weighted']"):
        check_prf_options(yt, yp, kind, labels=lab, pos_label="spam", average="avg",
                          zero_division=0.0)


def test_check_scores_and_probabilities():
    yt, ys, pos, sw = check_scores([0, 1, 1], np.array([[0.1], [0.8], [0.4]], np.float32))
    assert pos == 1 and ys.dtype == np.float32 and ys.shape == (3,) and sw is None
    with _raises(ValueError, "y_score holds strings (e.g. 'ham');", "Did you pass y_pred"):
        check_scores(["ham", "spam"], ["ham", "spam"], pos_label="spam")
    with _raises(ValueError, "pos_label='eggs' is not one of the labels in y_true",
                 "['ham', 'spam']"):
        check_scores(["ham", "spam"], [0.1, 0.9], pos_label="eggs")
    positive, yp = check_probabilities(["ham", "spam", "ham"], [0.2, 0.6, 1.0],
                                       pos_label="spam")
    assert positive.tolist() == [False, True, False] and yp.tolist() == [0.2, 0.6, 1.0]
    # no positive sample: still a calibration to measure, as scikit-learn's calibration_curve
    assert check_probabilities([0, 0], [0.1, 0.2])[0].tolist() == [False, False]
    assert check_probabilities(["ham"], [0.3], pos_label="spam")[0].tolist() == [False]
    with _raises(ValueError, "y_true contains no positive sample (no 'spam'; only ['ham'])"):
        check_scores(["ham"], [0.3], pos_label="spam")
    with _raises(ValueError, "y_prob[0] is -0.1; probabilities must lie in [0, 1]"):
        check_probabilities([0, 1], [-0.1, 0.5])


def test_datasets_check_choice_is_check_option_with_a_future_warning():
    with pytest.warns(FutureWarning, match="use llmlab.validation.check_option"):
        datasets.check_choice("split", "test", datasets.DOCS_SPLITS)
    with pytest.warns(FutureWarning), _raises(InvalidParameterError, "split='dev'",
                                              "['train', 'validation', 'test']"):
        datasets.check_choice("split", "dev", datasets.DOCS_SPLITS)


# --------------------------------------------------------------------------------------
# softmax and log_softmax
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_equal_scipys(axis):
    x = np.random.default_rng(0).normal(scale=30, size=(5, 7))
    x[0, 0] = 800.0  # exp overflows without the shift
    np.testing.assert_allclose(_numeric.softmax(x, axis=axis), special.softmax(x, axis=axis),
                               rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(_numeric.log_softmax(x, axis=axis),
                               special.log_softmax(x, axis=axis), rtol=1e-12, atol=1e-12)
    assert _numeric.softmax(x.astype(np.float32)).dtype == np.float64
