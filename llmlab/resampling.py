"""The bootstrap engine shared by :mod:`llmlab.metrics.uncertainty` and the report card.

A statistic is wrapped in a *kernel*: an object that gives its value on the original sample
(``point``), on resamples given as index arrays of shape ``(m, n)`` (``resampled``) and on the
``n`` leave-one-out samples (``jackknife``, for BCa). Metrics whose value is a function of a
few counts or sums (the confusion matrix of label metrics, the counts per tied score and
class of ROC AUC and average precision, the summed NLL / tokens / bytes of perplexity) have
vectorised kernels: a chunk of resamples is counted with one ``bincount`` and every statistic
of every resample comes out of a few array operations. Any other metric is called once per
resample.

Both kinds see the same resamples for the same seed, so a vectorised kernel and the generic
one give the same interval (checked in the tests); and every vectorised kernel checks its own
point estimate against the metric's on the original data before it is trusted.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = ["METHODS", "bootstrap", "check_bootstrap_options", "check_groups", "label_kernel",
           "min_kernel", "percentile_intervals", "ratio_kernel", "score_kernel"]

METHODS = ("percentile", "bca")
_CHUNK_ELEMENTS = 2_000_000  # indices drawn per chunk; fixed, so that a seed gives one answer


# --------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------


def check_bootstrap_options(confidence_level, n_resamples, method, random_state):
    """Validate the options shared by every bootstrap function; return a Generator."""
    if (
        isinstance(confidence_level, (bool, np.bool_))
        or not isinstance(confidence_level, numbers.Real)
        or not 0 < float(confidence_level) < 1
    ):
        raise ValueError(
            f"confidence_level={confidence_level!r} must be a number strictly between 0 and 1, "
            f"e.g. 0.95 for a 95 % interval."
        )
    if (
        isinstance(n_resamples, (bool, np.bool_))
        or not isinstance(n_resamples, numbers.Integral)
        or n_resamples < 1
    ):
        raise ValueError(
            f"n_resamples={n_resamples!r} must be a positive integer, e.g. 9999."
        )
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not supported; choose one of {list(METHODS)!r}.")
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state={random_state!r} must be a non-negative integer.")
        return np.random.default_rng(int(random_state))
    raise ValueError(
        f"random_state={random_state!r} is not supported; pass None, a non-negative integer "
        f"or a numpy.random.Generator."
    )


def check_groups(groups, n):
    """Validate ``groups`` (one label per sample) and return its codes, 0 .. G-1.

    Codes follow the sorted order of the labels, so a seed gives the same resamples whatever
    order the samples come in within a group.
    """
    arr = np.asarray(groups)
    if arr.ndim != 1:
        raise ValueError(f"groups must be one-dimensional (one label per sample); got shape "
                         f"{arr.shape}.")
    if arr.shape[0] != n:
        raise ValueError(
            f"groups has {arr.shape[0]} labels but y_true has {n} samples; pass one group "
            f"label per sample (e.g. the document each question came from), in the same order."
        )
    try:
        labels, codes = np.unique(arr, return_inverse=True)
    except TypeError as err:
        raise TypeError(f"groups must hold labels of one comparable type (ints or strings); "
                        f"{err}") from None
    if labels.size < 2:
        raise ValueError(
            f"groups has {labels.size} distinct group(s); a grouped bootstrap resamples whole "
            f"groups and needs at least 2 (with fewer than about 10 the interval is crude)."
        )
    return codes.astype(np.int64).ravel(), int(labels.size)


# --------------------------------------------------------------------------------------
# Resampling and intervals
# --------------------------------------------------------------------------------------


def _index_chunks(rng, n, n_resamples):
    rows = max(1, _CHUNK_ELEMENTS // n)
    done = 0
    while done < n_resamples:
        m = min(rows, n_resamples - done)
        yield rng.integers(0, n, size=(m, n))
        done += m


def _group_weight_chunks(rng, codes, n_groups, n_resamples):
    """Per-sample multiplicities of grouped resamples, shape ``(m, n)``.

    Each resample draws ``n_groups`` groups with replacement (one ``integers`` call per
    chunk, as the ungrouped resampling draws samples); every sample of a group drawn ``k``
    times counts ``k`` times.
    """
    n = codes.size
    rows = max(1, _CHUNK_ELEMENTS // max(n, n_groups))
    done = 0
    while done < n_resamples:
        m = min(rows, n_resamples - done)
        draws = rng.integers(0, n_groups, size=(m, n_groups))
        flat = (draws + n_groups * np.arange(m)[:, None]).ravel()
        mult = np.bincount(flat, minlength=m * n_groups).reshape(m, n_groups)
        yield mult[:, codes].astype(float)
        done += m


def bootstrap(kernels, n, *, confidence_level, n_resamples, method, rng, combine=None,
              groups=None):
    """Bootstrap the statistic ``combine(*kernel values)`` over ``n`` paired samples.

    All kernels see the same resamples (that is what makes a comparison paired). With
    ``groups`` (``(codes, n_groups)`` from :func:`check_groups`) whole groups are resampled
    and BCa's jackknife leaves out one group at a time. Returns
    ``(estimate, low, high, standard_error, distribution, n_undefined)``.
    """
    if combine is None:
        def combine(*values):
            return values[0]
    estimate = float(combine(*(np.asarray(k.point, dtype=float) for k in kernels)))
    dist = np.empty(n_resamples)
    done = 0
    if groups is None:
        for idx in _index_chunks(rng, n, n_resamples):
            vals = combine(*(k.resampled(idx) for k in kernels))
            dist[done:done + len(vals)] = vals
            done += len(vals)
    else:
        for w in _group_weight_chunks(rng, groups[0], groups[1], n_resamples):
            vals = combine(*(k.reweighted(w) for k in kernels))
            dist[done:done + len(vals)] = vals
            done += len(vals)
    undefined = ~np.isfinite(dist)
    n_undefined = int(undefined.sum())
    if n_undefined:
        warnings.warn(
            f"the metric is undefined (NaN) on {n_undefined} of {n_resamples} resamples "
            f"(e.g. a resample with no positive sample); they are left out of the interval.",
            RuntimeWarning,
            stacklevel=3,
        )
    good = dist[~undefined]
    if not math.isfinite(estimate) or good.size == 0:
        nan = float("nan")
        return estimate, nan, nan, nan, dist, n_undefined
    alpha = (1 - confidence_level) / 2
    if method == "percentile":
        probs = np.array([alpha, 1 - alpha])
    else:
        probs = _bca_levels(kernels, combine, estimate, good, alpha, groups)
    if np.isnan(probs).any():
        low = high = float("nan")
    else:
        low, high = (float(v) for v in np.quantile(good, probs))
    se = float(good.std(ddof=1)) if good.size > 1 else float("nan")
    return estimate, low, high, se, dist, n_undefined


def _jackknife(kernels, combine, groups):
    if groups is None:
        return combine(*(k.jackknife() for k in kernels))
    codes, n_groups = groups
    w = (codes[None, :] != np.arange(n_groups)[:, None]).astype(float)  # leave group g out
    return combine(*(k.reweighted(w) for k in kernels))


def _bca_levels(kernels, combine, estimate, dist, alpha, groups=None):
    """Efron's bias-corrected and accelerated levels (the formulas scipy.stats.bootstrap uses).

    Where BCa is undefined (every resample on one side of the estimate, e.g. an accuracy of
    100 %), the percentile levels are used, with a warning; a constant distribution gives the
    constant.
    """
    percentile = np.array([alpha, 1 - alpha])
    if dist.min() == dist.max():
        return percentile
    frac_below = np.mean(dist < estimate)
    jack = np.asarray(_jackknife(kernels, combine, groups), dtype=float)
    jack = jack[np.isfinite(jack)]
    if not 0 < frac_below < 1 or jack.size < 2:
        warnings.warn(
            "the BCa interval is undefined here (the estimate lies at the edge of the "
            "bootstrap distribution); the percentile interval is returned instead.",
            RuntimeWarning,
            stacklevel=4,
        )
        return percentile
    z0 = ndtri(frac_below)
    d = jack.mean() - jack
    denom = 6.0 * np.sum(d**2) ** 1.5
    a = float(np.sum(d**3) / denom) if denom > 0 else 0.0
    z = ndtri(percentile)
    return ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))


# --------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------


class _CountKernel:
    """A statistic of the counts of ``K`` categories, one category per sample (vectorised).

    A resample is summarised by how many of its samples fall in each category (one
    ``bincount``); a leave-one-out sample by the full counts less one, and there are at most
    ``K`` distinct ones.
    """

    def __init__(self, codes, k, stat):
        self.codes = np.asarray(codes, dtype=np.int64)
        self.n, self.k = self.codes.shape[0], k
        self._stat = stat  # (m, k) counts -> (m,) values
        self._full = np.bincount(self.codes, minlength=k).astype(float)
        self.point = float(stat(self._full[None, :])[0])

    def resampled(self, idx):
        m = idx.shape[0]
        flat = (self.codes[idx] + self.k * np.arange(m)[:, None]).ravel()
        return self._stat(np.bincount(flat, minlength=m * self.k).reshape(m, self.k)
                          .astype(float))

    def reweighted(self, w):
        m = w.shape[0]
        flat = (self.codes[None, :] + self.k * np.arange(m)[:, None]).ravel()
        return self._stat(np.bincount(flat, weights=w.ravel(), minlength=m * self.k)
                          .reshape(m, self.k))

    def jackknife(self):
        present = np.flatnonzero(self._full)
        values = np.full(self.k, np.nan)
        rows = max(1, _CHUNK_ELEMENTS // self.k)
        for start in range(0, present.size, rows):
            cats = present[start:start + rows]
            counts = np.repeat(self._full[None, :], cats.size, axis=0)
            counts[np.arange(cats.size), cats] -= 1
            values[cats] = self._stat(counts)
        return values[self.codes]


class _RatioKernel:
    """``transform(sum(numerator) / sum(denominator))`` over the resampled items."""

    def __init__(self, numerator, denominator, transform):
        self.num = np.asarray(numerator, dtype=float)
        self.den = np.asarray(denominator, dtype=float)
        self.n = self.num.shape[0]
        self.transform = transform
        self.point = float(transform(self.num.sum() / self.den.sum()))

    def resampled(self, idx):
        return self.transform(self.num[idx].sum(axis=1) / self.den[idx].sum(axis=1))

    def reweighted(self, w):
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.transform((w @ self.num) / (w @ self.den))

    def jackknife(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.transform((self.num.sum() - self.num) / (self.den.sum() - self.den))


class _MinKernel:
    """The smaller of two kernels' values (NaN only where both are NaN)."""

    def __init__(self, a, b):
        self.a, self.b, self.n = a, b, a.n
        self.point = float(np.fmin(a.point, b.point))

    def resampled(self, idx):
        return np.fmin(self.a.resampled(idx), self.b.resampled(idx))

    def reweighted(self, w):
        return np.fmin(self.a.reweighted(w), self.b.reweighted(w))

    def jackknife(self):
        return np.fmin(self.a.jackknife(), self.b.jackknife())


