"""Intervals, paired tests, calibration and thresholds: checked against exact, hand or
brute-force computations, and the interval's coverage measured on simulated data."""

import math
import time
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

import llmlab
from llmlab import metrics as lm
from llmlab.metrics import (
    choose_threshold,
    confidence_interval,
    contextual_calibration,
    expected_calibration_error,
    mcnemar,
    paired_bootstrap,
    paired_perplexity_difference,
    perplexity_interval,
    report_card,
)

# --------------------------------------------------------------------------------------
# Coverage: the statistical claim itself
# --------------------------------------------------------------------------------------


def _coverage(method, *, rate=0.8, n=200, n_datasets=400, n_resamples=999):
    """Share of simulated datasets whose interval for accuracy covers the true ``rate``."""
    rng = np.random.default_rng(12345)
    hits = 0
    for seed in range(n_datasets):
        y_true = rng.integers(0, 2, size=n)
        correct = rng.random(n) < rate
        y_pred = np.where(correct, y_true, 1 - y_true)
        ci = confidence_interval(lm.accuracy_score, y_true, y_pred, method=method,
                                 n_resamples=n_resamples, random_state=seed)
        hits += ci.low <= rate <= ci.high
    return hits / n_datasets


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_coverage_of_95_percent_interval_is_close_to_nominal(method):
    t0 = time.perf_counter()
    coverage = _coverage(method)
    # 400 datasets: the standard error of a 95 % coverage is about 0.011
    print(f"\ncoverage of the 95 % {method} interval for accuracy (true rate 0.8, n=200, "
          f"400 datasets, 999 resamples): {coverage:.3f} in {time.perf_counter() - t0:.1f} s")
    assert 0.92 <= coverage <= 0.98


def test_bca_agrees_with_scipy():
    rng = np.random.default_rng(3)
    correct = (rng.random(150) < 0.7).astype(int)
    ones = np.ones_like(correct)
    ours = confidence_interval(lm.accuracy_score, ones, correct, method="bca",
                               n_resamples=9999, random_state=0)
    theirs = stats.bootstrap((correct,), np.mean, method="BCa", n_resamples=9999,
                             random_state=1).confidence_interval
    assert ours.low == pytest.approx(theirs.low, abs=0.015)
    assert ours.high == pytest.approx(theirs.high, abs=0.015)


# --------------------------------------------------------------------------------------
# The engine against a hand-written bootstrap, and the vectorised path against the metric
# --------------------------------------------------------------------------------------


def test_percentile_interval_is_the_hand_computed_one():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, size=120)
    y_pred = np.where(rng.random(120) < 0.75, y_true, 1 - y_true)
    ci = confidence_interval(lm.accuracy_score, y_true, y_pred, n_resamples=2000,
                             random_state=7)
    idx = np.random.default_rng(7).integers(0, 120, size=(2000, 120))
    dist = (y_true[idx] == y_pred[idx]).mean(axis=1)
    low, high = np.quantile(dist, [0.025, 0.975])
    assert (ci.low, ci.high) == (low, high)
    np.testing.assert_array_equal(ci.bootstrap_distribution, dist)
    assert ci.estimate == np.mean(y_true == y_pred)
    assert ci.standard_error == pytest.approx(dist.std(ddof=1))
    assert tuple(ci.confidence_interval) == (ci.low, ci.high)


def _case(seed, n=150):
    rng = np.random.default_rng(seed)
    y_true = rng.choice(["ham", "spam"], size=n, p=[0.7, 0.3])
    flip = rng.random(n) < 0.2
    y_pred = np.where(flip, np.where(y_true == "ham", "spam", "ham"), y_true)
    y_score = np.round(0.5 * (y_true == "spam") * rng.random(n) + 0.6 * rng.random(n), 2)
    return y_true, y_pred, y_score


FAST = [
    (lm.accuracy_score, "pred", {}),
    (lm.precision_score, "pred", {"pos_label": "spam"}),
    (lm.recall_score, "pred", {"pos_label": "spam", "zero_division": 0.0}),
    (lm.f1_score, "pred", {"pos_label": "spam"}),
    (skm.f1_score, "pred", {"pos_label": "spam", "zero_division": np.nan}),
    (lm.balanced_accuracy_score, "pred", {}),
    (lm.matthews_corrcoef, "pred", {}),
    (skm.roc_auc_score, "score", {}),
    (skm.average_precision_score, "score", {"pos_label": "spam"}),
]


@pytest.mark.parametrize("metric, kind, kwargs", FAST,
                         ids=[f"{m.__module__.split('.')[0]}.{m.__name__}" for m, _, _ in FAST])
