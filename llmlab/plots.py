"""Display objects for the course's plots, in the style of scikit-learn's.

Each display is built with a class method (``from_predictions``, ``from_results`` or
``from_measurements``) that computes what to draw and draws it, or with its constructor from
values you already have, followed by :meth:`plot`. ``plot`` takes ``ax=None`` (a new figure)
or a matplotlib ``Axes``, returns the display and stores the drawn artists on it: ``ax_`` and
``figure_`` always, plus the artists that a test or an exercise may want to inspect.

* :class:`ConfusionMatrixDisplay` - counts (and optionally normalised rates) per cell.
* :class:`PrecisionRecallDisplay` - the precision-recall curve, with the chosen threshold.
* :class:`ReliabilityDisplay` - the reliability diagram of predicted probabilities, with ECE.
* :class:`PerplexityDisplay` - perplexity and bits per byte of several models, as bars.
* :class:`MemoryQualityDisplay` - memory against quality, e.g. for quantized models.

matplotlib is imported only when something is drawn, so ``import llmlab.plots`` stays cheap.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from llmlab.metrics import THRESHOLDS, confusion_matrix, precision_recall_curve
from llmlab.metrics.validation import check_option, check_scores, check_targets

__all__ = [
    "ConfusionMatrixDisplay",
    "MemoryQualityDisplay",
    "PerplexityDisplay",
    "PrecisionRecallDisplay",
    "ReliabilityDisplay",
]


def _new_ax(ax):
    """Return ``(figure, ax)``, making a new figure when ``ax`` is None."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots()
        return fig, ax
    if not hasattr(ax, "figure") or not hasattr(ax, "plot"):
        raise ValueError(f"ax={ax!r} is not a matplotlib Axes; pass one, or None for a new figure.")
    return ax.figure, ax


def _format_number(value, fmt=None) -> str:
    if fmt is not None:
        return format(value, fmt)
    if float(value).is_integer():
        return str(int(value))
    return format(value, ".2f")


# --------------------------------------------------------------------------------------
# Confusion matrix
# --------------------------------------------------------------------------------------


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

        fig, ax = _new_ax(ax)
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
                    cell.set_text(f"{cell.get_text()}\n({_format_number(self.counts[i, j])})")
        if title is None:
            title = "Confusion matrix"
            if self.normalize is not None:
                title += {"true": " (rates per true label)", "pred": " (rates per prediction)",
                          "all": " (rates of all samples)"}[self.normalize]
        ax.set_title(title)
        self.ax_ = ax
        self.figure_ = fig
        return self


# --------------------------------------------------------------------------------------
# Precision-recall curve
# --------------------------------------------------------------------------------------


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
        if threshold is not None and (
            not isinstance(threshold, numbers.Real) or not math.isfinite(threshold)
        ):
            raise ValueError(f"threshold={threshold!r} must be a finite number or None.")
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

        fig, ax = _new_ax(ax)
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


# --------------------------------------------------------------------------------------
# Reliability diagram
# --------------------------------------------------------------------------------------


