"""Verification of uncited claims: one supporting sentence, or one from each of two reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rag.answer import SourceSentence
from rag.config import Settings
from rag.embed import get_embedder
from rag.types import Article, Sentence
from rag.verify import Similarity, check_claim, verify


def _source(n: int, article_id: str, outlet: str, text: str) -> SourceSentence:
    article = Article(
        id=article_id,
        text=text,
        sentences=(Sentence(0, 0, len(text), text),),
        title=f"{outlet} report",
        source=outlet,
        published_at=datetime(2023, 10, 2, tzinfo=UTC),
        url=None,
        origin="test",
        content_hash=article_id * 2,
    )
    return SourceSentence(n=n, article=article, sentence=article.sentences[0], score=1.0)


@pytest.fixture(scope="module")
def similarity(tmp_path_factory: pytest.TempPathFactory) -> Similarity:
    cache: Path = tmp_path_factory.mktemp("models")
    embedder = get_embedder(Settings(model_cache_dir=cache))

    def sim(text: str, others: Sequence[str]) -> list[float]:
        vecs = embedder.embed_documents([text, *others])
        return [float(x) for x in vecs[1:] @ vecs[0]]

    return sim


SOURCES = {
    1: _source(
        1, "a1", "Sporting News", "Derrick Henry did not return to the game after a head injury."
    ),
    2: _source(2, "a1", "Sporting News", "The Titans lost the game 27-3 on Sunday."),
    3: _source(
        3,
        "b2",
        "The Sydney Morning Herald",
        "Nathan Murphy did not play on in the grand final after a concussion.",
    ),
    4: _source(4, "c3", "TechCrunch", "Apple unveiled a new laptop at its annual event."),
}


def test_a_comparison_claim_is_cited_to_one_sentence_from_each_report(
    similarity: Similarity,
) -> None:
    claim = (
        "Yes. Derrick Henry did not return to the game after a head injury, and Nathan Murphy "
        "did not play on in the grand final after a concussion."
    )
    checked = verify(claim.split(". ", 1), SOURCES, similarity)
    assert checked.supported
    direct, comparison = checked.checks
    assert direct.supported and not direct.citations
    assert comparison.supported and comparison.citations == (1, 3)
    assert checked.text.endswith("after a concussion [1][3].")


def test_a_marker_after_a_clause_of_its_own_vouches_for_that_clause_only(
    similarity: Similarity,
) -> None:
    # The sentence as a whole is carried by [1] and [4]; [3] stands after a clause it does
    # not say (it is about another player), so it is not marked verified.
    clauses = (
        "Derrick Henry did not return to the game after a head injury [1], Nathan Murphy "
        "unveiled a new laptop at the annual event [3], and Apple unveiled a new laptop at "
        "its annual event [4]."
    )
    checked = verify([clauses], SOURCES, similarity)
    assert checked.checks[0].supported and checked.checks[0].citations == (1, 3, 4)
    assert checked.cited == {1: True, 3: False, 4: True}
    # The same citations closing the sentence together vouch for it together, as before.
    together = (
        "Derrick Henry did not return to the game after a head injury, and Apple unveiled a "
        "new laptop at its annual event [1][4]."
    )
    checked = verify([together], SOURCES, similarity)
    assert checked.checks[0].supported and checked.cited == {1: True, 4: True}


def test_what_an_outlet_says_is_cited_to_that_outlets_sentence(similarity: Similarity) -> None:
    # The sentence says what TechCrunch reported, but cites Sporting News: its other names are
    # in the cited sentence, so only the outlet gives it away.
    henry = "Derrick Henry did not return to the game after a head injury [1]."
    wrong = f"As TechCrunch reported, {henry}"
    checked = verify([wrong], SOURCES, similarity)
    (check,) = checked.checks
    assert not check.supported and checked.cited == {1: False}
    assert check.reason == "it names TechCrunch but cites none of its sentences"
    right = f"As Sporting News reported, {henry}"
    checked = verify([right], SOURCES, similarity)
    assert checked.checks[0].supported and checked.cited == {1: True}


def test_a_pair_does_not_cover_an_invented_half(similarity: Similarity) -> None:
    claim = (
        "Derrick Henry did not return to the game after a head injury, and Nathan Murphy "
        "was fined by Cricket Australia for dissent."
    )
    checked = verify([claim], SOURCES, similarity)
    (check,) = checked.checks
    assert not check.supported and not check.citations
    assert not checked.supported


def test_the_cited_articles_own_date_may_be_named_but_its_day_vouches_for_nothing(
    similarity: Similarity,
) -> None:
    # The fixture articles are dated October 2, 2023.
    sources = {1: SOURCES[1]}
    dated = "Sporting News reported on October 2, 2023, that Derrick Henry did not return [1]."
    assert verify([dated], sources, similarity).supported
    invented = "Derrick Henry did not return to the game after 2 head injuries [1]."
    (check,) = verify([invented], sources, similarity).checks
    assert not check.supported and "number 2" in check.reason
    wrong_day = "Sporting News reported on October 5, 2023, that Derrick Henry did not return [1]."
    (check,) = verify([wrong_day], sources, similarity).checks
    assert not check.supported and "number 5" in check.reason


# (claim, cited sentence, whether the negation check lets it through)
NEGATIONS = [
    # The claim states what the sentence negates.
    (
        "Fortune reported that Caroline Ellison adequately protected her hedge fund.",
        "He said Ellison did not adequately protect her hedge fund from the risk of crypto.",
        False,
    ),
    ("Derrick Henry did not return to the game.", "Derrick Henry returned to the game.", False),
    # A claim that something is absent is said by no sentence that lacks the negation.
    (
        "The Verge article does not mention any layoffs at Epic Games.",
        "The Verge article mentioned layoffs at Epic Games.",
        False,
    ),
    # Both negate the same thing.
    (
        "Derrick Henry did not return to the game after a head injury.",
        "Derrick Henry would not return to the game with a head injury.",
        True,
    ),
    # The sentence's negation is about something the claim does not say.
    (
        "Altman has been seen as a Silicon Valley wunderkind since his early 20s.",
        "While not trained as an AI engineer, Altman has been seen as a Silicon Valley "
        "wunderkind since his early 20s.",
        True,
    ),
    # "not only ... but also" negates nothing, and an opening "No," answers the question.
    (
        "Google not only paid Apple to be the default search engine but also paid Samsung.",
        "Google paid Apple and Samsung to be the default search engine on their phones.",
        True,
    ),
    (
        "No, the Fortune article said Altman was fired by the board.",
        "Fortune said Altman was fired by the board of OpenAI.",
        True,
    ),
]


@pytest.mark.parametrize(("claim", "cited", "passes"), NEGATIONS)
def test_a_negation_counts_for_what_it_negates(
    claim: str, cited: str, passes: bool, similarity: Similarity
) -> None:
    supported, _score, reason = check_claim(claim, [cited], "", similarity)
    if passes:
        assert reason != "negation differs from the cited sentence(s)"
        assert supported
    else:
        assert not supported and reason == "negation differs from the cited sentence(s)"
