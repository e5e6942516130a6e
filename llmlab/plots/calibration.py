"""The reliability diagram of predicted probabilities, on scikit-learn's
CalibrationDisplay, with the expected calibration error."""

from __future__ import annotations

import numpy as np

from llmlab.plots.base import new_ax

__all__ = ["ReliabilityDisplay"]


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

        from llmlab.metrics.calibration import calibration_bins, expected_calibration_error
        from llmlab.validation import check_probabilities

        positive, yp = check_probabilities(y_true, y_prob, pos_label=pos_label)
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

        fig, ax = new_ax(ax)
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
