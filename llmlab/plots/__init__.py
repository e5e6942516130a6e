"""Display objects for the course's plots, in the style of scikit-learn's.

Displays are built the two ways scikit-learn's are, and no other:

* ``XDisplay.from_predictions(...)`` computes what to draw from what a model predicted on
  evaluation data (true labels with predicted labels, scores or probabilities; or, for
  :class:`PerplexityDisplay`, the results of :func:`llmlab.perplexity`, which sum the
  log-probabilities a model predicted for each token), then draws it.
* ``XDisplay(values, ...)`` takes values already computed (a confusion matrix, curve points,
  memory and quality measurements) and ``.plot()`` draws them.

scikit-learn's third way, ``from_estimator`` (run the model, then draw), has no counterpart
here: llmlab's models are run by :func:`llmlab.classify`, :func:`llmlab.perplexity` and
the like, whose results go to ``from_predictions``. ``plot`` takes ``ax=None`` (a new
figure) or a matplotlib ``Axes``, returns the display and stores the drawn artists on it:
``ax_`` and ``figure_`` always, plus the artists that a test or an exercise may want to
inspect. The older names ``PerplexityDisplay.from_results`` and
``MemoryQualityDisplay.from_measurements`` still work for one release, with a
``FutureWarning``.

* :class:`ConfusionMatrixDisplay` - counts (and optionally normalised rates) per cell.
* :class:`PrecisionRecallDisplay` - the precision-recall curve, with the chosen threshold.
* :class:`ReliabilityDisplay` - the reliability diagram of predicted probabilities, with ECE.
* :class:`PerplexityDisplay` - perplexity and bits per byte of several models, as bars.
* :class:`MemoryQualityDisplay` - memory against quality, e.g. for quantized models.

matplotlib is imported only when something is drawn, so ``import llmlab.plots`` stays cheap.
"""

from llmlab.plots.calibration import ReliabilityDisplay
from llmlab.plots.classification import ConfusionMatrixDisplay, PrecisionRecallDisplay
from llmlab.plots.language import MemoryQualityDisplay, PerplexityDisplay

__all__ = [
    "ConfusionMatrixDisplay",
    "MemoryQualityDisplay",
    "PerplexityDisplay",
    "PrecisionRecallDisplay",
    "ReliabilityDisplay",
]
