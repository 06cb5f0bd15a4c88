"""Answering: the source sentences the model is shown, the prompt, the draft (generated or
extractive), short answers and follow-up rewriting."""

from rag.answer.extractive import extractive_answer
from rag.answer.followup import HistoryItem, rewrite
from rag.answer.generate import draft
from rag.answer.markers import ABSTAIN_TOKEN, strip_markers
from rag.answer.sources import SourceSentence, select_sentences

__all__ = [
    "ABSTAIN_TOKEN",
    "HistoryItem",
    "SourceSentence",
    "draft",
    "extractive_answer",
    "rewrite",
    "select_sentences",
    "strip_markers",
]