class ReliabilityDisplay:
    """Reliability diagram: the share of positives against the predicted probability, per bin.

    Drawn by scikit-learn's :class:`sklearn.calibration.CalibrationDisplay` (the curve and
    the diagonal of perfect calibration); llmlab adds the expected calibration error in the
    legend (:func:`llmlab.metrics.expected_calibration_error`, same bins), the number of
    samples per bin, and its label checks. Points below the diagonal: the model is
    over-confident about the positive class; above: under-confident.

    Parameters
    ----------
    prob_true, prob_pred : ndarray of shape (n_nonempty_bins,)
        Share of positives and mean predicted probability in each non-empty bin.
    y_prob : ndarray of shape (n_samples,)
        The predicted probabilities.
    counts : ndarray of shape (n_nonempty_bins,), default=None
        Samples per non-empty bin.
    ece : float, default=None
        Expected calibration error, shown in the legend.
    pos_label : str or int, default=None
    name : str, default=None
        Name of the model, for the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The calibration curve.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from llmlab.plots import ReliabilityDisplay
    >>> disp = ReliabilityDisplay.from_predictions(
    ...     ["ham", "ham", "spam", "spam"], [0.1, 0.3, 0.7, 0.9], pos_label="spam", n_bins=2)
    >>> disp.prob_true.tolist(), disp.prob_pred.round(2).tolist(), round(disp.ece, 2)
    ([0.0, 1.0], [0.2, 0.8], 0.2)
    >>> disp.line_.get_label()
    'model (ECE = 0.200)'
    >>> import matplotlib.pyplot as plt; plt.close(disp.figure_)
    """

    def __init__(self, prob_true, prob_pred, y_prob, *, counts=None, ece=None, pos_label=None,
                 name=None):
        self.prob_true = np.asarray(prob_true, dtype=float)
        self.prob_pred = np.asarray(prob_pred, dtype=float)
        if self.prob_true.shape != self.prob_pred.shape or self.prob_true.ndim != 1:
            raise ValueError(
                f"prob_true and prob_pred must be 1-D and of the same length; got shapes "
                f"{self.prob_true.shape} and {self.prob_pred.shape}."
            )
        self.y_prob = np.asarray(y_prob, dtype=float)
        self.counts = None if counts is None else np.asarray(counts)
        self.ece = ece
        self.pos_label = pos_label
        self.name = name

    @classmethod
    def from_predictions(cls, y_true, y_prob, *, pos_label=None, n_bins=10, strategy="uniform",
                         name=None, ax=None, ref_line=True):
        """Bin the probabilities, compute the curve and the ECE, and draw them.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels of a binary task.
        y_prob : array-like of shape (n_samples,)
            Probability of ``pos_label``, in [0, 1] (e.g. ``classify(...).y_score``).
        pos_label : str or int, default=None
            Required unless ``y_true`` is 0/1 or -1/1.
        n_bins : int, default=10
        strategy : {"uniform", "quantile"}, default="uniform"
        name : str, default=None
        ax : matplotlib Axes, default=None
            Draw on it (e.g. a second model, or the same model after calibration).
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration.

        Returns
        -------
        ReliabilityDisplay
        """
        from sklearn.calibration import calibration_curve

        from llmlab.metrics.calibration import (
            _check_probabilities,
            calibration_bins,
            expected_calibration_error,
        )

        positive, yp = _check_probabilities(y_true, y_prob, pos_label)
        ece = expected_calibration_error(positive.astype(int), yp, pos_label=1, n_bins=n_bins,
                                         strategy=strategy)
        prob_true, prob_pred = calibration_curve(positive.astype(int), yp, n_bins=n_bins,
                                                 strategy=strategy)
        counts = np.bincount(calibration_bins(yp, n_bins=n_bins, strategy=strategy))
        counts = counts[counts > 0]
        if pos_label is None:
            pos_label = 1
        disp = cls(prob_true, prob_pred, yp, counts=counts, ece=ece, pos_label=pos_label,
                   name=name)
        return disp.plot(ax=ax, ref_line=ref_line)

    def plot(self, *, ax=None, name=None, ref_line=True, show_counts=True, **kwargs):
        """Draw the curve (and the diagonal).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        name : str, default=None
            Overrides the model name in the legend.
        ref_line : bool, default=True
        show_counts : bool, default=True
            Write the number of samples next to each point (needs ``counts``).
        **kwargs
            Passed to ``Axes.plot`` for the curve.

        Returns
        -------
        ReliabilityDisplay
            ``self``, with ``line_``, ``ax_`` and ``figure_`` set.
        """
        from sklearn.calibration import CalibrationDisplay as _SklearnDisplay

        fig, ax = _new_ax(ax)
        label = (name if name is not None else self.name) or "model"
        if self.ece is not None:
            label += f" (ECE = {self.ece:.3f})"
        drawn = _SklearnDisplay(self.prob_true, self.prob_pred, self.y_prob,
                                pos_label=self.pos_label).plot(ax=ax, name=label,
                                                               ref_line=ref_line, **kwargs)
        self.line_ = drawn.line_
        self.count_texts_ = []
        if show_counts and self.counts is not None and len(self.counts) == len(self.prob_true):
            self.count_texts_ = [
                ax.annotate(f"{int(c)}", (x, y), textcoords="offset points", xytext=(4, -10),
                            fontsize=7, color=self.line_.get_color())
                for c, x, y in zip(self.counts, self.prob_pred, self.prob_true, strict=True)
            ]
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), title="Reliability diagram")
        ax.legend(loc="upper left")
        self.ax_ = ax
        self.figure_ = fig
        return self


# --------------------------------------------------------------------------------------
# Perplexity / bits per byte
# --------------------------------------------------------------------------------------

_PPL_METRICS = ("both", "perplexity", "bits_per_byte")


