"""Label metrics: scikit-learn's functions of the same names, their inputs checked first.

Same arguments, keywords and results as scikit-learn; the checks in
:mod:`llmlab.validation` run before scikit-learn sees the input, so a mistake gets a
``ValueError`` that names the bad value and the accepted ones. The differences from
scikit-learn (all stricter) are listed in :mod:`llmlab.metrics`.
"""

from __future__ import annotations

from numbers import Integral

from sklearn import metrics as _skm

from llmlab.validation import Interval, Options, check_prf_options, check_targets, validate_params

__all__ = [
    "accuracy_score",
    "balanced_accuracy_score",
    "classification_report",
    "confusion_matrix",
    "f1_score",
    "matthews_corrcoef",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
]

#: The values ``normalize=`` of :func:`confusion_matrix` accepts.
_CM_NORMALIZE = (None, "true", "pred", "all")

# --------------------------------------------------------------------------------------
# Metrics (thin wrappers on scikit-learn)
# --------------------------------------------------------------------------------------


@validate_params({"normalize": [Options(_CM_NORMALIZE)]})
def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None, normalize=None):
    """Compute the confusion matrix: row ``i``, column ``j`` counts true ``i`` predicted ``j``.

    A wrapper of :func:`sklearn.metrics.confusion_matrix` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like of shape (n_classes,), default=None
        The order of the rows and columns. ``None`` uses the sorted labels found in ``y_true``
        and ``y_pred``. Unlike scikit-learn, every label found must be listed.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    normalize : {None, 'true', 'pred', 'all'}, default=None
        Divide the counts by the row sums (``'true'``), the column sums (``'pred'``) or the
        total (``'all'``). ``None`` keeps counts.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        The confusion matrix. For a binary task with ``labels=[negative, positive]`` it reads
        ``[[TN, FP], [FN, TP]]``.

    Raises
    ------
    ValueError
        If the inputs differ in length, are empty, mix label types, contain a label that is
        not in ``labels``, or ``normalize`` is not one of the allowed values.

    See Also
    --------
    llmlab.plots.ConfusionMatrixDisplay : Plot it.

    Examples
    --------
    >>> from llmlab.metrics import confusion_matrix
    >>> y_true = ["ham", "ham", "spam", "spam", "spam"]
    >>> y_pred = ["ham", "spam", "spam", "spam", "ham"]
    >>> confusion_matrix(y_true, y_pred, labels=["ham", "spam"])
    array([[1, 1],
           [1, 2]])
    >>> confusion_matrix(y_true, y_pred, labels=["ham", "spam"], normalize="true")
    array([[0.5       , 0.5       ],
           [0.33333333, 0.66666667]])
    """
    yt, yp, lab, sw, _ = check_targets(y_true, y_pred, labels=labels, sample_weight=sample_weight)
    return _skm.confusion_matrix(yt, yp, labels=lab, sample_weight=sw, normalize=normalize)


@validate_params({"normalize": ["boolean"]})
def accuracy_score(y_true, y_pred, *, normalize=True, sample_weight=None):
    """Share (or number) of samples whose predicted label equals the true label.

    A wrapper of :func:`sklearn.metrics.accuracy_score` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    normalize : bool, default=True
        ``True`` returns the fraction correct, ``False`` the number correct.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    float
        The fraction (or, with ``normalize=False``, the number) of correct predictions.

    Raises
    ------
    ValueError
        If the inputs differ in length, are empty or mix label types.

    Notes
    -----
    Under class imbalance accuracy hides the rare class: on data that is 98 % "ham", always
    answering "ham" scores 98 %. Look at :func:`recall_score` and
    :func:`balanced_accuracy_score` too.

    Examples
    --------
    >>> from llmlab.metrics import accuracy_score
    >>> accuracy_score(["ham", "spam", "ham", "ham"], ["ham", "ham", "ham", "ham"])
    0.75
    >>> accuracy_score(["ham", "spam", "ham", "ham"], ["ham", "ham", "ham", "ham"],
    ...                normalize=False)
    3.0
    """
    yt, yp, _, sw, _ = check_targets(y_true, y_pred, sample_weight=sample_weight)
    return _skm.accuracy_score(yt, yp, normalize=normalize, sample_weight=sw)


