"""How sure are we? Bootstrap intervals, paired comparisons and McNemar's test.

Every metric measured on a test set is an estimate from a sample. The functions here say how
far it could move on another sample of the same size:

* :func:`confidence_interval` - a bootstrap interval for any metric of ``(y_true, y_pred)``
  or ``(y_true, y_score)``;
* :func:`perplexity_interval` - the same for perplexity or bits per byte, resampling texts;
* :func:`paired_bootstrap` and :func:`paired_perplexity_difference` - the difference between
  two models evaluated on the *same* samples, resampled together (paired);
* :func:`mcnemar` - McNemar's exact test: do two classifiers make different numbers of errors
  on the same samples?

Intervals are computed by resampling the samples with replacement ``n_resamples`` times
(vectorised for the usual metrics, see :mod:`llmlab.resampling`), and are reproducible
with ``random_state``. Results follow scipy's ``bootstrap``: ``.low``, ``.high`` (also as
``.confidence_interval``), ``.standard_error`` and ``.bootstrap_distribution``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as _stats
from sklearn import metrics as _skm

from llmlab import resampling as _bs
from llmlab.metrics import classification as _cls
from llmlab.validation import check_1d, check_option, check_targets, renamed_keywords

__all__ = [
    "BootstrapResult",
    "ConfidenceInterval",
    "McNemarResult",
    "PairedBootstrapResult",
    "confidence_interval",
    "mcnemar",
    "paired_bootstrap",
    "paired_perplexity_difference",
    "perplexity_interval",
]

_LABEL_METRICS = ("accuracy_score", "precision_score", "recall_score", "f1_score",
                  "balanced_accuracy_score", "matthews_corrcoef")
_SCORE_METRICS = ("roc_auc_score", "average_precision_score")
_PPL_METRICS = ("perplexity", "bits_per_byte")


@dataclass(frozen=True)
class ConfidenceInterval:
    """An interval ``[low, high]``, as scipy's ``bootstrap`` gives it."""

    low: float
    high: float

    def __iter__(self):
        return iter((self.low, self.high))


@dataclass(frozen=True)
class BootstrapResult:
    """A bootstrap confidence interval.

    Attributes
    ----------
    estimate : float
        The metric on the original samples (the point estimate).
    low, high : float
        The interval's bounds (NaN where the metric is undefined).
    confidence_level : float
    method : {"percentile", "bca"}
    n_resamples : int
    standard_error : float
        Standard deviation of the bootstrap distribution.
    bootstrap_distribution : ndarray of shape (n_resamples,)
        The metric on each resample (NaN where undefined on that resample).
    n_undefined : int
        Resamples on which the metric was undefined; they are left out of the interval.
    """

    estimate: float
    low: float
    high: float
    confidence_level: float
    method: str
    n_resamples: int
    standard_error: float
    bootstrap_distribution: np.ndarray = field(repr=False)
    n_undefined: int = 0

    @property
    def confidence_interval(self) -> ConfidenceInterval:
        """``(low, high)`` as an object with ``.low`` and ``.high``."""
        return ConfidenceInterval(self.low, self.high)

    def contains(self, value) -> bool:
        """True when ``low <= value <= high``."""
        return bool(self.low <= value <= self.high)

    def __str__(self) -> str:
        return (f"{self.estimate:.4g} ({100 * self.confidence_level:g} % interval "
                f"[{self.low:.4g}, {self.high:.4g}], {self.method})")