def _parse_result(name, result):
    """Return ``(perplexity, bits_per_byte)`` from one entry of ``results``."""
    if hasattr(result, "perplexity"):
        ppl, bpb = result.perplexity, getattr(result, "bits_per_byte", None)
    elif isinstance(result, Mapping):
        if "perplexity" not in result:
            raise ValueError(
                f"results[{name!r}] is a mapping without a 'perplexity' key; expected "
                f"{{'perplexity': ..., 'bits_per_byte': ...}}."
            )
        ppl, bpb = result["perplexity"], result.get("bits_per_byte")
    elif isinstance(result, Sequence) and not isinstance(result, str) and len(result) == 2:
        ppl, bpb = result
    elif isinstance(result, numbers.Real):
        ppl, bpb = result, None
    else:
        raise ValueError(
            f"results[{name!r}]={result!r} is not understood; give a perplexity result (with "
            f".perplexity and .bits_per_byte), a (perplexity, bits_per_byte) pair, or a "
            f"mapping with those keys."
        )
    for label, value, low in (("perplexity", ppl, 1.0), ("bits_per_byte", bpb, 0.0)):
        if value is None and label == "bits_per_byte":
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (numbers.Real, np.number))
            or not math.isfinite(value)
            or value < low
        ):
            raise ValueError(
                f"results[{name!r}] has {label}={value!r}; it must be a finite number >= {low:g}."
            )
    return float(ppl), (None if bpb is None else float(bpb))


