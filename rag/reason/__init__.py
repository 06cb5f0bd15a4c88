"""Reasoning by question shape: the model reads a few sentences per job, code draws the answer
(which entity, Yes/No from per-report verdicts, agreement, order by date)."""

from rag.reason.draft import Draft, label
from rag.reason.reading import CONTRADICTED, NOT_FOUND, SUPPORTED, Reading
from rag.reason.reports import Report
from rag.reason.shapes import (
    Missing,
    Outcome,
    Reasoning,
    Tools,
    answer_by_shape,
    named_reports,
    reason,
    shaped_answer,
)

__all__ = [
    "CONTRADICTED",
    "NOT_FOUND",
    "SUPPORTED",
    "Draft",
    "Missing",
    "Outcome",
    "Reading",
    "Reasoning",
    "Report",
    "Tools",
    "answer_by_shape",
    "label",
    "named_reports",
    "reason",
    "shaped_answer",
]