class GenericKernel:
    """Any metric ``metric(y_true, y, **kw)``, called once per resample."""

    def __init__(self, metric, yt, y, kwargs, point):
        self.metric, self.yt, self.y, self.kwargs = metric, yt, y, kwargs
        self.n = len(yt)
        self.point = point

    def _call(self, sel):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return float(self.metric(self.yt[sel], self.y[sel], **self.kwargs))
            except ValueError:
                return float("nan")  # e.g. a resample with a single class for ROC AUC

    def resampled(self, idx):
        return np.array([self._call(row) for row in idx])

    def reweighted(self, w):
        every = np.arange(self.n)
        return np.array([self._call(np.repeat(every, row.astype(np.int64))) for row in w])

    def jackknife(self):
        keep = np.ones(self.n, dtype=bool)
        out = np.empty(self.n)
        for i in range(self.n):
            keep[i] = False
            out[i] = self._call(keep)
            keep[i] = True
        return out


def _safe_div(num, den, zero_division):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return np.where(den > 0, out, zero_division)


def label_kernel(name, yt, yp, *, pos_label=None, zero_division="warn"):
    """A vectorised kernel for a label metric of the confusion matrix, or None.

    For precision, recall and F1, ``pos_label`` is one of the classes even where neither
    ``yt`` nor ``yp`` holds it (single-class data): its counts are then 0 and the value is
    ``zero_division``, as in scikit-learn.
    """
    prf = name in ("precision_score", "recall_score", "f1_score")
    extra = [np.asarray([pos_label])] if prf and pos_label is not None else []
    classes = np.unique(np.concatenate([yt, yp, *extra]))
    k = classes.size
    codes = np.searchsorted(classes, yt) * k + np.searchsorted(classes, yp)
    zd = 0.0 if isinstance(zero_division, str) else float(zero_division)

    def matrix(c):
        return c.reshape(-1, k, k)  # (m, true, pred)

    if prf:
        if k > 2 or pos_label not in classes.tolist():
            return None
        p = int(np.searchsorted(classes, pos_label))

        def stat(counts):
            c = matrix(counts)
            tp = c[:, p, p]
            fp = c[:, :, p].sum(axis=1) - tp
            fn = c[:, p, :].sum(axis=1) - tp
            if name == "precision_score":
                return _safe_div(tp, tp + fp, zd)
            if name == "recall_score":
                return _safe_div(tp, tp + fn, zd)
            return _safe_div(2 * tp, 2 * tp + fp + fn, zd)
    elif name == "accuracy_score":
        def stat(counts):
            c = matrix(counts)
            return np.trace(c, axis1=1, axis2=2) / c.sum(axis=(1, 2))
    elif name == "balanced_accuracy_score":
        def stat(counts):
            c = matrix(counts)
            with np.errstate(divide="ignore", invalid="ignore"):
                per_class = np.diagonal(c, axis1=1, axis2=2) / c.sum(axis=2)
                return np.nanmean(per_class, axis=1)
    elif name == "matthews_corrcoef":
        def stat(counts):
            c = matrix(counts)
            t_sum, p_sum = c.sum(axis=2), c.sum(axis=1)
            n_s = t_sum.sum(axis=1)
            correct = np.trace(c, axis1=1, axis2=2)
            cov_tp = correct * n_s - np.sum(t_sum * p_sum, axis=1)
            cov_pp = n_s**2 - np.sum(p_sum**2, axis=1)
            cov_tt = n_s**2 - np.sum(t_sum**2, axis=1)
            den = cov_tt * cov_pp
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(den > 0, cov_tp / np.sqrt(den), 0.0)
    else:
        return None
    return _CountKernel(codes, k * k, stat)