class PerplexityDisplay:
    """Bar charts of perplexity and bits per byte across models (or texts).

    Perplexity depends on the tokenizer, so models with different tokenizers are compared
    with bits per byte; the chart shows both side by side by default. The perplexity panel
    marks the course's thresholds (:data:`llmlab.metrics.THRESHOLDS`).

    Parameters
    ----------
    names : list of str
        One bar per name.
    perplexity : list of float
    bits_per_byte : list of float, default=None

    Attributes
    ----------
    bars_ : dict
        ``{metric: matplotlib BarContainer}`` for each drawn metric.
    axes_ : dict
        ``{metric: matplotlib Axes}`` for each drawn metric.
    ax_ : matplotlib Axes, or ndarray of two Axes when both metrics are drawn
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from llmlab.plots import PerplexityDisplay
    >>> disp = PerplexityDisplay.from_results({"tiny-llama": (14.2, 1.31),
    ...                                        "tiny-mistral": (17.9, 1.27)})
    >>> [round(float(b.get_height()), 2) for b in disp.bars_["bits_per_byte"]]
    [1.31, 1.27]
    >>> import matplotlib.pyplot as plt; plt.close(disp.figure_)
    """

    def __init__(self, names, perplexity, bits_per_byte=None):
        names = [str(n) for n in names]
        ppl = [float(v) for v in perplexity]
        if len(names) == 0:
            raise ValueError("names is empty; give at least one model or text to plot.")
        if len(ppl) != len(names):
            raise ValueError(
                f"names has {len(names)} entries but perplexity has {len(ppl)}; give one value "
                f"per name."
            )
        if bits_per_byte is not None:
            bpb = [None if v is None else float(v) for v in bits_per_byte]
            if len(bpb) != len(names):
                raise ValueError(
                    f"names has {len(names)} entries but bits_per_byte has {len(bpb)}; give "
                    f"one value per name."
                )
        else:
            bpb = None
        self.names = names
        self.perplexity = ppl
        self.bits_per_byte = bpb

    @classmethod
    def from_results(cls, results, *, metric="both", ax=None, show_thresholds=True):
        """Draw perplexity and/or bits per byte for each entry of ``results``.

        Parameters
        ----------
        results : mapping of str to result
            ``{name: result}`` where result is the output of :func:`llmlab.perplexity`
            (anything with ``.perplexity`` and ``.bits_per_byte``), a
            ``(perplexity, bits_per_byte)`` pair, a mapping with those keys, or a bare
            perplexity.
        metric : {'both', 'perplexity', 'bits_per_byte'}, default='both'
        ax : matplotlib Axes (or a pair of Axes for 'both'), default=None
        show_thresholds : bool, default=True
            Mark the course's perplexity thresholds.

        Returns
        -------
        PerplexityDisplay
        """
        if not isinstance(results, Mapping):
            raise ValueError(  # noqa: TRY004 - bad user input is a ValueError here
                f"results must be a mapping {{name: result}}, got {type(results).__name__}."
            )
        if not results:
            raise ValueError("results is empty; give at least one model or text to plot.")
        parsed = {str(name): _parse_result(name, res) for name, res in results.items()}
        bpb = [v[1] for v in parsed.values()]
        disp = cls(
            list(parsed),
            [v[0] for v in parsed.values()],
            None if all(b is None for b in bpb) else bpb,
        )
        return disp.plot(metric=metric, ax=ax, show_thresholds=show_thresholds)

    def plot(self, *, metric="both", ax=None, show_thresholds=True, color=None):
        """Draw the bars.

        Parameters
        ----------
        metric : {'both', 'perplexity', 'bits_per_byte'}, default='both'
        ax : matplotlib Axes, default=None
            For ``'both'``, ``None`` or a sequence of two Axes.
        show_thresholds : bool, default=True
            Mark the perplexity thresholds of :data:`llmlab.metrics.THRESHOLDS`.
        color : color or list of colors, default=None

        Returns
        -------
        PerplexityDisplay
            ``self``, with ``bars_``, ``axes_``, ``ax_`` and ``figure_`` set.
        """
        check_option("metric", metric, _PPL_METRICS)
        metrics = ["perplexity", "bits_per_byte"] if metric == "both" else [metric]
        if "bits_per_byte" in metrics and (
            self.bits_per_byte is None or any(v is None for v in self.bits_per_byte)
        ):
            missing = (
                self.names if self.bits_per_byte is None
                else [n for n, v in zip(self.names, self.bits_per_byte, strict=True) if v is None]
            )
            raise ValueError(
                f"bits per byte is missing for {missing!r}; give it, or plot "
                f"metric='perplexity'."
            )
        import matplotlib.pyplot as plt

        if len(metrics) == 2:
            if ax is None:
                fig, axes = plt.subplots(
                    1, 2, figsize=(max(6.4, 1.6 * len(self.names) + 3), 3.8)
                )
            else:
                axes = np.asarray(ax, dtype=object).ravel()
                if axes.size != 2:
                    raise ValueError(
                        "metric='both' draws two panels: pass ax as a pair of Axes, or None."
                    )
                fig = axes[0].figure
            axes = np.asarray(axes, dtype=object)
        else:
            fig, single = _new_ax(ax)
            axes = np.asarray([single], dtype=object)

        self.bars_ = {}
        self.axes_ = {}
        for m, a in zip(metrics, axes, strict=True):
            values = self.perplexity if m == "perplexity" else self.bits_per_byte
            bars = a.bar(self.names, values, color=color)
            a.bar_label(bars, fmt="%.2f" if m == "perplexity" else "%.3f")
            if m == "perplexity":
                a.set_title("Perplexity (lower is better;\ndepends on the tokenizer)")
                a.set_ylabel("perplexity")
                rule = THRESHOLDS["perplexity"]
                if show_thresholds:
                    if "good_below" in rule:
                        a.axhline(rule["good_below"], color="tab:green", linestyle="--",
                                  label=f"good below {rule['good_below']:g}")
                    if "bad_above" in rule:
                        a.axhline(rule["bad_above"], color="tab:red", linestyle="--",
                                  label=f"bad above {rule['bad_above']:g}")
                    a.legend(loc="upper right", fontsize="small")
            else:
                a.set_title("Bits per byte (lower is better;\ncomparable across tokenizers)")
                a.set_ylabel("bits per byte")
            a.tick_params(axis="x", labelrotation=20 if len(self.names) > 3 else 0)
            self.bars_[m] = bars
            self.axes_[m] = a
        fig.tight_layout()
        self.ax_ = axes if len(metrics) == 2 else axes[0]
        self.figure_ = fig
        return self


# --------------------------------------------------------------------------------------
# Memory against quality
# --------------------------------------------------------------------------------------

_UNITS = (("B", 1), ("KiB", 1024), ("MiB", 1024**2), ("GiB", 1024**3))


