"""Question shape: whether it wants a yes/no, an entity, or a kind of value (an amount, a
count, a date, a name), clause by clause."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# --------------------------------------------------------------------------- reasoning shapes

# Words by which a question asks whether reports say the same ("consistent", "agree") or
# differ ("a change", "contradict").
_SAME = re.compile(
    r"\b(?:consistent|consistency|consistently|unchanged|same|similar|similarly|agree|agrees|"
    r"agreement|align|aligns|aligned|in line)\b",
    re.I,
)
_DIFFERENT = re.compile(
    r"\b(?:inconsistent|inconsistency|change|changed|changes|shift|shifted|differ|differs|"
    r"differing|different|difference|discrepancy|disagree|disagrees|contradict|contradicts|"
    r"contradictory|contrast|diverge|diverged)\b",
    re.I,
)
# "no change", "not differ", "without contradiction": the difference word denied.
_DENIED = re.compile(r"\b(?:no|not|without|never)\s+(?:\w+\s+){0,2}$", re.I)
# "consistent or inconsistent?", "agree or disagree?": the answer is one of two words.
_CHOICE = re.compile(r"\b(\w+)\s+or\s+(\w+)\b", re.I)
# A yes/no question about the order of two reports ("Was the Fortune report published before
# the Verge report?"): its publication dates answer it.
_ORDER = re.compile(
    r"\b(?:published|reported|released|came out|posted|written|appeared)\s+"
    r"(?P<rel>before|after|earlier than|later than|prior to)\b"
    # ... a report, not a date: "published after October 31" only dates one report.
    r"(?!\s+(?:\d|january|february|march|april|may|june|july|august|september|october|"
    r"november|december|last|this|next|yesterday|today))",
    re.I,
)


# What a report is said to say ("the Fortune article suggests ...").
_SAYS = re.compile(
    r"\b(?:suggest|indicate|imply|implie|claim|state|mention|allege|highlight|assert|argue|"
    r"describe|discuss|attribute|portray|reveal|emphasi[sz]e|identif(?:y|ie)|recogni[sz]e|"
    r"predict|acknowledge|confirm|explain)(?:s|ed|d|ing)?\b",
    re.I,
)


@dataclass(frozen=True)
class QuestionShape:
    """What reasoning a question calls for, which code does and the model only reads for.

    kind: "entity" (which X do the reports share), "claims" (yes/no: does each named report
    say what the question says it does), "agreement" (yes/no or a choice: do the reports
    say the same), "order" (yes/no: was one report before the other), "open" (anything else).
    """

    kind: str
    topic: str = ""  # agreement: what the reports are compared on ("Google's ad practices")
    asks_same: bool = True  # agreement: "consistent?" (True) or "was there a change?" (False)
    choices: tuple[str, ...] = ()  # agreement asked as "consistent or inconsistent?"
    relation: str = ""  # order: "before" | "after"


OPEN = QuestionShape("open")


def question_shape(question: str, wants: str | None, reports: int) -> QuestionShape:
    """The shape of a question whose answer shape is `wants` and that names `reports` reports
    (hops); one report is enough for a claim, agreement needs two."""
    if wants == "entity":
        return QuestionShape("entity")
    if wants != "yesno":
        return QuestionShape("open")
    order = _ORDER.search(question)
    if order and reports >= 2:
        rel = order.group("rel").lower()
        before = rel in ("before", "earlier than", "prior to")
        return QuestionShape("order", relation="before" if before else "after")
    choice = _choice(question)
    if len(_SAYS.findall(question)) >= 2 and not choice:
        # "Does A suggest X, while B implies Y?": a claim per report, even where X or Y
        # speaks of a difference ("in contrast to", "a different ...").
        return QuestionShape("claims")
    same = list(_SAME.finditer(question))
    different = list(_DIFFERENT.finditer(question))
    if reports >= 2 and (same or different):
        topic = _topic(question)
        if choice:
            return QuestionShape("agreement", topic, asks_same=True, choices=choice)
        first = min([*same, *different], key=lambda m: m.start())
        asks_same = first in same
        if _DENIED.search(question[: first.start()]):
            asks_same = not asks_same
        return QuestionShape("agreement", topic, asks_same=asks_same)
    return QuestionShape("claims")


# "consistency in the portrayal of X", "a change in the reporting regarding X", "agree on X".
_TOPIC = re.compile(
    r"\b(?:consisten\w*|inconsisten\w*|change[sd]?|shift(?:ed)?|differ\w*|agree\w*|disagree\w*|"
    r"align\w*|same|similar\w*|unchanged)\s+(?:(?:in|on|with|regarding|about|of|between|to)\s+)?"
    r"(?:(?:the|a|an|their|its)\s+)?(?:(?:portrayal|reporting|narrative|depiction|coverage|"
    r"stance|view|views|perspective|information|explanation|assessment|description|"
    r"characteri[sz]ation|framing|emphasis|tone|status|level|type|kind|approach)\s+)?"
    r"(?:(?:of|on|regarding|about|concerning|towards|toward|in)\s+)?(?P<topic>[^,?;]{3,})",
    re.I,
)


# "the portrayal of X" anywhere names the topic best ("Has the portrayal of X in reports by A
# remained consistent with the depiction in B's coverage?").
_ASPECT = re.compile(
    r"\b(?:portrayal|reporting|narrative|depiction|coverage|stance|views?|perspective|"
    r"explanation|assessment|description|characteri[sz]ation|framing|emphasis|tone|status)\s+"
    r"(?:of|on|regarding|about|concerning|towards?)\s+(?P<topic>[^,?;]{3,})",
    re.I,
)
# Where a topic's words give way to which reports it is in.
_TOPIC_END = re.compile(
    r"\s+(?:in|by|from|between|according|as|after|before|within|across|compared)\b.*$", re.I
)


def _topic(question: str) -> str:
    """What two reports are compared on: "the portrayal of X", else the words after
    "consistent"/"a change in"/"agree on"."""
    for pattern in (_ASPECT, _TOPIC):
        for m in pattern.finditer(question):
            topic = _TOPIC_END.sub("", m.group("topic")).strip()
            words = topic.lower().split()
            if len(words) >= 2 and words[0] not in ("this", "that", "these", "those", "it"):
                return topic
    return ""


def _choice(question: str) -> tuple[str, ...]:
    """("Consistent", "Inconsistent") for "... consistent or inconsistent?" (same first)."""
    for m in _CHOICE.finditer(question):
        a, b = m.group(1), m.group(2)
        if _SAME.fullmatch(a) and _DIFFERENT.fullmatch(b):
            return a.capitalize(), b.capitalize()
        if _DIFFERENT.fullmatch(a) and _SAME.fullmatch(b):
            return b.capitalize(), a.capitalize()
    # "Do they agree on X, or is there a discrepancy?": the two sides of the last " or ".
    head, sep, tail = question.rpartition(" or ")
    same, different = _SAME.search(head), _DIFFERENT.search(tail)
    if sep and same and different and not _DENIED.search(head[: same.start()]):
        return same.group(0).capitalize(), different.group(0).capitalize()
    return ()