@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_vectorised_metrics_equal_calling_the_metric(metric, kind, kwargs, method):
    y_true, y_pred, y_score = _case(1)
    y = y_pred if kind == "pred" else y_score

    def wrapped(a, b, **kw):  # not recognised: called once per resample
        return metric(a, b, **kw)

    fast = confidence_interval(metric, y_true, y, n_resamples=300, method=method,
                               random_state=2, **kwargs)
    slow = confidence_interval(wrapped, y_true, y, n_resamples=300, method=method,
                               random_state=2, **kwargs)
    assert fast.estimate == pytest.approx(metric(y_true, y, **kwargs))
    np.testing.assert_allclose(fast.bootstrap_distribution, slow.bootstrap_distribution,
                               rtol=1e-12, atol=1e-12)
    assert fast.low == pytest.approx(slow.low, abs=1e-12)
    assert fast.high == pytest.approx(slow.high, abs=1e-12)


def test_reproducible_with_a_seed():
    y_true, y_pred, _ = _case(4)
    a = confidence_interval(lm.f1_score, y_true, y_pred, pos_label="spam", random_state=3)
    b = confidence_interval(lm.f1_score, y_true, y_pred, pos_label="spam", random_state=3)
    c = confidence_interval(lm.f1_score, y_true, y_pred, pos_label="spam", random_state=4)
    assert (a.low, a.high) == (b.low, b.high)
    np.testing.assert_array_equal(a.bootstrap_distribution, b.bootstrap_distribution)
    assert not np.array_equal(a.bootstrap_distribution, c.bootstrap_distribution)
    g = confidence_interval(lm.f1_score, y_true, y_pred, pos_label="spam",
                            random_state=np.random.default_rng(3))
    assert (g.low, g.high) == (a.low, a.high)


def test_undefined_resamples_are_left_out_with_a_warning():
    y_true = [0] * 19 + [1]
    y_score = np.linspace(0, 1, 20)
    with pytest.warns(RuntimeWarning, match="undefined"):
        ci = confidence_interval(skm.roc_auc_score, y_true, y_score, n_resamples=500,
                                 random_state=0)
    assert 0 < ci.n_undefined < 500
    assert np.isnan(ci.bootstrap_distribution).sum() == ci.n_undefined
    assert ci.low == pytest.approx(1.0) and ci.high == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"confidence_level": 95}, r"confidence_level=95 must be a number strictly between 0 "
                                   r"and 1"),
        ({"confidence_level": 1.0}, "confidence_level=1.0"),
        ({"n_resamples": 0}, "n_resamples=0 must be a positive integer"),
        ({"n_resamples": 10.5}, "n_resamples=10.5"),
        ({"method": "BCa"}, r"method='BCa' is not supported; choose one of \['percentile', "
                            r"'bca'\]"),
        ({"random_state": "seed"}, "random_state='seed' is not supported"),
        ({"random_state": -1}, "random_state=-1"),
        ({"sample_weight": [1] * 4}, "sample_weight is not supported"),
        ({"average": None}, "metric returned array"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        confidence_interval(lm.precision_score, [0, 1, 1, 0], [0, 1, 0, 0], **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="len\\(y_true\\)=3 but len\\(y_pred\\)=2"):
        confidence_interval(lm.accuracy_score, [0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="metric='accuracy' is not callable"):
        confidence_interval("accuracy", [0, 1], [0, 1])
    with pytest.raises(ValueError, match="at least 2"):
        confidence_interval(lm.accuracy_score, [1], [1])
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):  # the metric's
        confidence_interval(lm.f1_score, ["ham", "spam"], ["ham", "spam"])


# --------------------------------------------------------------------------------------
# Paired comparisons
# --------------------------------------------------------------------------------------


def _mcnemar_case(b, c, both_right=7, both_wrong=3):
    y_true = np.ones(b + c + both_right + both_wrong, dtype=int)
    a = np.r_[np.ones(b), np.zeros(c), np.ones(both_right), np.zeros(both_wrong)].astype(int)
    bb = np.r_[np.zeros(b), np.ones(c), np.ones(both_right), np.zeros(both_wrong)].astype(int)
    return y_true, a, bb


@pytest.mark.parametrize("b, c", [(8, 5), (0, 7), (10, 10), (1, 0), (30, 12), (0, 0),
                                  (3, 40), (100, 80)])
def test_mcnemar_is_the_exact_binomial_test(b, c):
    res = mcnemar(*_mcnemar_case(b, c))
    assert (res.n_a_only, res.n_b_only, res.statistic) == (b, c, min(b, c))
    expected = 1.0 if b + c == 0 else stats.binomtest(b, b + c, 0.5).pvalue
    assert res.pvalue == pytest.approx(expected, rel=1e-12)


def test_mcnemar_with_string_labels_and_bad_input():
    res = mcnemar(["spam", "ham", "ham"], ["spam", "ham", "spam"], ["ham", "ham", "ham"])
    assert (res.n_a_only, res.n_b_only) == (1, 1)
    with pytest.raises(ValueError, match="different lengths"):
        mcnemar([1, 0, 1], [1, 0], [1, 0, 1])


def test_paired_bootstrap_is_the_hand_computed_one():
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 2, size=200)
    y_a = np.where(rng.random(200) < 0.85, y_true, 1 - y_true)
    y_b = y_a.copy()  # B makes A's errors and 10 more: the errors are shared, as they are
    more = np.flatnonzero(y_a == y_true)[:10]  # between two similar models
    y_b[more] = 1 - y_b[more]
    res = paired_bootstrap(lm.accuracy_score, y_true, y_a, y_b, n_resamples=3000,
                           random_state=11)
    idx = np.random.default_rng(11).integers(0, 200, size=(3000, 200))
    diff = (y_a[idx] == y_true[idx]).mean(1) - (y_b[idx] == y_true[idx]).mean(1)
    assert (res.low, res.high) == tuple(np.quantile(diff, [0.025, 0.975]))
    assert res.estimate == pytest.approx(res.estimate_a - res.estimate_b)
    assert res.estimate_a == np.mean(y_a == y_true)
    # pairing cancels the shared noise: far tighter than the two separate intervals suggest
    sep = [confidence_interval(lm.accuracy_score, y_true, y, random_state=0) for y in (y_a, y_b)]
    assert res.high - res.low < 0.5 * math.hypot(*(s.high - s.low for s in sep))
    assert res.low > 0  # 10 more errors in 200 is real, though the separate intervals overlap
    assert sep[1].high > sep[0].low
    same = paired_bootstrap(lm.accuracy_score, y_true, y_a, y_a, n_resamples=200, random_state=0)
    assert same.low == same.high == same.estimate == 0.0
    swapped = paired_bootstrap(lm.accuracy_score, y_true, y_b, y_a, n_resamples=3000,
                               random_state=11)
    assert (swapped.low, swapped.high) == pytest.approx((-res.high, -res.low))


