"""Entity candidates: the names in the retrieved passages that could answer a "which X"
question, ranked by how many of the question's reports name them."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.types import Article, Hit
from rag.words import is_asked, lower_words, names_in, question_names

# Names offered to the reading job: the answer is among the first few nearly always, and
# every extra candidate costs prompt tokens.
MAX_CANDIDATES = 6

# Words that say a name is an organisation, not a person.
_ORG_WORDS = {
    "inc", "corp", "corporation", "company", "group", "bank", "university", "association",
    "league", "club", "fc", "party", "council", "commission", "department", "agency", "news",
    "institute", "foundation", "labs", "ltd", "llc", "capital", "research", "exchange",
    "organization", "organisation", "alliance", "union", "ministry", "government", "court",
    "committee", "federation", "army", "police", "treaty",
}  # fmt: skip
_PERSON_ASKED = re.compile(
    r"\b(?:who|whom|whose|individual|person|people|ceo|founder|player|"
    r"athlete|coach|executive|celebrity|singer|actor|actress|author|character)\b",
    re.I,
)

# Words by which a question says its answer is a person, not only "who".
_ONLY_PEOPLE = re.compile(
    r"\b(?:individual|person|people|ceo|founder|player|athlete|coach|executive|celebrity|"
    r"singer|actor|actress|author)\b",
    re.I,
)


# "..., Johnny Cardoso or De'Von Achane?": the question offers its answer's two names.
_OFFERED = re.compile(
    r"[,:]\s*(?:the\s+)?(?P<a>[A-Z][^,?]{1,60}?)\s+or\s+(?:the\s+)?(?P<b>[A-Z][^,?]{1,60}?)\s*\?\s*$"
)


def offered_names(question: str) -> list[str]:
    """The two names a question ends by offering as its answer ("..., A or B?"); none when
    either is not a name."""
    m = _OFFERED.search(question)
    if not m:
        return []
    offered = [m.group("a").strip(), m.group("b").strip()]
    return offered if all(names_in(o) == [o] for o in offered) else []


@dataclass
class _Candidate:
    forms: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    articles: set[str] = field(default_factory=set)
    outlets: set[str] = field(default_factory=set)
    worth: float = 0.0


def entity_candidates(
    question: str,
    hits: Sequence[Hit],
    named_outlets: Sequence[str],
    known_outlets: Sequence[str],
) -> list[str]:
    """The names most likely to answer the question, best first (at most MAX_CANDIDATES).

    A name counts for each retrieved passage that holds it, more for the first-ranked, and
    most for each outlet the question names whose report holds it: the answer to "which
    company did The Verge and Fortune both report ..." is a name both reports share. Names
    the question itself uses are not its answer; outlets are not either.
    """
    offered = offered_names(question)
    # The names a question offers as its answer are not what it asks about.
    asked = question_names(_OFFERED.sub("?", question) if offered else question)
    outlets = {o.lower() for o in known_outlets}
    found: dict[str, _Candidate] = defaultdict(_Candidate)
    common = lower_words([h.chunk.text for h in hits])
    for rank, hit in enumerate(hits):
        weight = 1.0 / (1.0 + 0.25 * rank)
        for name in names_in(hit.chunk.text, common):
            key = name.lower()
            if any(o in key for o in outlets) or is_asked(key, asked):
                continue  # an outlet ("Download the Guardian app") or the question's own name
            c = found[key]
            c.forms[name] += 1
            if hit.chunk.article_id not in c.articles:
                c.articles.add(hit.chunk.article_id)
                c.worth += weight
            if hit.chunk.source in named_outlets:
                c.outlets.add(hit.chunk.source)
    merged = _merge_short_forms(found)
    person = bool(_PERSON_ASKED.search(question))

    def score(key: str) -> float:
        c = merged[key]
        s = c.worth + 1.5 * len(c.outlets)
        words = key.split()
        if person and 2 <= len(words) <= 3 and not set(words) & _ORG_WORDS:
            s *= 1.3
        return s

    ranked = sorted(merged, key=score, reverse=True)
    if person:
        # A question about a person is rarely answered by an organisation or an acronym: names
        # that read like people's come first. A bare "who" may still ask for one ("who did
        # Kazakhstan ask for help?": the CSTO), so other names follow unless the question
        # says it wants a person ("which individual", "the CEO").
        people = [k for k in ranked if _person_like(k)]
        others = [k for k in ranked if not _person_like(k)]
        ranked = people + others if not _ONLY_PEOPLE.search(question) else people or ranked
    names = [max(merged[k].forms, key=merged[k].forms.__getitem__) for k in ranked]
    if offered:
        # The answer is one of the two, the one the passages back best first.
        chosen = {o.lower() for o in offered}
        return [n for n in names if n.lower() in chosen] + [
            o for o in offered if o.lower() not in {n.lower() for n in names}
        ]
    return names[:MAX_CANDIDATES]


def _person_like(key: str) -> bool:
    words = key.split()
    return 2 <= len(words) <= 4 and not set(words) & _ORG_WORDS and "." not in key


def _merge_short_forms(found: dict[str, _Candidate]) -> dict[str, _Candidate]:
    """ "Bankman-Fried" and "Sam Bankman-Fried" are one candidate, under the longer name when
    exactly one longer name holds the shorter one's words."""
    keys = sorted(found, key=lambda k: len(k.split()), reverse=True)
    out: dict[str, _Candidate] = {}
    for key in keys:
        words = key.split()
        longer = [k for k in out if len(k.split()) > len(words) and _contains(k.split(), words)]
        if len(longer) == 1:
            target = out[longer[0]]
            c = found[key]
            new = c.articles - target.articles
            target.worth += c.worth * len(new) / max(1, len(c.articles))
            target.articles |= c.articles
            target.outlets |= c.outlets
            # the long form stays the name shown
            continue
        out[key] = found[key]
    return out


def _contains(long: list[str], short: list[str]) -> bool:
    n = len(short)
    return any(long[i : i + n] == short for i in range(len(long) - n + 1))


def sentences_naming(article: Article, name: str) -> list[int]:
    """The indices of an article's sentences that name `name` (or its last word, "Altman")."""
    last = name.split()[-1]
    pattern = re.compile(rf"\b{re.escape(name)}\b|\b{re.escape(last)}\b", re.I)
    return [s.index for s in article.sentences if pattern.search(s.text)]


def name_as_written(text: str, name: str) -> str:
    """`name` as a sentence naming it writes it: the whole name, or its last word alone
    ("Bankman-Fried") where the sentence has only that."""
    if re.search(rf"\b{re.escape(name)}\b", text, re.I):
        return name
    last = name.split()[-1]
    found = re.search(rf"\b{re.escape(last)}\b", text, re.I)
    return found.group(0) if found else name
