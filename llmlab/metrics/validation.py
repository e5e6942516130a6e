"""The metrics' input checks, now in :mod:`llmlab.validation`; re-exported here so that
modules still importing them from ``llmlab.metrics.validation`` keep working."""

from llmlab.validation import (
    AVERAGES,
    check_option,
    check_prf_options,
    check_probabilities,
    check_sample_weight,
    check_scores,
    check_targets,
)

__all__ = [
    "AVERAGES",
    "check_option",
    "check_prf_options",
    "check_probabilities",
    "check_sample_weight",
    "check_scores",
    "check_targets",
]
