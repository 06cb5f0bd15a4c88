"""An LLM as a yes/no judge of whether evidence states a claim (prompts/judge.md); used by
verification (DATELINE_JUDGE=llm) and by the evaluation's citation scores."""

from __future__ import annotations

from collections.abc import Sequence

from prompts import render
from rag.llm import LLM, Message


class LLMJudge:
    """Asks the model once per (claim, evidence) pair and remembers the verdict: citation
    scores ask about the same claim with several subsets of its citations."""

    def __init__(self, llm: LLM) -> None:
        self._llm = llm
        self._cache: dict[tuple[str, tuple[str, ...]], bool] = {}

    def supports(self, claim: str, evidence: Sequence[str]) -> bool:
        """Whether the sentences, read together, state the claim (no evidence: no)."""
        key = (claim, tuple(evidence))
        if key not in self._cache:
            text = " ".join(e.strip() for e in evidence if e.strip())
            if not text:
                self._cache[key] = False
            else:
                reply = self._llm.complete(
                    [Message("user", render("judge", claim=claim, evidence=text))], max_tokens=3
                )
                self._cache[key] = reply.strip().lower().startswith("yes")
        return self._cache[key]