def precision_recall_fscore_support(
    y_true,
    y_pred,
    *,
    beta=1.0,
    labels=None,
    pos_label=1,
    average=None,
    warn_for=("precision", "recall", "f-score"),
    sample_weight=None,
    zero_division="warn",
):
    """Compute precision, recall, F-beta and support, per class or averaged.

    A wrapper of :func:`sklearn.metrics.precision_recall_fscore_support` that checks its
    inputs first. Precision is ``TP / (TP + FP)``, recall ``TP / (TP + FN)``, F-beta their
    weighted harmonic mean and support the number of true samples of each class.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    beta : float, default=1.0
        Weight of recall against precision (``beta=1`` is F1).
    labels : array-like, default=None
        The classes to report and their order; ``None`` uses the sorted labels found. Ignored
        with ``average='binary'``. Unlike scikit-learn, every label found must be listed.
    pos_label : str or int, default=1
        The positive class when ``average='binary'``, e.g. ``"spam"``.
    average : {None, 'binary', 'micro', 'macro', 'weighted'}, default=None
        ``None`` returns one value per class; ``'binary'`` the values of ``pos_label``;
        ``'micro'`` counts TP/FP/FN over all classes; ``'macro'`` is the unweighted mean of
        the per-class values; ``'weighted'`` their mean weighted by support.
    warn_for : tuple of str, default=('precision', 'recall', 'f-score')
        Which ill-defined metrics warn (as in scikit-learn).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    zero_division : {'warn', 0.0, 1.0, np.nan}, default='warn'
        The value returned where a ratio is 0/0 (e.g. precision when nothing is predicted
        positive). ``'warn'`` returns 0.0 and raises an ``UndefinedMetricWarning``.

    Returns
    -------
    precision, recall, fbeta_score : float or ndarray of shape (n_classes,)
    support : None or ndarray of shape (n_classes,)
        ``None`` when ``average`` is not ``None``.

    Raises
    ------
    ValueError
        For mismatched or empty inputs, unknown labels, a ``pos_label`` that is not a label,
        more than two classes with ``average='binary'``, or an unsupported ``average``,
        ``zero_division`` or ``beta``.

    Examples
    --------
    >>> from llmlab.metrics import precision_recall_fscore_support
    >>> y_true = ["ham", "ham", "spam", "spam", "spam"]
    >>> y_pred = ["ham", "spam", "spam", "spam", "ham"]
    >>> p, r, f, s = precision_recall_fscore_support(y_true, y_pred)
    >>> p.round(3).tolist(), r.round(3).tolist(), s.tolist()
    ([0.5, 0.667], [0.5, 0.667], [2, 3])
    """
    yt, yp, lab, sw, kind = check_targets(
        y_true, y_pred, labels=labels, sample_weight=sample_weight
    )
    check_prf_options(
        yt,
        yp,
        kind,
        labels=lab,
        pos_label=pos_label,
        average=average,
        zero_division=zero_division,
        beta=beta,
    )
    return _skm.precision_recall_fscore_support(
        yt,
        yp,
        beta=beta,
        labels=lab,
        pos_label=pos_label,
        average=average,
        warn_for=warn_for,
        sample_weight=sw,
        zero_division=zero_division,
    )


def _prf(which, y_true, y_pred, labels, pos_label, average, sample_weight, zero_division):
    yt, yp, lab, sw, kind = check_targets(
        y_true, y_pred, labels=labels, sample_weight=sample_weight
    )
    check_prf_options(
        yt, yp, kind, labels=lab, pos_label=pos_label, average=average,
        zero_division=zero_division,
    )
    func = {"precision": _skm.precision_score, "recall": _skm.recall_score, "f1": _skm.f1_score}
    return func[which](
        yt,
        yp,
        labels=lab,
        pos_label=pos_label,
        average=average,
        sample_weight=sw,
        zero_division=zero_division,
    )


def precision_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """Precision ``TP / (TP + FP)``: of the samples predicted positive, the share that is.

    A wrapper of :func:`sklearn.metrics.precision_score` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        The classes for ``average != 'binary'`` and their order; ``None`` uses the sorted
        labels found. Unlike scikit-learn, every label found must be listed.
    pos_label : str or int, default=1
        The positive class when ``average='binary'``, e.g. ``"spam"``.
    average : {'binary', None, 'micro', 'macro', 'weighted'}, default='binary'
        ``'binary'`` scores ``pos_label`` only; ``None`` returns one value per class;
        ``'micro'``, ``'macro'`` and ``'weighted'`` average over classes.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    zero_division : {'warn', 0.0, 1.0, np.nan}, default='warn'
        The value returned when nothing is predicted positive (0/0). ``'warn'`` returns 0.0
        and raises an ``UndefinedMetricWarning``.

    Returns
    -------
    float or ndarray of shape (n_classes,)

    Raises
    ------
    ValueError
        For mismatched or empty inputs, unknown labels, a ``pos_label`` that is not a label,
        more than two classes with ``average='binary'``, or an unsupported option.

    Examples
    --------
    TP=3, FP=1, FN=2, TN=4:

    >>> from llmlab.metrics import precision_score
    >>> y_true = ["spam"] * 3 + ["ham"] + ["spam"] * 2 + ["ham"] * 4
    >>> y_pred = ["spam"] * 3 + ["spam"] + ["ham"] * 2 + ["ham"] * 4
    >>> precision_score(y_true, y_pred, pos_label="spam")
    0.75
    >>> precision_score(y_true, y_pred, average=None).round(3)
    array([0.667, 0.75 ])
    """
    return _prf("precision", y_true, y_pred, labels, pos_label, average, sample_weight,
                zero_division)


