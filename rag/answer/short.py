"""Short answers: the "Yes"/"No" or the entity an answer's first sentence gives, when the
question's shape asks for one."""

from __future__ import annotations

import re

from rag.answer.markers import strip_markers


def short_answer(text: str, wants: str | None) -> str | None:
    """The short form of an answer's text for a question that wants "yesno" or "entity"."""
    plain = strip_markers(text)
    first = re.split(r"(?<=[.!?])\s+", plain, maxsplit=1)[0].strip()
    if wants == "yesno":
        m = re.match(r"^(yes|no)\b", first, re.I)
        return m.group(1).capitalize() if m else None
    if wants == "entity" and 0 < len(first.split()) <= 6:
        return first.rstrip(".")
    return None