class MemoryQualityDisplay:
    """Scatter plot of memory against quality, one labelled point per model.

    The usual use is quantization: the same model loaded in float32, 8-bit and 4-bit uses
    less memory and, maybe, predicts a little worse.

    Parameters
    ----------
    names : list of str
    memory_bytes : list of float
        Memory of each model in bytes (e.g. from :func:`llmlab.memory_footprint`).
    quality : list of float
        Quality of each model, e.g. bits per byte or accuracy.
    quality_label : str, default="bits per byte"
    lower_is_better : bool, default=True
        Says which way is better on the quality axis (True for bits per byte or perplexity,
        False for accuracy).

    Attributes
    ----------
    scatter_ : matplotlib PathCollection
        The points; ``scatter_.get_offsets()`` holds (memory in ``memory_unit_``, quality).
    annotations_ : list of matplotlib Annotation
        One name per point.
    line_ : matplotlib Line2D or None
        The points joined in order of memory (``connect=True``).
    memory_unit_ : str
        "B", "KiB", "MiB" or "GiB", chosen from the largest value.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from llmlab.plots import MemoryQualityDisplay
    >>> disp = MemoryQualityDisplay.from_measurements(
    ...     ["fp32", "8bit", "4bit"], [40e6, 12e6, 8e6], [1.20, 1.21, 1.27])
    >>> disp.memory_unit_
    'MiB'
    >>> import matplotlib.pyplot as plt; plt.close(disp.figure_)
    """

    def __init__(self, names, memory_bytes, quality, *, quality_label="bits per byte",
                 lower_is_better=True):
        names = [str(n) for n in names]
        if len(names) == 0:
            raise ValueError("names is empty; give at least one model to plot.")
        arrays = {}
        for label, values in (("memory_bytes", memory_bytes), ("quality", quality)):
            try:
                arr = np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"{label} must be a sequence of numbers.") from None
            if arr.ndim != 1 or arr.shape[0] != len(names):
                raise ValueError(
                    f"names has {len(names)} entries but {label} has "
                    f"{arr.shape[0] if arr.ndim == 1 else arr.shape}; give one value per name."
                )
            bad = ~np.isfinite(arr)
            if label == "memory_bytes":
                bad |= arr <= 0
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                need = "positive" if label == "memory_bytes" else "finite"
                raise ValueError(
                    f"{label}[{i}] is {arr[i].item()!r} (for {names[i]!r}); it must be a "
                    f"{need} number."
                )
            arrays[label] = arr
        self.names = names
        self.memory_bytes = arrays["memory_bytes"]
        self.quality = arrays["quality"]
        self.quality_label = quality_label
        self.lower_is_better = bool(lower_is_better)

    @classmethod
    def from_measurements(
        cls,
        names,
        memory_bytes,
        quality,
        *,
        quality_label="bits per byte",
        lower_is_better=True,
        ax=None,
        connect=True,
    ):
        """Draw one point per model at (memory, quality).

        Parameters
        ----------
        names, memory_bytes, quality, quality_label, lower_is_better
            See the class.
        ax : matplotlib Axes, default=None
        connect : bool, default=True
            Join the points in order of memory.

        Returns
        -------
        MemoryQualityDisplay
        """
        disp = cls(names, memory_bytes, quality, quality_label=quality_label,
                   lower_is_better=lower_is_better)
        return disp.plot(ax=ax, connect=connect)

    def plot(self, *, ax=None, connect=True, unit=None):
        """Draw the points.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        connect : bool, default=True
            Join the points in order of memory.
        unit : {'B', 'KiB', 'MiB', 'GiB'}, default=None
            Unit of the memory axis; ``None`` picks one from the largest value.

        Returns
        -------
        MemoryQualityDisplay
            ``self``, with ``scatter_``, ``annotations_``, ``line_``, ``memory_unit_``,
            ``ax_`` and ``figure_`` set.
        """
        units = dict(_UNITS)
        if unit is None:
            unit = [u for u, size in _UNITS if self.memory_bytes.max() >= size][-1]
        check_option("unit", unit, tuple(units))
        x = self.memory_bytes / units[unit]
        fig, ax = _new_ax(ax)
        self.line_ = None
        if connect and len(x) > 1:
            order = np.argsort(x, kind="stable")
            (self.line_,) = ax.plot(x[order], self.quality[order], linestyle="--",
                                    color="grey", zorder=1)
        self.scatter_ = ax.scatter(x, self.quality, zorder=2)
        self.annotations_ = [
            ax.annotate(name, (xi, qi), textcoords="offset points", xytext=(6, 6))
            for name, xi, qi in zip(self.names, x, self.quality, strict=True)
        ]
        better = "lower" if self.lower_is_better else "higher"
        ax.set(
            xlabel=f"memory ({unit})",
            ylabel=f"{self.quality_label} ({better} is better)",
            title="Memory against quality",
        )
        ax.margins(0.15)
        self.memory_unit_ = unit
        self.ax_ = ax
        self.figure_ = fig
        return self