def recall_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """Recall ``TP / (TP + FN)``: of the truly positive samples, the share that is found.

    A wrapper of :func:`sklearn.metrics.recall_score` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        The classes for ``average != 'binary'`` and their order; ``None`` uses the sorted
        labels found. Unlike scikit-learn, every label found must be listed.
    pos_label : str or int, default=1
        The positive class when ``average='binary'``, e.g. ``"spam"``.
    average : {'binary', None, 'micro', 'macro', 'weighted'}, default='binary'
        ``'binary'`` scores ``pos_label`` only; ``None`` returns one value per class;
        ``'micro'``, ``'macro'`` and ``'weighted'`` average over classes.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    zero_division : {'warn', 0.0, 1.0, np.nan}, default='warn'
        The value returned when ``y_true`` has no positive sample (0/0). ``'warn'`` returns
        0.0 and raises an ``UndefinedMetricWarning``.

    Returns
    -------
    float or ndarray of shape (n_classes,)

    Raises
    ------
    ValueError
        For mismatched or empty inputs, unknown labels, a ``pos_label`` that is not a label,
        more than two classes with ``average='binary'``, or an unsupported option.

    Examples
    --------
    TP=3, FP=1, FN=2, TN=4:

    >>> from llmlab.metrics import recall_score
    >>> y_true = ["spam"] * 3 + ["ham"] + ["spam"] * 2 + ["ham"] * 4
    >>> y_pred = ["spam"] * 3 + ["spam"] + ["ham"] * 2 + ["ham"] * 4
    >>> recall_score(y_true, y_pred, pos_label="spam")
    0.6
    >>> recall_score(y_true, y_pred, average="macro")
    0.7
    """
    return _prf("recall", y_true, y_pred, labels, pos_label, average, sample_weight,
                zero_division)


def f1_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """F1 score: the harmonic mean of precision and recall, ``2 TP / (2 TP + FP + FN)``.

    A wrapper of :func:`sklearn.metrics.f1_score` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        The classes for ``average != 'binary'`` and their order; ``None`` uses the sorted
        labels found. Unlike scikit-learn, every label found must be listed.
    pos_label : str or int, default=1
        The positive class when ``average='binary'``, e.g. ``"spam"``.
    average : {'binary', None, 'micro', 'macro', 'weighted'}, default='binary'
        ``'binary'`` scores ``pos_label`` only; ``None`` returns one value per class;
        ``'micro'``, ``'macro'`` and ``'weighted'`` average over classes.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    zero_division : {'warn', 0.0, 1.0, np.nan}, default='warn'
        The value returned when there is no positive sample in ``y_true`` nor in ``y_pred``.
        ``'warn'`` returns 0.0 and raises an ``UndefinedMetricWarning``.

    Returns
    -------
    float or ndarray of shape (n_classes,)

    Raises
    ------
    ValueError
        For mismatched or empty inputs, unknown labels, a ``pos_label`` that is not a label,
        more than two classes with ``average='binary'``, or an unsupported option.

    Notes
    -----
    F1 ignores true negatives, so it does not reward a classifier for the easy majority class.

    Examples
    --------
    TP=3, FP=1, FN=2, TN=4: precision 0.75, recall 0.6, F1 = 2/3.

    >>> from llmlab.metrics import f1_score
    >>> y_true = ["spam"] * 3 + ["ham"] + ["spam"] * 2 + ["ham"] * 4
    >>> y_pred = ["spam"] * 3 + ["spam"] + ["ham"] * 2 + ["ham"] * 4
    >>> round(f1_score(y_true, y_pred, pos_label="spam"), 4)
    0.6667
    """
    return _prf("f1", y_true, y_pred, labels, pos_label, average, sample_weight, zero_division)


