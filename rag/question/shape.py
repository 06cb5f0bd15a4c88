"""Question shape: whether it wants a yes/no, an entity, or a kind of value (an amount, a
count, a date, a name), clause by clause."""

from __future__ import annotations

import re

# A word of a question (letters, inner apostrophes and hyphens).
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")

_AUXILIARIES = {
    "does", "did", "is", "are", "was", "were", "has", "have", "had", "can", "could", "will",
    "would", "should", "do", "may", "might", "must", "shall",
}  # fmt: skip
_WH_ENTITY = {"which", "who", "whom", "whose"}
_ENTITY_NOUNS = {
    "company", "companies", "person", "people", "team", "teams", "organization", "organisation",
    "organizations", "individual", "individuals", "entity", "entities", "firm", "firms",
    "player", "players", "country", "countries", "city", "platform", "platforms", "brand",
    "brands", "athlete", "celebrity", "product", "app", "website", "service", "group",
    "institution", "agency", "university", "league", "coach", "club", "band", "artist",
    "singer", "actor", "actress", "author", "startup", "chatbot", "network", "manufacturer",
    "state", "nation",
}  # fmt: skip
# Questions that start with a frame ("Between the report ..., was there ...") ask in the
# clause after the frame.
_PREFACES = {
    "after", "before", "between", "considering", "based", "given", "following", "according",
    "in", "since", "during", "from", "with", "regarding", "when",
}  # fmt: skip
_MAIN_CLAUSE = re.compile(r",\s+(?P<w>[A-Za-z]+)\b\s*(?P<next>[A-Za-z]*)")


def answer_shape(question: str) -> str | None:
    words = WORD.findall(question)
    if not words:
        return None
    rest = question
    if words[0].lower() in _PREFACES:
        for m in _MAIN_CLAUSE.finditer(question):
            w, nxt = m.group("w").lower(), m.group("next").lower()
            if w in _WH_ENTITY and (nxt in _AUXILIARIES or nxt.endswith("ed")):
                continue  # ", which described ...": a relative clause inside the frame
            if w in _AUXILIARIES or w in _WH_ENTITY or w == "what":
                rest = question[m.start("w") :]
                break
        else:
            return None
    head = [w.lower() for w in WORD.findall(rest)[:6]]
    first = head[0]
    if first in _AUXILIARIES:
        return "yesno"
    if first in _WH_ENTITY:
        return "entity"
    if first == "what" and len(head) > 1:
        nxt = head[1:]
        if nxt[0] in ("is", "was", "are", "were") and nxt[1:3] == ["the", "name"]:
            return "entity"
        if (
            nxt[0] in ("is", "was")
            and len(nxt) > 2
            and nxt[1] == "the"
            and (nxt[2] in _ENTITY_NOUNS)
        ):
            return "entity"
        if nxt[0] in ("type", "kind") or nxt[0] in _ENTITY_NOUNS:
            return "entity"
    return None


# --------------------------------------------------------------------------- kinds of value

_NUMBER = re.compile(r"\d")
_MONEY = re.compile(
    r"[$€£¥]|\b(?:dollars?|euros?|pounds?|million|billion|tenge|rubles?|yuan)\b", re.I
)
_MONTH = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|\d{4}|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today)\b"
)
_DATE_NUMBERS = re.compile(
    r"\b(?:1[89]|20)\d{2}\b|\b(?:January|February|March|April|May|June|July|August|September|"
    r"October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.? \d{1,2}\b"
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z]+")


# The question word that opens what a clause asks ("Which company, ..., spent billions?" asks
# for a company, not an amount).
_ASKS = re.compile(r"\b(how much|how many|when|whom?|which)\b")


def expected_type(clause: str) -> str | None:
    """What kind of answer a question clause wants: number, money, date, name, or None."""
    q = clause.lower()
    asks = _ASKS.search(q)
    lead = asks.group(1) if asks else ""
    if lead == "which":  # a thing picked out by its description, whatever that mentions
        return None
    if lead == "how much":
        return "money"
    if lead == "how many":
        return "number"
    if lead == "when":
        return "date"
    if lead in ("who", "whom"):
        return "name"
    # No question word that says it ("What did the contingent cost?"): the words do.
    if re.search(r"\bcost\b|\bprice\b|\bpaid\b|\bspen[dt]\b|\bworth\b", q):
        return "money"
    if re.search(r"\bwhat (?:number|percentage|share)\b", q):
        return "number"
    if re.search(r"\bwhat (?:date|day|year|month)\b", q):
        return "date"
    return None


def fits_type(sentence: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    if wanted == "money":
        return bool(_MONEY.search(sentence)) and bool(_NUMBER.search(sentence))
    if wanted == "number":
        # Years and days of the month are dates, not counts.
        undated = _DATE_NUMBERS.sub(" ", sentence)
        return bool(_NUMBER.search(undated)) or bool(
            re.search(
                r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?)\b",
                sentence,
                re.I,
            )
        )
    if wanted == "date":
        return bool(_MONTH.search(sentence))
    return bool(_NAME.search(sentence))


def question_clauses(question: str) -> list[str]:
    """'How many died, and who did they ask for help?' → two clauses answered separately."""
    parts = re.split(
        r",\s*and\s+(?=(?:how|who|what|when|where|which|why|did|does|is|was)\b)|\?\s+|;\s*",
        question,
        flags=re.I,
    )
    return [p.strip(" ?") for p in parts if len(p.strip(" ?").split()) >= 2] or [question]
