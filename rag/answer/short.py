"""Short answers: the "Yes"/"No" or the entity an answer's first sentence gives, when the
question's shape asks for one."""

from __future__ import annotations

import re

from rag.answer.markers import strip_markers
from rag.ingest.sentences import split_sentences
from rag.words import content_words, is_asked, names_in, question_names, word_share


def short_answer(text: str, wants: str | None, question: str = "") -> str:
    """The short form of an answer's text: Yes/No for a yes/no question whose answer opens
    with one; for an entity, the first sentence when it is short, else the first name in it
    that the question does not use ("The company accused ... is Google." -> "Google");
    otherwise the sentence that shares the most content words with the question, the first
    on a tie."""
    plain = strip_markers(text)
    # The sentence splitter, not a full stop: "… ended on Feb. 13." is one sentence.
    sentences = split_sentences(plain)
    first = sentences[0].text.strip() if sentences else plain.strip()
    if wants == "yesno":
        m = re.match(r"^(yes|no)\b", first, re.I)
        if m:
            return m.group(1).capitalize()
    if wants == "entity" and 0 < len(first.split()) <= 6:
        return first.rstrip(".")
    if wants == "entity":
        asked = question_names(question)
        for name in names_in(first):
            if not is_asked(name, asked):
                return name
    # A model may set the scene before it answers ("The last ships berthed … Dock workers
    # will get a 4.5% pay rise"): the sentence that speaks to the question is the short form.
    asks = content_words(question)
    if not asks or len(sentences) < 2:
        return first
    # max() keeps the first of equals, so a tie stays with the first sentence.
    return max(sentences, key=lambda s: word_share(asks, s.text)).text.strip()
