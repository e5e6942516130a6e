"""Displays of a classifier's labels and scores: the confusion matrix and the
precision-recall curve, drawn by scikit-learn's displays with what they lack added."""

from __future__ import annotations

from numbers import Real

import numpy as np

from llmlab.metrics import confusion_matrix, precision_recall_curve
from llmlab.validation import Interval, check_option, check_param, check_scores, check_targets
from llmlab.plots.base import format_number, new_ax

__all__ = ["ConfusionMatrixDisplay", "PrecisionRecallDisplay"]


class ConfusionMatrixDisplay:
    """Confusion matrix heat map, with the count in each cell.

    Drawn by scikit-learn's :class:`sklearn.metrics.ConfusionMatrixDisplay`; this class adds
    what it lacks: with ``normalize``, the count under each rate (in brackets), a title that
    says how the matrix was normalised, and llmlab's label checks. Rows are the true labels,
    columns the predicted ones.

    Parameters
    ----------
    confusion_matrix : ndarray of shape (n_classes, n_classes)
        What to draw (counts, or rates when ``normalize`` is set).
    display_labels : list, default=None
        Names of the classes in row/column order; ``None`` numbers them 0, 1, ...
    counts : ndarray of shape (n_classes, n_classes), default=None
        The raw counts, shown in brackets when ``normalize`` is set.
    normalize : {None, 'true', 'pred', 'all'}, default=None
        How ``confusion_matrix`` was normalised (only used for the title and the format).

    Attributes
    ----------
    im_ : matplotlib AxesImage
    text_ : ndarray of matplotlib Text, shape (n_classes, n_classes), or None
        The cell annotations (None with ``include_values=False``).
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from llmlab.plots import ConfusionMatrixDisplay
    >>> disp = ConfusionMatrixDisplay.from_predictions(
    ...     ["ham", "ham", "spam", "spam"], ["ham", "spam", "spam", "spam"])
    >>> disp.confusion_matrix.tolist()
    [[1, 1], [0, 2]]
    >>> [t.get_text() for t in disp.text_.ravel()]
    ['1', '1', '0', '2']
    >>> import matplotlib.pyplot as plt; plt.close(disp.figure_)
    """

    def __init__(self, confusion_matrix, *, display_labels=None, counts=None, normalize=None):
        cm = np.asarray(confusion_matrix)
        if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
            raise ValueError(
                f"confusion_matrix has shape {cm.shape}; expected a non-empty square matrix."
            )
        if display_labels is not None and len(display_labels) != cm.shape[0]:
            raise ValueError(
                f"display_labels has {len(display_labels)} names but the matrix has "
                f"{cm.shape[0]} classes."
            )
        check_option("normalize", normalize, (None, "true", "pred", "all"))
        self.confusion_matrix = cm
        self.display_labels = None if display_labels is None else list(display_labels)
        self.counts = np.asarray(counts) if counts is not None else (cm if normalize is None
                                                                      else None)
        self.normalize = normalize

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_pred,
        *,
        labels=None,
        sample_weight=None,
        normalize=None,
        display_labels=None,
        ax=None,
        cmap="Blues",
        colorbar=False,
        values_format=None,
        include_values=True,
        title=None,
    ):
        """Compute the confusion matrix of ``y_pred`` against ``y_true`` and draw it.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n_samples,)
            True and predicted labels.
        labels : array-like, default=None
            Row/column order; ``None`` sorts the labels found. Every label found must be
            listed (see :func:`llmlab.metrics.confusion_matrix`).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        normalize : {None, 'true', 'pred', 'all'}, default=None
            Colour by rates over rows (``'true'``: the recall of each class on the diagonal),
            columns (``'pred'``: precision on the diagonal) or all; counts stay visible.
        display_labels : list, default=None
            Names shown on the axes; default the labels themselves.
        ax, cmap, colorbar, values_format, include_values, title
            Passed to :meth:`plot`.

        Returns
        -------
        ConfusionMatrixDisplay
        """
        counts = confusion_matrix(y_true, y_pred, labels=labels, sample_weight=sample_weight)
        cm = counts if normalize is None else confusion_matrix(
            y_true, y_pred, labels=labels, sample_weight=sample_weight, normalize=normalize
        )
        if display_labels is None:
            yt, yp, lab, _, _ = check_targets(y_true, y_pred, labels=labels)
            order = lab if lab is not None else np.unique(np.concatenate([yt, yp]))
            display_labels = [v.item() if isinstance(v, np.generic) else v for v in order]
        disp = cls(cm, display_labels=display_labels, counts=counts, normalize=normalize)
        return disp.plot(
            ax=ax,
            cmap=cmap,
            colorbar=colorbar,
            values_format=values_format,
            include_values=include_values,
            title=title,
        )

    def plot(
        self,
        *,
        ax=None,
        cmap="Blues",
        colorbar=False,
        values_format=None,
        include_values=True,
        xticks_rotation="horizontal",
        title=None,
    ):
        """Draw the matrix with scikit-learn's display, then add what it lacks.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        cmap : str or Colormap, default="Blues"
        colorbar : bool, default=False
        values_format : str, default=None
            Format of the main number in each cell; default integers for counts, ``.2f`` for
            rates.
        include_values : bool, default=True
            Write the numbers in the cells.
        xticks_rotation : {'horizontal', 'vertical'} or float, default='horizontal'
        title : str, default=None
            Default "Confusion matrix" (plus how it is normalised).

        Returns
        -------
        ConfusionMatrixDisplay
            ``self``, with ``im_``, ``text_``, ``ax_`` and ``figure_`` set.
        """
        from sklearn.metrics import ConfusionMatrixDisplay as _SklearnDisplay

        fig, ax = new_ax(ax)
        cm = self.confusion_matrix
        n = cm.shape[0]
        names = self.display_labels if self.display_labels is not None else list(range(n))
        if values_format is None:
            whole = np.all(np.mod(cm, 1) == 0)
            values_format = "d" if self.normalize is None and whole else ".2f"
        drawn = _SklearnDisplay(cm, display_labels=[str(v) for v in names]).plot(
            ax=ax,
            cmap=cmap,
            colorbar=colorbar,
            include_values=include_values,
            values_format=values_format,
            xticks_rotation=xticks_rotation,
            im_kw={"vmin": 0.0, "vmax": 1.0 if self.normalize is not None
                   else max(float(cm.max()), 1.0)},
        )
        self.im_, self.text_ = drawn.im_, drawn.text_
        self.colorbar_ = ax.images[-1].colorbar if colorbar else None
        if include_values and self.normalize is not None and self.counts is not None:
            for i in range(n):  # scikit-learn shows rates only: add the counts under them
                for j in range(n):
                    cell = self.text_[i, j]
                    cell.set_text(f"{cell.get_text()}\n({format_number(self.counts[i, j])})")
        if title is None:
            title = "Confusion matrix"
            if self.normalize is not None:
                title += {"true": " (rates per true label)", "pred": " (rates per prediction)",
                          "all": " (rates of all samples)"}[self.normalize]
        ax.set_title(title)
        self.ax_ = ax
        self.figure_ = fig
        return self