@dataclass(frozen=True)
class PairedBootstrapResult(BootstrapResult):
    """A bootstrap interval for ``metric(a) - metric(b)`` on the same samples.

    Adds ``estimate_a`` and ``estimate_b`` (the metric of each model) to
    :class:`BootstrapResult`; ``estimate`` is their difference. An interval that excludes 0
    says the difference is unlikely to be sampling noise at that confidence level.
    """

    estimate_a: float = float("nan")
    estimate_b: float = float("nan")


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's exact test (see :func:`mcnemar`).

    Attributes
    ----------
    statistic : int
        ``min(n_a_only, n_b_only)``, the smaller discordant count (as statsmodels reports it).
    pvalue : float
        Two-sided exact binomial p-value.
    n_a_only : int
        Samples that model A gets right and model B gets wrong.
    n_b_only : int
        Samples that model B gets right and model A gets wrong.
    """

    statistic: int
    pvalue: float
    n_a_only: int
    n_b_only: int


# --------------------------------------------------------------------------------------
# Kernels for one metric on one pair (y_true, y_pred)
# --------------------------------------------------------------------------------------


def _known_name(metric):
    """The scikit-learn name of ``metric`` when it is one llmlab vectorises, else None."""
    for name in _LABEL_METRICS + _SCORE_METRICS:
        if metric is getattr(_skm, name, None) or metric is getattr(_cls, name, None):
            return name
    return None


def _fast_kernel(name, yt, y, kwargs):
    if name in _LABEL_METRICS:
        allowed = {"precision_score": {"pos_label", "zero_division", "average"},
                   "recall_score": {"pos_label", "zero_division", "average"},
                   "f1_score": {"pos_label", "zero_division", "average"}}.get(name, set())
        if set(kwargs) - allowed or kwargs.get("average", "binary") != "binary":
            return None
        if y.dtype.kind == "f":
            return None
        yt_c, yp_c, *_ = check_targets(yt, y)
        return _bs.label_kernel(name, yt_c, yp_c, pos_label=kwargs.get("pos_label", 1),
                                zero_division=kwargs.get("zero_division", "warn"))
    if set(kwargs) - {"pos_label"} or y.dtype.kind not in "biuf":
        return None
    classes = np.unique(yt)
    if classes.size != 2:
        return None
    if name == "roc_auc_score":
        if kwargs:
            return None
        positive = yt == classes[1]
    else:
        positive = yt == kwargs.get("pos_label", 1)
    return _bs.score_kernel(name, positive, y.astype(float))


def _kernel(metric, y_true, y, kwargs, *, who="y_pred"):
    """Validate one (y_true, y_pred) pair and return ``(kernel, n)``."""
    if not callable(metric):
        raise ValueError(
            f"metric={metric!r} is not callable; pass a function of (y_true, y_pred) or "
            f"(y_true, y_score), e.g. llmlab.metrics.accuracy_score."
        )
    if "sample_weight" in kwargs:
        raise ValueError("sample_weight is not supported: a bootstrap resamples the samples "
                         "themselves; repeat or drop samples instead of weighting them.")
    yt, yy = check_1d(y_true, "y_true"), check_1d(y, who)
    if yt.shape[0] != yy.shape[0]:
        raise ValueError(
            f"y_true and {who} have different lengths: len(y_true)={yt.shape[0]} but "
            f"len({who})={yy.shape[0]}. They must hold one value per sample, in the same order."
        )
    if yt.shape[0] < 2:
        raise ValueError(f"y_true has {yt.shape[0]} sample(s); a bootstrap needs at least 2.")
    point = metric(yt, yy, **kwargs)  # the metric's own checks and messages come first
    if isinstance(point, (bool, np.bool_)) or np.ndim(point) != 0:
        raise ValueError(
            f"metric returned {point!r}; confidence_interval needs a function that returns "
            f"one number (for per-class metrics pass average='macro' or similar)."
        )
    point = float(point)
    name = _known_name(metric)
    kernel = _fast_kernel(name, yt, yy, kwargs) if name else None
    if kernel is not None and not (
        math.isclose(kernel.point, point, rel_tol=1e-9, abs_tol=1e-12)
        or (math.isnan(kernel.point) and math.isnan(point))
    ):
        kernel = None  # a case the vectorised kernel does not mirror: use the metric itself
    if kernel is None:
        kernel = _bs.GenericKernel(metric, yt, yy, kwargs, point)
    return kernel, yt.shape[0]


# --------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------


@renamed_keywords(y="y_pred")
def confidence_interval(
    metric,
    y_true,
    y_pred,
    *,
    confidence_level=0.95,
    n_resamples=9999,
    method="percentile",
    random_state=None,
    groups=None,
    **metric_kwargs,
):
    """Bootstrap confidence interval of ``metric(y_true, y_pred, **metric_kwargs)``.

    The samples (pairs ``(y_true[i], y_pred[i])``) are drawn with replacement ``n_resamples``
    times; the metric is computed on each resample, and the interval is read off that
    distribution.

    Parameters
    ----------
    metric : callable
        ``metric(y_true, y_pred, **metric_kwargs) -> float``, e.g.
        :func:`llmlab.metrics.accuracy_score`, :func:`llmlab.metrics.f1_score` (labels) or
        :func:`sklearn.metrics.roc_auc_score` (scores). Accuracy, precision, recall, F1,
        balanced accuracy, MCC, ROC AUC and average precision are vectorised; any other
        metric is called once per resample (slower, same answer).
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels or scores (``y_score``), whatever ``metric`` takes as its second
        argument. Called ``y`` before; ``y=`` still works, with a ``FutureWarning``, for one
        release.
    confidence_level : float, default=0.95
        Probability that the interval covers the true value (in repeated sampling).
    n_resamples : int, default=9999
        Number of bootstrap resamples.
    method : {"percentile", "bca"}, default="percentile"
        ``"percentile"`` takes the quantiles of the bootstrap distribution; ``"bca"``
        corrects them for bias and skew (Efron's bias-corrected and accelerated interval;
        it needs the ``n`` leave-one-out values too).
    random_state : None, int or numpy.random.Generator, default=None
        Seed of the resampling; an int gives the same interval every time.
    groups : array-like of shape (n_samples,), default=None
        A group label per sample (e.g. the document a question came from). Given, each
        resample draws whole groups with replacement (a cluster bootstrap) instead of single
        samples, and BCa leaves out one group at a time. Use it when samples of one group
        share something (a text, an author, a prompt): they are not independent, and the
        ungrouped interval is then too narrow. Needs at least 2 groups.
    **metric_kwargs
        Passed to ``metric``, e.g. ``pos_label="spam"``.

    Returns
    -------
    BootstrapResult
        ``.estimate`` (the metric on the original data), ``.low``, ``.high``,
        ``.standard_error``, ``.bootstrap_distribution``.

    Raises
    ------
    ValueError
        For inputs of different lengths, fewer than 2 samples, a ``confidence_level``
        outside (0, 1), a non-positive ``n_resamples``, an unknown ``method``, a bad
        ``random_state``, ``groups`` of another length or with fewer than 2 groups,
        ``sample_weight`` in ``metric_kwargs``, or any input the metric itself refuses.

    Notes
    -----
    The bootstrap assumes the samples (or, with ``groups``, the groups) are independent
    draws from the population you care about. Resamples on which the metric is undefined (a precision with nothing predicted
    positive and ``zero_division=np.nan``, a ROC AUC with one class) are left out, with a
    ``RuntimeWarning``; ``.n_undefined`` counts them.

    Examples
    --------
    >>> from llmlab.metrics import accuracy_score, confidence_interval
    >>> y_true = ["spam"] * 40 + ["ham"] * 60
    >>> y_pred = ["spam"] * 30 + ["ham"] * 10 + ["ham"] * 55 + ["spam"] * 5
    >>> ci = confidence_interval(accuracy_score, y_true, y_pred, random_state=0)
    >>> ci.estimate
    0.85
    >>> round(ci.low, 2), round(ci.high, 2)
    (0.78, 0.92)
    >>> ci.contains(0.9)
    True
    """
    rng = _bs.check_bootstrap_options(confidence_level, n_resamples, method, random_state)
    kernel, n = _kernel(metric, y_true, y_pred, metric_kwargs)
    grouped = None if groups is None else _bs.check_groups(groups, n)
    est, low, high, se, dist, n_undef = _bs.bootstrap(
        [kernel], n, confidence_level=confidence_level, n_resamples=n_resamples,
        method=method, rng=rng, groups=grouped,
    )
    return BootstrapResult(est, low, high, float(confidence_level), method, int(n_resamples),
                           se, dist, n_undef)


@renamed_keywords(y_a="y_pred_a", y_b="y_pred_b")
def paired_bootstrap(
    metric,
    y_true,
    y_pred_a,
    y_pred_b,
    *,
    confidence_level=0.95,
    n_resamples=9999,
    method="percentile",
    random_state=None,
    groups=None,
    **metric_kwargs,
):
    """Bootstrap interval of ``metric(y_true, y_pred_a) - metric(y_true, y_pred_b)``, paired.

    Both models were evaluated on the same samples, so each resample draws the same samples
    for both: the difference is measured sample by sample, and the noise that the two share
    (hard and easy samples) cancels. This is far tighter than comparing two separate
    intervals.

    Parameters
    ----------
    metric : callable
        As in :func:`confidence_interval`.
    y_true : array-like of shape (n_samples,)
    y_pred_a, y_pred_b : array-like of shape (n_samples,)
        Predictions (or scores) of model A and model B on the same samples, in the same order
        (as in :func:`mcnemar`). Called ``y_a`` and ``y_b`` before; those keywords still work,
        with a ``FutureWarning``, for one release.
    confidence_level, n_resamples, method, random_state, groups, **metric_kwargs
        As in :func:`confidence_interval`; with ``groups`` both models see the same resampled
        groups.

    Returns
    -------
    PairedBootstrapResult
        ``.estimate`` is A minus B; ``.estimate_a``, ``.estimate_b``; ``.low``, ``.high``.
        If the interval excludes 0 (``not result.contains(0)``), the difference is unlikely
        to be noise at this confidence level.

    See Also
    --------
    mcnemar : An exact test on the samples where exactly one model is right.

    Examples
    --------
    >>> from llmlab.metrics import accuracy_score, paired_bootstrap
    >>> y_true = [1, 0] * 50
    >>> y_pred_a = y_true[:90] + [1 - y for y in y_true[90:]]          # 10 errors
    >>> y_pred_b = y_true[:80] + [1 - y for y in y_true[80:]]          # 20 errors
    >>> res = paired_bootstrap(accuracy_score, y_true, y_pred_a, y_pred_b, random_state=0)
    >>> round(res.estimate_a, 2), round(res.estimate_b, 2), round(res.estimate, 2)
    (0.9, 0.8, 0.1)
    >>> round(res.low, 2), round(res.high, 2), res.contains(0)
    (0.05, 0.16, False)
    """
    rng = _bs.check_bootstrap_options(confidence_level, n_resamples, method, random_state)
    ka, n = _kernel(metric, y_true, y_pred_a, metric_kwargs, who="y_pred_a")
    kb, _ = _kernel(metric, y_true, y_pred_b, metric_kwargs, who="y_pred_b")
    grouped = None if groups is None else _bs.check_groups(groups, n)
    est, low, high, se, dist, n_undef = _bs.bootstrap(
        [ka, kb], n, confidence_level=confidence_level, n_resamples=n_resamples,
        method=method, rng=rng, combine=lambda a, b: a - b, groups=grouped,
    )
    return PairedBootstrapResult(est, low, high, float(confidence_level), method,
                                 int(n_resamples), se, dist, n_undef,
                                 estimate_a=float(ka.point), estimate_b=float(kb.point))


def mcnemar(y_true, y_pred_a, y_pred_b):
    """McNemar's exact test: do classifiers A and B err on the same samples equally often?

    Only the *discordant* samples count: ``n_a_only`` where A is right and B wrong,
    ``n_b_only`` where B is right and A wrong. If the two were equally good, each discordant
    sample would go either way with probability 1/2, so ``n_a_only`` follows a binomial
    ``Binomial(n_a_only + n_b_only, 1/2)``; the p-value is the two-sided exact binomial
    test of that (``scipy.stats.binomtest``). With no discordant sample the p-value is 1.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred_a, y_pred_b : array-like of shape (n_samples,)
        Predicted labels of the two classifiers on the same samples, in the same order.

    Returns
    -------
    McNemarResult
        ``.statistic`` (``min(n_a_only, n_b_only)``), ``.pvalue``, ``.n_a_only``,
        ``.n_b_only``.

    Raises
    ------
    ValueError
        For inputs of different lengths or kinds (checked as by the label metrics).

    Examples
    --------
    >>> from llmlab.metrics import mcnemar
    >>> y_true = [1] * 30
    >>> y_a = [1] * 25 + [0] * 5        # A wrong on the last 5
    >>> y_b = [0] * 8 + [1] * 17 + [1] * 5  # B wrong on the first 8
    >>> res = mcnemar(y_true, y_a, y_b)
    >>> res.n_a_only, res.n_b_only, res.statistic, round(res.pvalue, 3)
    (8, 5, 5, 0.581)
    """
    yt, ya, *_ = check_targets(y_true, y_pred_a)
    yt_b, yb, *_ = check_targets(y_true, y_pred_b)
    right_a, right_b = ya == yt, yb == yt_b
    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    if b + c == 0:
        pvalue = 1.0
    else:
        pvalue = float(min(1.0, 2 * _stats.binom.cdf(min(b, c), b + c, 0.5)))
    return McNemarResult(statistic=min(b, c), pvalue=pvalue, n_a_only=b, n_b_only=c)


# --------------------------------------------------------------------------------------
# Perplexity by text
# --------------------------------------------------------------------------------------


def _ppl_arrays(result, name):
    """``(nll, tokens, bytes or None)`` per text from a PerplexityResult-like object."""
    nll = getattr(result, "per_text_nll", None)
    tokens = getattr(result, "per_text_tokens", None)
    if nll is None or tokens is None or len(nll) == 0:
        raise ValueError(
            f"{name}={result!r} has no per-text NLL and token counts; pass the result of "
            f"llmlab.perplexity (it records per_text_nll and per_text_tokens)."
        )
    nll = np.asarray(nll, dtype=float)
    tokens = np.asarray(tokens, dtype=float)
    nbytes = getattr(result, "per_text_bytes", None)
    nbytes = None if nbytes is None or len(nbytes) == 0 else np.asarray(nbytes, dtype=float)
    if nll.shape != tokens.shape or (nbytes is not None and nbytes.shape != nll.shape):
        raise ValueError(f"{name} has per-text lists of different lengths.")
    return nll, tokens, nbytes


def _ppl_kernel(result, metric, name):
    nll, tokens, nbytes = _ppl_arrays(result, name)
    if nll.shape[0] < 2:
        raise ValueError(f"{name} holds {nll.shape[0]} text(s); resampling texts needs >= 2.")
    if metric == "perplexity":
        return _bs.ratio_kernel(nll, tokens, np.exp)
    if nbytes is None:
        raise ValueError(
            f"{name} has no per_text_bytes, which bits per byte needs; re-run llmlab.perplexity "
            f"(it records them), or use metric='perplexity'."
        )
    return _bs.ratio_kernel(nll, nbytes, lambda x: x / math.log(2))


def perplexity_interval(
    result,
    *,
    metric="perplexity",
    confidence_level=0.95,
    n_resamples=9999,
    method="percentile",
    random_state=None,
):
    """Bootstrap interval of a corpus perplexity or bits per byte, resampling **texts**.

    Each resample draws texts with replacement and recomputes the corpus figure from their
    summed NLL and token (or byte) counts, exactly as :func:`llmlab.perplexity` does.

    Why texts and not tokens: the tokens of one text are not independent draws. A text about
    one topic, in one style, is easy or hard as a whole, so its tokens' losses move together;
    resampling tokens would treat thousands of correlated numbers as independent and give an
    interval far too narrow (the ``nll_stderr`` of a :class:`~llmlab.perplexity.PerplexityResult`
    has that flaw, which its docstring states). Texts are the units that were sampled, so they
    are what a bootstrap must resample.

    Parameters
    ----------
    result : PerplexityResult
        From :func:`llmlab.perplexity` (uses ``per_text_nll``, ``per_text_tokens`` and, for
        bits per byte, ``per_text_bytes``).
    metric : {"perplexity", "bits_per_byte"}, default="perplexity"
    confidence_level, n_resamples, method, random_state
        As in :func:`confidence_interval`.

    Returns
    -------
    BootstrapResult

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from llmlab.metrics import perplexity_interval
    >>> res = SimpleNamespace(per_text_nll=[30.0, 45.0, 20.0, 60.0, 38.0],
    ...                       per_text_tokens=[10, 15, 10, 20, 12],
    ...                       per_text_bytes=[40, 50, 45, 70, 44])
    >>> ci = perplexity_interval(res, random_state=0)
    >>> round(ci.estimate, 3), round(ci.low, 3), round(ci.high, 3)
    (17.825, 12.182, 21.857)
    >>> round(perplexity_interval(res, metric="bits_per_byte", random_state=0).estimate, 3)
    1.118
    """
    check_option("metric", metric, _PPL_METRICS)
    rng = _bs.check_bootstrap_options(confidence_level, n_resamples, method, random_state)
    kernel = _ppl_kernel(result, metric, "result")
    est, low, high, se, dist, n_undef = _bs.bootstrap(
        [kernel], kernel.n, confidence_level=confidence_level, n_resamples=n_resamples,
        method=method, rng=rng,
    )
    return BootstrapResult(est, low, high, float(confidence_level), method, int(n_resamples),
                           se, dist, n_undef)


def paired_perplexity_difference(
    result_a,
    result_b,
    *,
    metric="bits_per_byte",
    confidence_level=0.95,
    n_resamples=9999,
    method="percentile",
    random_state=None,
):
    """Bootstrap interval of ``metric(a) - metric(b)`` for two models on the same texts.

    Texts are resampled, the same texts for both models (paired by text), so the difficulty
    the two share cancels out. See :func:`perplexity_interval` for why texts, not tokens.

    Parameters
    ----------
    result_a, result_b : PerplexityResult
        Two models scored on the same texts, in the same order.
    metric : {"bits_per_byte", "perplexity"}, default="bits_per_byte"
        Bits per byte compares models with different tokenizers; a perplexity difference
        means something only when both use the same tokenizer.
    confidence_level, n_resamples, method, random_state
        As in :func:`confidence_interval`.

    Returns
    -------
    PairedBootstrapResult
        ``.estimate`` is A minus B (negative: A is better, lower is better for both metrics).

    Raises
    ------
    ValueError
        If the results hold different numbers of texts, or texts of different byte lengths
        (they cannot be the same texts).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from llmlab.metrics import paired_perplexity_difference
    >>> a = SimpleNamespace(per_text_nll=[30.0, 45.0, 20.0, 60.0], per_text_tokens=[10, 15, 10, 20],
    ...                     per_text_bytes=[40, 50, 45, 70])
    >>> b = SimpleNamespace(per_text_nll=[33.0, 50.0, 21.0, 66.0], per_text_tokens=[12, 14, 11, 22],
    ...                     per_text_bytes=[40, 50, 45, 70])
    >>> d = paired_perplexity_difference(a, b, random_state=0)
    >>> round(d.estimate, 4), d.high < 0
    (-0.1056, True)
    """
    check_option("metric", metric, _PPL_METRICS)
    rng = _bs.check_bootstrap_options(confidence_level, n_resamples, method, random_state)
    ka = _ppl_kernel(result_a, metric, "result_a")
    kb = _ppl_kernel(result_b, metric, "result_b")
    if ka.n != kb.n:
        raise ValueError(
            f"result_a holds {ka.n} texts but result_b holds {kb.n}; a paired comparison "
            f"needs both models scored on the same texts, in the same order."
        )
    bytes_a, bytes_b = _ppl_arrays(result_a, "result_a")[2], _ppl_arrays(result_b, "result_b")[2]
    if bytes_a is not None and bytes_b is not None and not np.array_equal(bytes_a, bytes_b):
        i = int(np.flatnonzero(bytes_a != bytes_b)[0])
        raise ValueError(
            f"text {i} has {int(bytes_a[i])} bytes in result_a but {int(bytes_b[i])} in "
            f"result_b; a paired comparison needs the same texts, in the same order."
        )
    est, low, high, se, dist, n_undef = _bs.bootstrap(
        [ka, kb], ka.n, confidence_level=confidence_level, n_resamples=n_resamples,
        method=method, rng=rng, combine=lambda a, b: a - b,
    )
    return PairedBootstrapResult(est, low, high, float(confidence_level), method,
                                 int(n_resamples), se, dist, n_undef,
                                 estimate_a=float(ka.point), estimate_b=float(kb.point))