def _same_result(a, b):
    assert (a.estimate, a.low, a.high, a.standard_error) == (b.estimate, b.low, b.high,
                                                           b.standard_error)
    np.testing.assert_array_equal(a.bootstrap_distribution, b.bootstrap_distribution)


def test_y_pred_names_are_sklearns_and_the_old_keywords_still_work():
    y_true, y_pred, y_score = _case(8)
    kw = {"n_resamples": 300, "random_state": 1, "pos_label": "spam"}
    new = confidence_interval(lm.f1_score, y_true, y_pred=y_pred, **kw)
    _same_result(confidence_interval(lm.f1_score, y_true, y_pred, **kw), new)
    with pytest.warns(FutureWarning, match=r"confidence_interval\(y=\.\.\.\) is deprecated: "
                                           r"the argument is now called y_pred"):
        _same_result(confidence_interval(lm.f1_score, y_true, y=y_pred, **kw), new)
    with pytest.raises(TypeError, match="got y_pred twice"):
        confidence_interval(lm.f1_score, y_true, y_pred, y=y_pred, **kw)

    y_b = np.where(y_score > 0.3, "spam", "ham")
    new = paired_bootstrap(lm.f1_score, y_true, y_pred_a=y_pred, y_pred_b=y_b, **kw)
    positional = paired_bootstrap(lm.f1_score, y_true, y_pred, y_b, **kw)
    _same_result(positional, new)
    assert (positional.estimate_a, positional.estimate_b) == (new.estimate_a, new.estimate_b)
    with pytest.warns(FutureWarning) as caught:
        old = paired_bootstrap(lm.f1_score, y_true, y_a=y_pred, y_b=y_b, **kw)
    assert sorted(str(w.message).split(":")[0] for w in caught) == [
        "paired_bootstrap(y_a=...) is deprecated", "paired_bootstrap(y_b=...) is deprecated"]
    _same_result(old, new)
    assert (old.estimate_a, old.estimate_b) == (new.estimate_a, new.estimate_b)
    with pytest.raises(ValueError, match=r"len\(y_true\)=150 but len\(y_pred_b\)=2"):
        paired_bootstrap(lm.f1_score, y_true, y_pred, y_b[:2], **kw)


def test_paired_bootstrap_on_scores():
    y_true, _, y_score = _case(6, n=300)
    res = paired_bootstrap(skm.roc_auc_score, y_true, y_score, np.zeros(300) + 0.5,
                           n_resamples=500, random_state=0)
    assert res.estimate_b == 0.5
    assert res.low > 0


# --------------------------------------------------------------------------------------
# Perplexity by text
# --------------------------------------------------------------------------------------


SAMPLE_TEXT = ["The quick brown fox jumps over the lazy dog.",
               "Perplexity is the exponential of the mean negative log-likelihood.",
               "Message: win a free prize now\nLabel: spam", "Message: see you at lunch",
               "Return the number of items in a container."]

PPL = SimpleNamespace(per_text_nll=[30.0, 45.0, 20.0, 60.0, 38.0, 51.0],
                      per_text_tokens=[10, 15, 10, 20, 12, 14],
                      per_text_bytes=[40, 50, 45, 70, 44, 52])