class PrecisionRecallDisplay:
    """Precision-recall curve, with a marker at the threshold the predictions use.

    The curve and the chance level are drawn by scikit-learn's
    :class:`sklearn.metrics.PrecisionRecallDisplay`; this class adds the threshold marker
    and the course's wording.

    Parameters
    ----------
    precision, recall : ndarray
        The curve, as returned by :func:`llmlab.metrics.precision_recall_curve`.
    thresholds : ndarray, default=None
        The thresholds of the curve.
    average_precision : float, default=None
        Shown in the legend.
    pos_label : str or int, default=None
        The positive class, shown in the axis labels.
    threshold : float, default=None
        The decision threshold to mark (``y_score >= threshold`` predicts positive).
    threshold_precision, threshold_recall : float, default=None
        Precision and recall at ``threshold``.
    prevalence : float, default=None
        Share of positives: the precision of a classifier that guesses (chance level).
    name : str, default=None
        Name of the model, for the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The curve.
    threshold_marker_ : matplotlib Line2D or None
        The marker at (``threshold_recall``, ``threshold_precision``).
    chance_level_ : matplotlib Line2D or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from llmlab.plots import PrecisionRecallDisplay
    >>> disp = PrecisionRecallDisplay.from_predictions(
    ...     ["ham", "ham", "spam", "spam"], [0.1, 0.6, 0.4, 0.8], pos_label="spam")
    >>> disp.threshold_recall, disp.threshold_precision
    (0.5, 0.5)
    >>> import matplotlib.pyplot as plt; plt.close(disp.figure_)
    """

    def __init__(
        self,
        precision,
        recall,
        *,
        thresholds=None,
        average_precision=None,
        pos_label=None,
        threshold=None,
        threshold_precision=None,
        threshold_recall=None,
        prevalence=None,
        name=None,
    ):
        self.precision = np.asarray(precision, dtype=float)
        self.recall = np.asarray(recall, dtype=float)
        if self.precision.shape != self.recall.shape or self.precision.ndim != 1:
            raise ValueError(
                f"precision and recall must be 1-D and of the same length; got shapes "
                f"{self.precision.shape} and {self.recall.shape}."
            )
        self.thresholds = None if thresholds is None else np.asarray(thresholds, dtype=float)
        self.average_precision = average_precision
        self.pos_label = pos_label
        self.threshold = threshold
        self.threshold_precision = threshold_precision
        self.threshold_recall = threshold_recall
        self.prevalence = prevalence
        self.name = name

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_score,
        *,
        pos_label=None,
        threshold=0.5,
        sample_weight=None,
        drop_intermediate=False,
        name=None,
        ax=None,
        plot_chance_level=False,
    ):
        """Compute the precision-recall curve of ``y_score`` and draw it.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels of a binary task.
        y_score : array-like of shape (n_samples,)
            Score or probability of ``pos_label`` for each sample.
        pos_label : str or int, default=None
            The class that ``y_score`` scores; required unless ``y_true`` is 0/1 or -1/1.
        threshold : float or None, default=0.5
            The decision threshold to mark: ``y_score >= threshold`` predicts ``pos_label``.
            ``None`` marks nothing.
        sample_weight : array-like of shape (n_samples,), default=None
        drop_intermediate : bool, default=False
        name : str, default=None
            Name of the model, for the legend.
        ax : matplotlib Axes, default=None
        plot_chance_level : bool, default=False
            Draw the precision of random guessing (the positive rate).

        Returns
        -------
        PrecisionRecallDisplay
        """
        from sklearn.metrics import average_precision_score

        yt, ys, pos_label, sw = check_scores(
            y_true, y_score, pos_label=pos_label, sample_weight=sample_weight
        )
        check_param("threshold", threshold, [None, Interval(Real, None, None)])
        precision, recall, thresholds = precision_recall_curve(
            yt, ys, pos_label=pos_label, sample_weight=sw, drop_intermediate=drop_intermediate
        )
        w = np.ones_like(ys) if sw is None else sw
        positive = yt == pos_label
        prevalence = float(w[positive].sum() / w.sum()) if w.sum() > 0 else float("nan")
        t_precision = t_recall = None
        if threshold is not None:
            flagged = ys >= threshold
            tp = float(w[flagged & positive].sum())
            fp = float(w[flagged & ~positive].sum())
            fn = float(w[~flagged & positive].sum())
            # nothing flagged: precision 1, like the last point of the curve
            t_precision = tp / (tp + fp) if tp + fp > 0 else 1.0
            t_recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        ap = float(average_precision_score(yt, ys, pos_label=pos_label, sample_weight=sw))
        disp = cls(
            precision,
            recall,
            thresholds=thresholds,
            average_precision=ap,
            pos_label=pos_label,
            threshold=threshold,
            threshold_precision=t_precision,
            threshold_recall=t_recall,
            prevalence=prevalence,
            name=name,
        )
        return disp.plot(ax=ax, plot_chance_level=plot_chance_level)

    def plot(self, *, ax=None, name=None, plot_chance_level=False, **kwargs):
        """Draw the curve (and the threshold marker, if there is one).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        name : str, default=None
            Overrides the model name in the legend.
        plot_chance_level : bool, default=False
            Draw the precision of random guessing (needs ``prevalence``).
        **kwargs
            Passed to ``Axes.plot`` for the curve.

        Returns
        -------
        PrecisionRecallDisplay
            ``self``, with ``line_``, ``threshold_marker_``, ``chance_level_``, ``ax_`` and
            ``figure_`` set.
        """
        from sklearn.metrics import PrecisionRecallDisplay as _SklearnDisplay

        fig, ax = new_ax(ax)
        name = name if name is not None else self.name
        label = name or "model"
        if self.average_precision is not None:
            label += f" (AP = {self.average_precision:.2f})"
        if plot_chance_level and self.prevalence is None:
            raise ValueError(
                "plot_chance_level=True needs the prevalence (share of positives); build "
                "the display with from_predictions or pass prevalence=."
            )
        # scikit-learn draws the step curve and the chance level; llmlab adds the marker of
        # the threshold in use and words the labels as the course does.
        drawn = _SklearnDisplay(
            self.precision,
            self.recall,
            average_precision=self.average_precision,
            pos_label=self.pos_label,
            prevalence_pos_label=self.prevalence,
        ).plot(ax=ax, name=label, plot_chance_level=plot_chance_level)
        self.line_ = drawn.line_
        self.line_.set_label(kwargs.pop("label", label))
        if kwargs:
            self.line_.set(**kwargs)

        self.threshold_marker_ = None
        if self.threshold_precision is not None and self.threshold_recall is not None:
            (self.threshold_marker_,) = ax.plot(
                [self.threshold_recall],
                [self.threshold_precision],
                marker="o",
                markersize=8,
                linestyle="none",
                color="tab:red",
                label=(
                    f"threshold {self.threshold:g}: precision {self.threshold_precision:.2f}, "
                    f"recall {self.threshold_recall:.2f}"
                    if self.threshold is not None
                    else "chosen threshold"
                ),
            )
        self.chance_level_ = drawn.chance_level_ if plot_chance_level else None
        if self.chance_level_ is not None:
            self.chance_level_.set(
                linestyle="--",
                color="grey",
                label=f"chance level (positive rate {self.prevalence:.2f})",
            )
        suffix = f" (positive label: {self.pos_label})" if self.pos_label is not None else ""
        ax.set(
            xlabel="Recall" + suffix,
            ylabel="Precision" + suffix,
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
            title="Precision-recall curve",
        )
        ax.legend(loc="lower left")
        self.ax_ = ax
        self.figure_ = fig
        return self
