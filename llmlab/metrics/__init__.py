"""Classification metrics on scikit-learn, with errors that say what is wrong.

Every function here mirrors the scikit-learn function of the same name: same argument order,
same keywords (``labels``, ``pos_label``, ``average``, ``zero_division``, ``normalize``,
``sample_weight``), same return values. The computation *is* scikit-learn's. What this module
adds is a check of the inputs **before** scikit-learn sees them, so that a learner gets a
``ValueError`` that names the bad value and the values that would have been accepted, for
example::

    ValueError: pos_label=1 is not one of the labels in y_true and y_pred: ['ham', 'spam'].
    Pass the class you care about, e.g. pos_label='spam'.

instead of scikit-learn's terser message (or, for some mistakes, no message at all).

Differences from scikit-learn, all on purpose and all stricter:

* ``labels``, when given, must list **every** label found in ``y_true`` and ``y_pred``.
  scikit-learn silently drops samples whose labels are not listed; with an LLM classifier a
  stray answer (``"Spam"``, ``"I am not sure"``) would then vanish from the scores.
* With ``average="binary"``, a ``y_pred`` label that never occurs in ``y_true`` is reported
  by name (scikit-learn says only that the target is multiclass).
* :func:`precision_recall_curve` refuses a ``y_true`` with no positive sample: recall is
  undefined there (scikit-learn warns and sets recall to 1).
* NaN, infinite and non-integer label values, empty inputs and inputs of different lengths
  are refused up front.

Everything else, including ``zero_division="warn"`` and its ``UndefinedMetricWarning``,
behaves as in scikit-learn.

:func:`report_card` is ours: it turns metric values into verdicts with the course's
thresholds (:data:`THRESHOLDS`) and the caveat each threshold needs. It lives in
:mod:`llmlab.report` and is reachable here too (``llmlab.metrics.report_card``).

The package: :mod:`~llmlab.metrics.classification` (label metrics),
:mod:`~llmlab.metrics.curves` (score metrics), :mod:`~llmlab.metrics.uncertainty` (bootstrap
intervals, paired comparisons, McNemar's test), :mod:`~llmlab.metrics.calibration` (expected
calibration error, contextual calibration), and :mod:`~llmlab.metrics.thresholds` (a threshold
chosen on validation data). Their input checks are :mod:`llmlab.validation`'s.
"""


from llmlab.metrics.calibration import contextual_calibration, expected_calibration_error
from llmlab.metrics.classification import (
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)
from llmlab.metrics.curves import precision_recall_curve
from llmlab.metrics.thresholds import ThresholdChoice, choose_threshold
from llmlab.metrics.uncertainty import (
    BootstrapResult,
    McNemarResult,
    PairedBootstrapResult,
    confidence_interval,
    mcnemar,
    paired_bootstrap,
    paired_perplexity_difference,
    perplexity_interval,
)

# The report card is built on these metrics' rules but imports none of this package, so it can
# be offered here under scikit-learn's module without an import circle.
from llmlab.report import DIRECTIONS, THRESHOLDS, ReportCard, ReportRow, report_card
from llmlab.validation import AVERAGES

__all__ = [
    "AVERAGES",
    "BootstrapResult",
    "McNemarResult",
    "PairedBootstrapResult",
    "ThresholdChoice",
    "choose_threshold",
    "confidence_interval",
    "contextual_calibration",
    "expected_calibration_error",
    "mcnemar",
    "paired_bootstrap",
    "paired_perplexity_difference",
    "perplexity_interval",
    "DIRECTIONS",
    "THRESHOLDS",
    "ReportCard",
    "ReportRow",
    "accuracy_score",
    "balanced_accuracy_score",
    "classification_report",
    "confusion_matrix",
    "f1_score",
    "matthews_corrcoef",
    "precision_recall_curve",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
    "report_card",
]
