"""Follow-up questions: one that leans on the conversation ("and who paid for it?") rewritten
as a question that stands alone, by the model or, without one, by carrying the subject."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from prompts import render
from rag.llm import LLM, Message

HistoryItem = Any  # {"role": ..., "content": ...} dicts, (user, assistant) pairs, or Messages
_FOLLOW_UP = re.compile(
    r"^(?:and|but|also|so|what about|how about|then)\b|\b(?:it|its|they|them|their|he|she|his|"
    r"her|this|that|these|those|there|the same)\b",
    re.I,
)


def turns(history: Sequence[HistoryItem] | None) -> list[tuple[str, str]]:
    """(role, text) turns from the shapes callers use."""
    out: list[tuple[str, str]] = []
    for item in history or ():
        if isinstance(item, dict):
            content = item.get("content")
            if isinstance(content, list):  # Gradio may send content as parts
                content = " ".join(
                    str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content
                )
            out.append((str(item.get("role", "user")), str(content or "")))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            user, bot = item
            if user:
                out.append(("user", str(user)))
            if bot:
                out.append(("assistant", str(bot)))
        elif hasattr(item, "role") and hasattr(item, "content"):
            out.append((str(item.role), str(item.content)))
    return out


def needs_rewrite(question: str, history: Sequence[HistoryItem] | None) -> bool:
    """A follow-up leans on the conversation: pronouns, 'and ...', or very few words."""
    if not any(role == "user" for role, _t in turns(history)):
        return False
    return bool(_FOLLOW_UP.search(question)) or len(question.split()) < 5


def heuristic_rewrite(question: str, history: Sequence[HistoryItem] | None) -> str:
    """Without a generative model: carry the previous question's subject into the follow-up."""
    previous = [t for role, t in turns(history) if role == "user"]
    if not previous:
        return question
    follow = re.sub(r"^(?:and|but|also|so|then)\s+", "", question.strip(), flags=re.I)
    follow = follow[:1].upper() + follow[1:]
    return f"{follow.rstrip('?')}? (following up on: {previous[-1].strip()})"


def rewrite(question: str, history: Sequence[HistoryItem] | None, llm: LLM | None) -> str | None:
    """The follow-up as a standalone question, or None when it already is one."""
    if not needs_rewrite(question, history):
        return None
    if llm is None:
        return heuristic_rewrite(question, history)
    convo = "\n".join(f"{role}: {text.strip()[:400]}" for role, text in turns(history)[-6:])
    reply = llm.complete(
        [Message("user", render("rewrite", history=convo, question=question))],
        max_tokens=64,
        stop=["\n"],
    )
    reply = reply.strip().strip('"')
    return reply if len(reply.split()) >= 3 else heuristic_rewrite(question, history)
