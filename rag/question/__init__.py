"""Question understanding: what a question says about outlets, dates, reports and the shape
of its answer, read into a QueryPlan for retrieval and answering."""

from rag.question.anchors import report_anchors
from rag.question.dates import parse_dates
from rag.question.outlets import absent_outlets, match_sources
from rag.question.plan import plan_query
from rag.question.shape import QuestionShape, question_shape
from rag.question.types import (
    FAR_FUTURE,
    FAR_PAST,
    DateRange,
    Filters,
    QueryPlan,
    ReportAnchor,
    SubQuery,
    span_bounds,
)

__all__ = [
    "FAR_FUTURE",
    "FAR_PAST",
    "DateRange",
    "Filters",
    "QueryPlan",
    "QuestionShape",
    "ReportAnchor",
    "SubQuery",
    "absent_outlets",
    "match_sources",
    "parse_dates",
    "plan_query",
    "question_shape",
    "report_anchors",
    "span_bounds",
]