@validate_params({"adjusted": ["boolean"]})
def balanced_accuracy_score(y_true, y_pred, *, sample_weight=None, adjusted=False):
    """Balanced accuracy: the mean of the recall of each class.

    A wrapper of :func:`sklearn.metrics.balanced_accuracy_score` that checks its inputs
    first. Unlike accuracy it is not inflated by a large majority class: always answering
    the majority class scores ``1 / n_classes`` (0.5 for two classes).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    adjusted : bool, default=False
        Rescale so that chance scores 0 and a perfect classifier 1.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the inputs differ in length, are empty or mix label types.

    Notes
    -----
    As in scikit-learn, a class predicted but absent from ``y_true`` gives a ``UserWarning``
    ("y_pred contains classes not in y_true") and is left out of the mean.

    Examples
    --------
    >>> from llmlab.metrics import balanced_accuracy_score
    >>> y_true = ["ham"] * 98 + ["spam"] * 2
    >>> balanced_accuracy_score(y_true, ["ham"] * 100)
    0.5
    """
    yt, yp, _, sw, _ = check_targets(y_true, y_pred, sample_weight=sample_weight)
    return _skm.balanced_accuracy_score(yt, yp, sample_weight=sw, adjusted=adjusted)


def matthews_corrcoef(y_true, y_pred, *, sample_weight=None):
    """Matthews correlation coefficient (MCC) between true and predicted labels.

    A wrapper of :func:`sklearn.metrics.matthews_corrcoef` that checks its inputs first.
    MCC uses all four cells of the confusion matrix: +1 is perfect, 0 no better than chance,
    -1 always wrong. As in scikit-learn, it is 0.0 when it is undefined (a single class in
    ``y_true`` or in ``y_pred``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.

    Returns
    -------
    float
        A value in [-1, 1].

    Raises
    ------
    ValueError
        If the inputs differ in length, are empty or mix label types.

    Examples
    --------
    >>> from llmlab.metrics import matthews_corrcoef
    >>> y_true = ["spam"] * 3 + ["ham"] + ["spam"] * 2 + ["ham"] * 4
    >>> y_pred = ["spam"] * 3 + ["spam"] + ["ham"] * 2 + ["ham"] * 4
    >>> round(matthews_corrcoef(y_true, y_pred), 4)
    0.4082
    """
    yt, yp, _, sw, _ = check_targets(y_true, y_pred, sample_weight=sample_weight)
    return _skm.matthews_corrcoef(yt, yp, sample_weight=sw)


@validate_params({"digits": [Interval(Integral, 0, None, closed="left")]})
def classification_report(
    y_true,
    y_pred,
    *,
    labels=None,
    target_names=None,
    sample_weight=None,
    digits=2,
    output_dict=False,
    zero_division="warn",
):
    """Text (or dict) summary of precision, recall, F1 and support for each class.

    A wrapper of :func:`sklearn.metrics.classification_report` that checks its inputs first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        The classes to report and their order. Unlike scikit-learn, every label found must
        be listed.
    target_names : list of str, default=None
        Display names of ``labels``, in the same order.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights.
    digits : int, default=2
        Digits of the floats in the text report.
    output_dict : bool, default=False
        Return a dict instead of text.
    zero_division : {'warn', 0.0, 1.0, np.nan}, default='warn'
        The value returned where a ratio is 0/0.

    Returns
    -------
    str or dict

    Raises
    ------
    ValueError
        For mismatched or empty inputs, unknown labels, ``target_names`` of the wrong length
        or an unsupported ``zero_division``.

    Examples
    --------
    >>> from llmlab.metrics import classification_report
    >>> y_true = ["spam"] * 3 + ["ham"] + ["spam"] * 2 + ["ham"] * 4
    >>> y_pred = ["spam"] * 3 + ["spam"] + ["ham"] * 2 + ["ham"] * 4
    >>> print(classification_report(y_true, y_pred))
                  precision    recall  f1-score   support
    <BLANKLINE>
             ham       0.67      0.80      0.73         5
            spam       0.75      0.60      0.67         5
    <BLANKLINE>
        accuracy                           0.70        10
       macro avg       0.71      0.70      0.70        10
    weighted avg       0.71      0.70      0.70        10
    <BLANKLINE>
    """
    yt, yp, lab, sw, kind = check_targets(
        y_true, y_pred, labels=labels, sample_weight=sample_weight
    )
    check_prf_options(
        yt, yp, kind, labels=lab, pos_label=None, average=None, zero_division=zero_division
    )
    if target_names is not None:
        n_classes = len(lab) if lab is not None else len(set(yt.tolist()) | set(yp.tolist()))
        if len(target_names) != n_classes:
            raise ValueError(
                f"target_names has {len(target_names)} names but there are {n_classes} "
                f"classes; give one name per class, in the order of labels."
            )
    return _skm.classification_report(
        yt,
        yp,
        labels=lab,
        target_names=target_names,
        sample_weight=sw,
        digits=digits,
        output_dict=output_dict,
        zero_division=zero_division,
    )


