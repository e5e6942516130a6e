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
