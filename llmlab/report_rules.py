"""The rules that judge a report card's values: :mod:`llmlab.report.rules`, under its old name.

The row specifications are in :mod:`llmlab.report.registry`; this module keeps the names it
had so that existing imports work.
"""

from llmlab.report.compute import check_card_value
from llmlab.report.present import format_metric, rule_text
from llmlab.report.registry import DIRECTIONS, ROWS, SPECS, RowSpec
from llmlab.report.rules import (
    RULE_KEYS,
    THRESHOLDS,
    Verdict,
    chance_verdict,
    check_thresholds,
    interval_verdict,
    judge,
    pr_balance_verdict,
    verdict,
)

__all__ = ["DIRECTIONS", "ROWS", "RULE_KEYS", "SPECS", "THRESHOLDS", "RowSpec", "Verdict",
           "chance_verdict", "check_card_value", "check_thresholds", "format_metric",
           "interval_verdict", "judge", "pr_balance_verdict", "rule_text", "verdict"]
