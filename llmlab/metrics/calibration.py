"""Are the scores probabilities? Expected calibration error and contextual calibration.

A classifier's ``y_score`` is *calibrated* when, of the samples it scores 0.8, about 80 % are
positive. Label-likelihood classifiers (:func:`llmlab.classify`) are often far from it: the
model may prefer one label word whatever the text says. This module measures that
(:func:`expected_calibration_error`, with the same bins as scikit-learn's
``calibration_curve`` and :class:`llmlab.plots.ReliabilityDisplay`) and removes the
label-word bias the way Zhao et al. (2021) propose (:func:`contextual_calibration`).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from llmlab._numeric import softmax
from llmlab.validation import Interval, StrOptions, check_probabilities, validate_params

__all__ = ["STRATEGIES", "calibration_bins", "contextual_calibration",
           "expected_calibration_error"]

#: The values ``strategy=`` accepts.
STRATEGIES = ("uniform", "quantile")

_BINNING = {"n_bins": [Interval(Integral, 1, None, closed="left")],
            "strategy": [StrOptions(STRATEGIES)]}


@validate_params(_BINNING)
def calibration_bins(y_prob, *, n_bins=10, strategy="uniform"):
    """Bin index of each probability, with scikit-learn's ``calibration_curve`` edges.

    ``"uniform"`` cuts [0, 1] into ``n_bins`` equal widths; ``"quantile"`` puts about the same
    number of samples in each bin. A probability on an edge goes to the lower bin (edges are
    searched on the left, as scikit-learn does).

    Returns
    -------
    ndarray of int, shape (n_samples,)
    """
    y_prob = np.asarray(y_prob, dtype=float)
    if strategy == "quantile":
        edges = np.percentile(y_prob, np.linspace(0, 100, n_bins + 1))
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], y_prob)


@validate_params(_BINNING)
def expected_calibration_error(y_true, y_prob, *, pos_label=None, n_bins=10,
                               strategy="uniform"):
    """Expected calibration error (ECE) of the probabilities of a binary classifier.

    The samples are put into bins by ``y_prob``; in each bin the share of positives is
    compared with the mean predicted probability, and the gaps are averaged, weighted by the
    number of samples in the bin::

        ECE = sum over bins b of (n_b / n) * |mean(y_true == pos_label in b) - mean(y_prob in b)|

    0 is perfectly calibrated; the bins are those of :func:`sklearn.calibration.calibration_curve`
    (and of :class:`llmlab.plots.ReliabilityDisplay`), so the ECE is the count-weighted gap
    between its two curves.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels of a binary task.
    y_prob : array-like of shape (n_samples,)
        Probability of ``pos_label`` for each sample, in [0, 1] (e.g. ``classify(...).y_score``).
    pos_label : str or int, default=None
        The class ``y_prob`` is the probability of; ``None`` only for 0/1 or -1/1 labels.
    n_bins : int, default=10
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width bins, or bins with about the same number of samples.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For probabilities outside [0, 1], inputs of different lengths, more than two classes,
        a missing or unknown ``pos_label``, a bad ``n_bins`` or ``strategy``.

    Notes
    -----
    The ECE depends on the bins: few samples per bin add noise (even a calibrated model has
    ECE > 0 on a finite sample). Report ``n_bins`` and ``strategy`` with it.

    Examples
    --------
    >>> from llmlab.metrics import expected_calibration_error
    >>> y_true = [0, 0, 1, 1]
    >>> y_prob = [0.1, 0.3, 0.7, 0.9]
    >>> round(expected_calibration_error(y_true, y_prob, n_bins=2), 3)
    0.2
    """
    positive, yp = check_probabilities(y_true, y_prob, pos_label=pos_label)
    bins = calibration_bins(yp, n_bins=n_bins, strategy=strategy)
    n_bins_used = int(bins.max()) + 1
    sum_true = np.bincount(bins, weights=positive.astype(float), minlength=n_bins_used)
    sum_prob = np.bincount(bins, weights=yp, minlength=n_bins_used)
    return float(np.abs(sum_true - sum_prob).sum() / yp.shape[0])


def contextual_calibration(label_logprobs, content_free_logprobs):
    """Divide out the label bias measured on content-free inputs (Zhao et al., 2021).

    "Calibrate Before Use" (Zhao, Wallace, Feng, Klein and Singh, ICML 2021): score a
    content-free input such as ``"N/A"`` through the same prompt; the label probabilities
    ``p_cf`` the model gives it are its bias towards each label word. Each text's label
    probabilities ``p`` are then corrected to ``p / p_cf``, renormalised over the labels
    (the paper's ``W = diag(p_cf)^-1``, ``b = 0``). With several content-free inputs, ``p_cf``
    is the mean of their label probabilities.

    With two labels the correction is a monotone map of the positive label's probability: it
    moves the effective threshold and changes the calibration (ECE), never the ranking (ROC
    AUC, average precision), and a threshold chosen on validation data gives the same
    predictions with or without it. It helps where the label-word bias is unwanted (zero-shot
    prompting); on a model trained on the task, whose "bias" is the learned class prior, it
    can make calibration worse (``benchmarks/uncertainty_figures.py`` measures both).

    Parameters
    ----------
    label_logprobs : array-like of shape (n_texts, n_labels)
        Log-likelihood of each label for each text (``classify(...).label_logprobs``).
    content_free_logprobs : array-like of shape (n_content_free, n_labels)
        The same for the content-free inputs.

    Returns
    -------
    probabilities : ndarray of shape (n_texts, n_labels)
        Calibrated label probabilities; rows sum to 1.
    p_cf : ndarray of shape (n_labels,)
        The content-free label probabilities that were divided out.

    Examples
    --------
    >>> import numpy as np
    >>> from llmlab.metrics import contextual_calibration
    >>> lp = np.log([[0.3, 0.7], [0.6, 0.4]])   # the model leans to label 1 ...
    >>> cf = np.log([[0.2, 0.8]])               # ... even with no content at all
    >>> probs, p_cf = contextual_calibration(lp, cf)
    >>> probs.round(3).tolist(), p_cf.round(3).tolist()
    ([[0.632, 0.368], [0.857, 0.143]], [0.2, 0.8])
    """
    lp = np.asarray(label_logprobs, dtype=float)
    cf = np.asarray(content_free_logprobs, dtype=float)
    if cf.ndim == 1:
        cf = cf[None, :]
    if lp.ndim != 2 or cf.ndim != 2 or lp.shape[1] != cf.shape[1] or cf.shape[0] == 0:
        raise ValueError(
            f"label_logprobs has shape {lp.shape} and content_free_logprobs {cf.shape}; "
            f"expected (n_texts, n_labels) and (n_content_free, n_labels) with the same labels."
        )
    if not (np.isfinite(lp).all() and np.isfinite(cf).all()):
        raise ValueError("label log-probabilities must be finite.")
    p_cf = softmax(cf).mean(axis=0)
    return softmax(lp - np.log(p_cf)), p_cf