@pytest.mark.parametrize("metric", ["perplexity", "bits_per_byte"])
def test_perplexity_interval_resamples_texts(metric):
    ci = perplexity_interval(PPL, metric=metric, n_resamples=1000, random_state=9)
    nll, tok, nb = (np.array(v, float) for v in (PPL.per_text_nll, PPL.per_text_tokens,
                                                  PPL.per_text_bytes))
    idx = np.random.default_rng(9).integers(0, 6, size=(1000, 6))
    if metric == "perplexity":
        dist, est = np.exp(nll[idx].sum(1) / tok[idx].sum(1)), math.exp(nll.sum() / tok.sum())
    else:
        dist = nll[idx].sum(1) / (math.log(2) * nb[idx].sum(1))
        est = nll.sum() / (math.log(2) * nb.sum())
    assert ci.estimate == pytest.approx(est)
    np.testing.assert_allclose(ci.bootstrap_distribution, dist)
    assert (ci.low, ci.high) == pytest.approx(tuple(np.quantile(dist, [0.025, 0.975])))


def test_perplexity_result_records_bytes_per_text(tiny_llama_dir):
    model, tok = llmlab.load_model(tiny_llama_dir), llmlab.load_tokenizer(tiny_llama_dir)
    res = llmlab.perplexity(model, tok, SAMPLE_TEXT)
    assert res.per_text_bytes == [len(t.encode("utf-8")) for t in SAMPLE_TEXT]
    assert sum(res.per_text_bytes) == res.n_bytes
    ci = perplexity_interval(res, n_resamples=500, random_state=0)
    assert ci.estimate == pytest.approx(res.perplexity)
    assert ci.low < res.perplexity < ci.high
    bpb = perplexity_interval(res, metric="bits_per_byte", n_resamples=500, random_state=0)
    assert bpb.estimate == pytest.approx(res.bits_per_byte)
    card = report_card(perplexity=res, n_resamples=500)
    assert (card["perplexity"].low, card["perplexity"].high) == (ci.low, ci.high)
    assert (card["bits_per_byte"].low, card["bits_per_byte"].high) == (bpb.low, bpb.high)


def test_paired_perplexity_difference():
    b = SimpleNamespace(per_text_nll=[v * 1.1 for v in PPL.per_text_nll],
                        per_text_tokens=PPL.per_text_tokens, per_text_bytes=PPL.per_text_bytes)
    d = paired_perplexity_difference(PPL, b, n_resamples=500, random_state=0)
    bpb = perplexity_interval(PPL, metric="bits_per_byte").estimate
    assert d.estimate == pytest.approx(-0.1 * bpb)
    assert d.high < 0  # A is better on every text: the whole interval is below 0
    other = SimpleNamespace(per_text_nll=[1.0] * 5, per_text_tokens=[1] * 5,
                            per_text_bytes=[1] * 5)
    with pytest.raises(ValueError, match="result_a holds 6 texts but result_b holds 5"):
        paired_perplexity_difference(PPL, other)
    shuffled = SimpleNamespace(**{k: v[::-1] for k, v in vars(b).items()})
    with pytest.raises(ValueError, match="text 0 has 40 bytes in result_a but 52"):
        paired_perplexity_difference(PPL, shuffled)
    with pytest.raises(ValueError, match="metric='nll' is not supported"):
        perplexity_interval(PPL, metric="nll")
    with pytest.raises(ValueError, match="no per_text_bytes"):
        perplexity_interval(SimpleNamespace(per_text_nll=[1.0, 2.0], per_text_tokens=[1, 2]),
                            metric="bits_per_byte")


# --------------------------------------------------------------------------------------
# Expected calibration error
# --------------------------------------------------------------------------------------


