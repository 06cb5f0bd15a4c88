"""Verification: every claim of a draft answer checked against the sentences it cites, and
the final Answer built from what holds."""

from rag.verify.claims import Judge, Similarity, check_claim
from rag.verify.finish import abstain, finish
from rag.verify.judge import LLMJudge
from rag.verify.support import Verified, verify

__all__ = [
    "Judge",
    "LLMJudge",
    "Similarity",
    "Verified",
    "abstain",
    "check_claim",
    "finish",
    "verify",
]