def score_kernel(name, positive, y_score):
    """A vectorised kernel for ROC AUC or average precision of binary ``positive`` (bool).

    Samples with the same score form one group (ties); the categories are (group, class),
    groups in descending order of score, so cumulative sums give the true and false positives
    at every threshold.
    """
    y_score = np.asarray(y_score, dtype=float)
    distinct = np.unique(y_score)[::-1]                      # descending
    group = np.searchsorted(-distinct, -y_score)             # 0 = highest score
    codes = 2 * group + np.asarray(positive, dtype=bool)     # (group, negative=0/positive=1)

    def rates(counts):
        tp = np.cumsum(counts[:, 1::2], axis=1)
        fp = np.cumsum(counts[:, 0::2], axis=1)
        return tp, fp

    if name == "roc_auc_score":
        def stat(counts):
            tp, fp = rates(counts)
            n_pos, n_neg = tp[:, -1:], fp[:, -1:]
            with np.errstate(divide="ignore", invalid="ignore"):
                tpr = np.concatenate([np.zeros_like(n_pos), tp / n_pos], axis=1)
                fpr = np.concatenate([np.zeros_like(n_neg), fp / n_neg], axis=1)
                auc = np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)
            return np.where((n_pos[:, 0] > 0) & (n_neg[:, 0] > 0), auc, np.nan)
    elif name == "average_precision_score":
        def stat(counts):
            tp, fp = rates(counts)
            n_pos = tp[:, -1:]
            with np.errstate(divide="ignore", invalid="ignore"):
                precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
                recall = np.concatenate([np.zeros_like(n_pos), tp / n_pos], axis=1)
                ap = np.sum(np.diff(recall, axis=1) * precision, axis=1)
            return np.where(n_pos[:, 0] > 0, ap, np.nan)
    else:
        return None
    return _CountKernel(codes, 2 * distinct.size, stat)


def ratio_kernel(numerator, denominator, transform):
    """``transform(sum(numerator) / sum(denominator))``: perplexity, bits per byte."""
    return _RatioKernel(numerator, denominator, transform)


def min_kernel(a, b):
    """The smaller of two kernels' values (NaN only where both are NaN)."""
    return _MinKernel(a, b)


def percentile_intervals(kernels, n, *, confidence_level, n_resamples, rng):
    """Percentile intervals of several kernels on the *same* resamples.

    Returns a list of ``(low, high)``; with the same ``rng`` each equals what
    :func:`bootstrap` gives for that kernel alone.
    """
    dists = np.empty((len(kernels), n_resamples))
    done = 0
    for idx in _index_chunks(rng, n, n_resamples):
        for j, k in enumerate(kernels):
            dists[j, done:done + len(idx)] = k.resampled(idx)
        done += len(idx)
    alpha = (1 - confidence_level) / 2
    out = []
    for d in dists:
        d = d[np.isfinite(d)]
        if d.size == 0:
            out.append((float("nan"), float("nan")))
        else:
            low, high = np.quantile(d, [alpha, 1 - alpha])
            out.append((float(low), float(high)))
    return out