def test_ece_equals_a_hand_computation():
    y_true = [0, 1, 1, 0, 1]
    y_prob = [0.05, 0.15, 0.62, 0.68, 0.95]
    # bins of width 0.25: {0.05, 0.15}: 1 of 2 positive, mean 0.10 -> |0.5 - 0.1| * 2/5
    # {0.62, 0.68}: 1 of 2, mean 0.65 -> |0.5 - 0.65| * 2/5; {0.95}: 1 of 1 -> 0.05 * 1/5
    hand = 0.4 * 2 / 5 + 0.15 * 2 / 5 + 0.05 / 5
    assert expected_calibration_error(y_true, y_prob, n_bins=4) == pytest.approx(hand)
    assert hand == pytest.approx(0.23)
    # an edge goes to the lower bin, as in scikit-learn's calibration_curve
    assert expected_calibration_error([1, 0], [0.5, 0.5], n_bins=2) == pytest.approx(0.0)
    assert expected_calibration_error(["spam", "ham"], [1.0, 0.0], pos_label="spam") == 0.0
    # no positive sample (one class): every bin's share of positives is 0, so the ECE is the
    # mean probability; scikit-learn's calibration_curve accepts such a y_true too
    assert expected_calibration_error(["ham"] * 3, [0.1, 0.2, 0.6], pos_label="spam",
                                      n_bins=5) == pytest.approx(0.3)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_is_the_count_weighted_gap_of_sklearns_curve(strategy, seed):
    rng = np.random.default_rng(seed)
    y_prob = rng.random(300) ** 2
    y_true = (rng.random(300) < y_prob ** 0.7).astype(int)
    prob_true, prob_pred = calibration_curve(y_true, y_prob, n_bins=8, strategy=strategy)
    bins = lm.calibration.calibration_bins(y_prob, n_bins=8, strategy=strategy)
    counts = np.bincount(bins)
    counts = counts[counts > 0]
    expected = np.sum(counts / 300 * np.abs(prob_true - prob_pred))
    ece = expected_calibration_error(y_true, y_prob, n_bins=8, strategy=strategy)
    assert ece == pytest.approx(expected)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([0, 1], [0.2, 1.2]), {}, r"y_prob\[1\] is 1.2; probabilities must lie in \[0, 1\]"),
        (([0, 1], [0.2, 0.8]), {"strategy": "kmeans"},
         r"strategy='kmeans' is not supported; choose one of \['uniform', 'quantile'\]"),
        (([0, 1], [0.2, 0.8]), {"n_bins": 0}, "n_bins=0 is not supported; expected an int >= 1"),
        ((["ham", "spam"], [0.2, 0.8]), {}, "pos_label is not set; .*pos_label='spam'"),
        ((["ham", "spam"], [0.2, 0.8]), {"pos_label": "eggs"}, "pos_label='eggs' is not one"),
        (([0, 1, 1], [0.2, 0.8]), {}, "different lengths"),
        (([0, 1, 2], [0.2, 0.8, 0.5]), {}, "3 classes"),
        (([0, 1], ["a", "b"]), {}, "y_prob holds strings .*must hold numbers.*instead of y_prob"),
    ],
)
def test_ece_bad_inputs(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        expected_calibration_error(*args, **kwargs)


# --------------------------------------------------------------------------------------
# Contextual calibration
# --------------------------------------------------------------------------------------


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_contextual_calibration_on_a_tiny_model_matches_a_hand_computation(tiny_llama_dir):
    model, tok = llmlab.load_model(tiny_llama_dir), llmlab.load_tokenizer(tiny_llama_dir)
    texts = ["win a free prize now", "see you at lunch", "URGENT: pay the fee",
             "can you send me the doc?"]
    content_free = ["N/A", "[MASK]"]
    raw = llmlab.classify(model, tok, texts)
    cal = llmlab.classify(model, tok, texts, content_free=content_free, threshold=0.4)
    cf = llmlab.classify(model, tok, content_free)
    # by hand: mean content-free label probabilities, divided out, renormalised
    p_cf = _softmax(cf.label_logprobs).mean(axis=0)
    q = _softmax(raw.label_logprobs) / p_cf
    q /= q.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(cal.label_logprobs, raw.label_logprobs, rtol=1e-6)
    np.testing.assert_allclose(cal.content_free_probabilities, p_cf, rtol=1e-5)
    np.testing.assert_allclose(cal.probabilities, q, rtol=1e-5)
    np.testing.assert_allclose(cal.y_score, q[:, 1], rtol=1e-5)
    assert cal.y_pred == ["spam" if s >= 0.4 else "ham" for s in cal.y_score]
    assert cal.content_free == ("N/A", "[MASK]")
    # the default is unchanged: no calibration
    assert raw.content_free == () and raw.content_free_logprobs is None
    np.testing.assert_allclose(raw.y_score, _softmax(raw.label_logprobs)[:, 1])
    # a single content-free input, calibrated by itself, has no preference left
    one = llmlab.classify(model, tok, ["N/A"], content_free="N/A")
    np.testing.assert_allclose(one.probabilities, [[0.5, 0.5]], atol=1e-6)
    probs, _ = contextual_calibration(raw.label_logprobs, cf.label_logprobs)
    np.testing.assert_allclose(probs, q, rtol=1e-9)


@pytest.mark.parametrize("bad", [[], [1, 2], 3])
def test_contextual_calibration_bad_input(tiny_llama_dir, bad):
    model, tok = llmlab.load_model(tiny_llama_dir), llmlab.load_tokenizer(tiny_llama_dir)
    with pytest.raises(ValueError, match="content_free=.* must be None, a string"):
        llmlab.classify(model, tok, ["hello there"], content_free=bad)
    with pytest.raises(ValueError, match="shape"):
        contextual_calibration(np.zeros((3, 2)), np.zeros((1, 3)))


# --------------------------------------------------------------------------------------
# Threshold chosen on validation
# --------------------------------------------------------------------------------------


def _brute_force(y_true, y_score, criterion, cost_fp=1.0, cost_fn=1.0):
    """The criterion at every threshold that splits the scores differently, by sklearn."""
    s = np.unique(y_score)
    candidates = np.r_[s, (s[1:] + s[:-1]) / 2, s[-1] + 1]
    out = []
    for t in candidates:
        pred = (y_score >= t).astype(int)
        if criterion == "f1":
            v = skm.f1_score(y_true, pred, zero_division=0.0)
        elif criterion == "accuracy":
            v = skm.accuracy_score(y_true, pred)
        elif criterion == "balanced_accuracy":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v = skm.balanced_accuracy_score(y_true, pred)
        else:
            tn, fp, fn, tp = skm.confusion_matrix(y_true, pred, labels=[0, 1]).ravel()
            v = (cost_fp * fp + cost_fn * fn) / len(y_true)
        out.append(v)
    return np.array(out)


@pytest.mark.parametrize("criterion, costs", [("f1", (1, 1)), ("accuracy", (1, 1)),
                                              ("balanced_accuracy", (1, 1)), ("cost", (1, 1)),
                                              ("cost", (10, 1)), ("cost", (1, 25))])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_threshold_choice_matches_brute_force(criterion, costs, seed):
    rng = np.random.default_rng(seed)
    y_true = (rng.random(120) < 0.3).astype(int)
    y_score = np.clip(np.round(0.35 * y_true + 0.8 * rng.random(120), 2), 0, 1)
    choice = choose_threshold(y_true, y_score, criterion=criterion, cost_fp=costs[0],
                              cost_fn=costs[1])
    brute = _brute_force(y_true, y_score, criterion, *costs)
    best = brute.min() if criterion == "cost" else brute.max()
    assert choice.value == pytest.approx(best)
    at_choice = _brute_force(y_true, np.where(y_score >= choice.threshold, 1.0, 0.0),
                             criterion, *costs)[1]  # threshold 1 on the 0/1 predictions
    assert at_choice == pytest.approx(choice.value)


def test_threshold_choice_edges_and_errors():
    # nothing should be flagged when a false positive is ruinous and the top score is one
    choice = choose_threshold([0, 1, 0, 1], [0.2, 0.4, 0.8, 0.6], criterion="cost",
                              cost_fp=100, cost_fn=1)
    assert choice.threshold == pytest.approx(0.9) and choice.value == 0.5
    assert choose_threshold([0, 1], [0.0, 1.0], criterion="cost", cost_fp=100).threshold == 0.5
    with pytest.raises(ValueError, match=r"criterion='auc' is not supported; choose one of "
                                         r"\['f1', 'balanced_accuracy', 'accuracy', 'cost'\]"):
        choose_threshold([0, 1], [0.2, 0.8], criterion="auc")
    with pytest.raises(ValueError,
                       match="cost_fp=-1 is not supported; expected a finite number >= 0"):
        choose_threshold([0, 1], [0.2, 0.8], criterion="cost", cost_fp=-1)
    with pytest.raises(ValueError, match="pos_label"):
        choose_threshold(["ham", "spam"], [0.2, 0.8])


# --------------------------------------------------------------------------------------
# The report card's intervals and verdicts
# --------------------------------------------------------------------------------------


def test_card_intervals_are_the_metrics_intervals():
    y_true, y_pred, y_score = _case(8, n=300)
    card = report_card(y_true, y_pred, pos_label="spam", y_score=y_score, n_resamples=2000,
                       random_state=5)
    for metric, func, y, kw in [
        ("accuracy", lm.accuracy_score, y_pred, {}),
        ("f1", lm.f1_score, y_pred, {"pos_label": "spam", "zero_division": np.nan}),
        ("mcc", lm.matthews_corrcoef, y_pred, {}),
        ("roc_auc", skm.roc_auc_score, y_score, {}),
        ("average_precision", skm.average_precision_score, y_score, {"pos_label": "spam"}),
    ]:
        ci = confidence_interval(func, y_true, y, n_resamples=2000, random_state=5, **kw)
        assert card[metric].value == pytest.approx(ci.estimate), metric
        assert (card[metric].low, card[metric].high) == pytest.approx((ci.low, ci.high)), metric
    assert card["roc_auc"].verdict == "above chance"
    assert str(card) == str(report_card(y_true, y_pred, pos_label="spam", y_score=y_score,
                                        n_resamples=2000, random_state=5))
    assert "95 % interval" in str(card) and "random_state=5" in str(card)


def test_card_says_when_scores_are_no_better_than_chance():
    rng = np.random.default_rng(0)
    y_true = rng.choice(["ham", "spam"], size=200)
    y_pred = ["spam"] * 200  # labels everything spam, as a zero-shot instruct model did
    card = report_card(y_true, y_pred, pos_label="spam", y_score=rng.random(200))
    assert card["roc_auc"].low < 0.5 < card["roc_auc"].high
    assert card["roc_auc"].verdict == "chance"
    assert card["balanced_accuracy"].verdict == "chance"
    flag = [f for f in card.flags if f.startswith("not distinguishable from chance")]
    assert flag and "ROC AUC" in flag[0] and "balanced accuracy" in flag[0]
    assert "not distinguishable from chance" in str(card)
    # scores only, no labels predicted
    only = report_card(y_true, y_score=rng.random(200), pos_label="spam")
    assert only.metrics == ["baseline_accuracy", "positive_rate", "roc_auc",
                            "average_precision"]


def test_card_verdict_uses_the_interval():
    y_true = ["ham"] * 50 + ["spam"] * 50
    y_pred = y_true[:]
    for i in range(0, 100, 10):  # 90 % right
        y_pred[i] = "spam" if y_pred[i] == "ham" else "ham"
    card = report_card(y_true, y_pred, pos_label="spam")
    assert card["accuracy"].value == 0.9
    assert card["accuracy"].low < 0.85 < card["accuracy"].high
    assert card["accuracy"].verdict == "undecided"
    point = report_card(y_true, y_pred, pos_label="spam", confidence_level=None)
    assert point["accuracy"].verdict == "good" and point["accuracy"].low is None
    assert "interval" not in point.to_text()
    many = report_card(y_true * 20, y_pred * 20, pos_label="spam")
    assert many["accuracy"].verdict == "good"
    with pytest.raises(ValueError, match="confidence_level=2"):
        report_card(y_true, y_pred, pos_label="spam", confidence_level=2)


def test_bca_at_the_edge_falls_back_to_percentile():
    y = [1] * 30
    ci = confidence_interval(lm.accuracy_score, y, y, method="bca", n_resamples=200)
    assert ci.low == ci.high == 1.0
    y_pred = [1] * 29 + [0]  # the estimate 29/30 is not at the edge: BCa is defined
    ci = confidence_interval(lm.accuracy_score, y, y_pred, method="bca", n_resamples=500,
                             random_state=0)
    assert ci.low < 29 / 30 <= ci.high


# --------------------------------------------------------------------------------------
# Grouped (cluster) bootstrap
# --------------------------------------------------------------------------------------


def _clustered_case(seed, n_groups=30):
    """Questions from documents: every question of a document shares its difficulty."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, size=n_groups)
    groups = np.repeat([f"doc{g:02d}" for g in range(n_groups)], sizes)
    p_doc = rng.beta(1, 1, size=n_groups)                      # document difficulty
    p = np.repeat(p_doc, sizes)
    y_true = rng.integers(0, 2, size=groups.size)
    right_a = rng.random(groups.size) < p
    right_b = rng.random(groups.size) < np.clip(p - 0.1, 0, 1)
    y_a = np.where(right_a, y_true, 1 - y_true)
    y_b = np.where(right_b, y_true, 1 - y_true)
    score = np.where(y_true == 1, p, 1 - p) + rng.normal(0, 0.3, groups.size)
    order = rng.permutation(groups.size)                       # groups need not be contiguous
    return groups[order], y_true[order], y_a[order], y_b[order], score[order]


def _reference_grouped(metric, groups, y_true, preds, *, n_resamples, seed, level=0.95):
    """A float64 loop: the same generator draws, groups in sorted label order."""
    labels = np.unique(groups)
    members = [np.flatnonzero(groups == g) for g in labels]
    draws = np.random.default_rng(seed).integers(0, labels.size,
                                                 size=(n_resamples, labels.size))
    dist = []
    for row in draws:
        sel = np.concatenate([members[g] for g in row])
        values = [float(metric(y_true[sel], p[sel])) for p in preds]
        dist.append(values[0] - values[1] if len(values) == 2 else values[0])
    dist = np.array(dist, dtype=np.float64)
    alpha = (1 - level) / 2
    return np.quantile(dist, [alpha, 1 - alpha]), dist


@pytest.mark.parametrize("metric, kind", [
    (skm.accuracy_score, "labels"), (skm.f1_score, "labels"),
    (skm.roc_auc_score, "scores"), (lambda t, p: float(np.mean(t == p) ** 2), "labels"),
])
def test_grouped_interval_equals_a_reference_loop(metric, kind):
    groups, y_true, y_a, _, score = _clustered_case(1)
    y = score if kind == "scores" else y_a
    (low, high), dist = _reference_grouped(metric, groups, y_true, [y], n_resamples=400,
                                           seed=5)
    res = confidence_interval(metric, y_true, y, groups=groups, n_resamples=400,
                              random_state=5)
    np.testing.assert_allclose(res.bootstrap_distribution, dist, rtol=1e-12, atol=1e-12)
    assert res.low == pytest.approx(low, abs=1e-12)
    assert res.high == pytest.approx(high, abs=1e-12)
    assert res.estimate == pytest.approx(metric(y_true, y))


def test_grouped_paired_bootstrap_equals_a_reference_loop():
    groups, y_true, y_a, y_b, _ = _clustered_case(2)
    (low, high), dist = _reference_grouped(skm.accuracy_score, groups, y_true, [y_a, y_b],
                                           n_resamples=500, seed=3)
    res = paired_bootstrap(skm.accuracy_score, y_true, y_a, y_b, groups=list(groups),
                           n_resamples=500, random_state=3)
    np.testing.assert_allclose(res.bootstrap_distribution, dist, rtol=0, atol=1e-12)
    assert (res.low, res.high) == pytest.approx((low, high), abs=1e-12)
    assert res.standard_error == pytest.approx(dist.std(ddof=1), rel=1e-9)


def test_grouped_bca_uses_a_leave_one_group_out_jackknife():
    groups, y_true, y_a, _, _ = _clustered_case(3)
    res = confidence_interval(skm.accuracy_score, y_true, y_a, groups=groups,
                              n_resamples=999, random_state=0, method="bca")
    # Efron's formulas written out, jackknife over the groups
    _, dist = _reference_grouped(skm.accuracy_score, groups, y_true, [y_a], n_resamples=999,
                                 seed=0)
    est = skm.accuracy_score(y_true, y_a)
    jack = np.array([skm.accuracy_score(y_true[groups != g], y_a[groups != g])
                     for g in np.unique(groups)])
    z0 = stats.norm.ppf(np.mean(dist < est))
    d = jack.mean() - jack
    a = np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)
    z = stats.norm.ppf([0.025, 0.975])
    levels = stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
    assert (res.low, res.high) == pytest.approx(tuple(np.quantile(dist, levels)), abs=1e-12)


def test_one_sample_per_group_is_the_ungrouped_bootstrap():
    _, y_true, y_a, y_b, _ = _clustered_case(4)
    n = y_true.size
    plain = confidence_interval(skm.accuracy_score, y_true, y_a, n_resamples=999,
                                random_state=7)
    per_sample = confidence_interval(skm.accuracy_score, y_true, y_a, groups=np.arange(n),
                                     n_resamples=999, random_state=7)
    assert np.array_equal(plain.bootstrap_distribution, per_sample.bootstrap_distribution)
    pa = paired_bootstrap(skm.accuracy_score, y_true, y_a, y_b, n_resamples=999,
                          random_state=7)
    pg = paired_bootstrap(skm.accuracy_score, y_true, y_a, y_b, groups=np.arange(n),
                          n_resamples=999, random_state=7)
    assert (pa.low, pa.high) == (pg.low, pg.high)


def test_groups_none_is_bit_identical_to_the_ungrouped_draws():
    _, y_true, y_a, y_b, _ = _clustered_case(5)
    n, b = y_true.size, 300
    idx = np.random.default_rng(11).integers(0, n, size=(b, n))
    ref = np.array([skm.accuracy_score(y_true[r], y_a[r]) - skm.accuracy_score(y_true[r], y_b[r])
                    for r in idx])
    for kw in ({}, {"groups": None}):
        res = paired_bootstrap(skm.accuracy_score, y_true, y_a, y_b, n_resamples=b,
                               random_state=11, **kw)
        assert np.array_equal(res.bootstrap_distribution, ref)
        alpha = (1 - 0.95) / 2
        assert (res.low, res.high) == tuple(float(q) for q in np.quantile(ref, [alpha, 1 - alpha]))


def test_grouped_interval_is_wider_on_clustered_data():
    # 40 documents of 5 questions; a document's questions are all right or all wrong
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), 5)
    y_true = np.ones(groups.size, dtype=int)
    y_pred = np.repeat((rng.random(40) < 0.6).astype(int), 5)
    naive = confidence_interval(skm.accuracy_score, y_true, y_pred, random_state=0)
    grouped = confidence_interval(skm.accuracy_score, y_true, y_pred, groups=groups,
                                  random_state=0)
    # perfectly clustered: the effective sample is 40 documents, not 200 questions
    assert grouped.standard_error / naive.standard_error == pytest.approx(np.sqrt(5), rel=0.1)
    assert grouped.high - grouped.low > 1.8 * (naive.high - naive.low)


@pytest.mark.parametrize("groups, match", [
    (np.arange(5), "groups has 5 labels but y_true has 6 samples"),
    (["a"] * 6, "1 distinct group"),
    (np.zeros((6, 1)), "one-dimensional"),
])
def test_bad_groups(groups, match):
    y = [0, 1, 1, 0, 1, 0]
    with pytest.raises(ValueError, match=match):
        confidence_interval(skm.accuracy_score, y, y, groups=groups)
    with pytest.raises(ValueError, match=match):
        paired_bootstrap(skm.accuracy_score, y, y, y, groups=groups)
