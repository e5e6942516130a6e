"""The report card object: :mod:`llmlab.report.card`, under its old name."""

from llmlab.report.card import FORMATS, ReportCard, ReportRow, format_value, plain

__all__ = ["FORMATS", "ReportCard", "ReportRow", "format_value", "plain"]
