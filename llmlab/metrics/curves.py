"""Metrics of scores rather than labels: how a threshold on ``y_score`` trades precision
for recall."""

from __future__ import annotations

from sklearn import metrics as _skm

from llmlab.validation import check_scores, validate_params

__all__ = ["precision_recall_curve"]


@validate_params({"drop_intermediate": ["boolean"]})
def precision_recall_curve(
    y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=False
):
    """Precision and recall of ``y_score >= threshold`` for every distinct threshold.

    A wrapper of :func:`sklearn.metrics.precision_recall_curve` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels of a binary task, e.g. ``"ham"``/``"spam"``.
    y_score : array-like of shape (n_samples,)
        Score (or probability) of the positive class for each sample, e.g. the ``y_score``
        of :func:`llmlab.classify`.
    pos_label : str or int, default=None
        The class that ``y_score`` scores. ``None`` is allowed only when ``y_true`` takes
        values in {0, 1} or {-1, 1}; the positive class is then 1.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    drop_intermediate : bool, default=False
        Drop thresholds that do not change the curve's shape (as in scikit-learn).

    Returns
    -------
    precision : ndarray of shape (n_thresholds + 1,)
        Precision at each threshold; the last value is 1 (nothing predicted positive).
    recall : ndarray of shape (n_thresholds + 1,)
        Recall at each threshold, decreasing; the last value is 0.
    thresholds : ndarray of shape (n_thresholds,)
        The increasing distinct scores used as thresholds.

    Raises
    ------
    ValueError
        For mismatched or empty inputs, NaN or infinite scores, scores of the wrong shape,
        more than two classes, a missing or unknown ``pos_label``, or a ``y_true`` with no
        positive sample (recall is undefined; scikit-learn only warns).

    See Also
    --------
    llmlab.plots.PrecisionRecallDisplay : Plot it, marking the chosen threshold.

    Examples
    --------
    >>> from llmlab.metrics import precision_recall_curve
    >>> y_true = ["ham", "ham", "spam", "spam"]
    >>> y_score = [0.1, 0.4, 0.35, 0.8]
    >>> precision, recall, thresholds = precision_recall_curve(y_true, y_score,
    ...                                                        pos_label="spam")
    >>> precision.round(3).tolist()
    [0.5, 0.667, 0.5, 1.0, 1.0]
    >>> recall.tolist()
    [1.0, 1.0, 0.5, 0.5, 0.0]
    >>> thresholds.tolist()
    [0.1, 0.35, 0.4, 0.8]
    """
    yt, ys, pos_label, sw = check_scores(
        y_true, y_score, pos_label=pos_label, sample_weight=sample_weight
    )
    # positional y_score: scikit-learn renamed the argument (probas_pred -> y_score) in 1.5
    return _skm.precision_recall_curve(
        yt, ys, pos_label=pos_label, sample_weight=sw, drop_intermediate=drop_intermediate
    )
