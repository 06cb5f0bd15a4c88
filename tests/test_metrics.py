"""Tests for evals/metrics.py: each metric on small cases computed by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from evals.citations import LexicalJudge, citation_scores, gold_citation_share
from evals.metrics import (
    abstention_scores,
    aggregate,
    evidence_in_sentences,
    evidence_recall_at_k,
    exact_match,
    hits_at_k,
    latency_summary,
    map_at_k,
    mrr_at_k,
    multihop_accuracy,
    normalize_answer,
    token_f1,
)

DEATHS = (
    "Official figures report 225 deaths and over 4,500 injuries as a result of these "
    "events, as stated by authorities."
)
COUP = "President Tokayev declared the events as an attempted coup."
CHAIR = "During the appeal, Armenia held the chairmanship of the organization, later passing it to Kazakhstan."  # noqa: E501
LIFTED = (
    "The situation was stabilized by January 7, leading to the lifting of the nationwide "
    "state of emergency on January 19."
)
OTHER = "Stay up to date with more news on the agency's channel."

# ------------------------------------------------------------------ retrieval


def test_first_hit_at_rank_three_gives_mrr_one_third() -> None:
    retrieved = [OTHER, COUP, f"{CHAIR} {DEATHS}", DEATHS]
    assert mrr_at_k(retrieved, [DEATHS], k=10) == pytest.approx(1 / 3)
    assert hits_at_k(retrieved, [DEATHS], k=3) == 1.0
    assert hits_at_k(retrieved, [DEATHS], k=2) == 0.0
    # Beyond k the hit does not count.
    assert mrr_at_k(retrieved, [DEATHS], k=2) == 0.0


def test_facts_match_chunks_whatever_their_white_space() -> None:
    # The article hard-wraps lines; the chunk keeps a newline and a double space inside.
    chunk = (
        "Official figures report 225 deaths and over 4,500 injuries as a\n"
        "result of these  events, as stated by authorities.\tStay up to date."
    )
    assert hits_at_k([chunk], [DEATHS], k=1) == 1.0
    # A fact with a tab and a no-break space matches a chunk without them.
    assert hits_at_k([COUP], ["President\u00a0Tokayev declared\tthe events"], k=1) == 1.0
    # But one changed character is a miss (substring, not similarity).
    assert hits_at_k([chunk], [DEATHS.replace("225", "226")], k=1) == 0.0


def test_map_follows_multihop_rag_definition() -> None:
    # Gold facts: DEATHS, COUP, CHAIR (3). Retrieved:
    #   rank 1: OTHER            -> nothing
    #   rank 2: COUP + DEATHS    -> two new facts: 2/2 = 1.0
    #   rank 3: DEATHS again     -> relevant but no new fact: adds 0
    #   rank 4: CHAIR            -> one new fact: 1/4 = 0.25
    # MAP@10 = (1.0 + 0.25) / min(3, 10) = 1.25 / 3
    retrieved = [OTHER, f"{COUP} {DEATHS}", DEATHS, CHAIR]
    assert map_at_k(retrieved, [DEATHS, COUP, CHAIR], k=10) == pytest.approx(1.25 / 3)
    # At k=3 the CHAIR chunk is cut off: 1.0 / min(3, 3)
    assert map_at_k(retrieved, [DEATHS, COUP, CHAIR], k=3) == pytest.approx(1 / 3)
    # The divisor is capped at k: 3 facts, k=2 -> 1.0 / 2
    assert map_at_k(retrieved, [DEATHS, COUP, CHAIR], k=2) == pytest.approx(0.5)


def test_map_differs_from_textbook_ap_as_upstream_does() -> None:
    # Both facts found at ranks 1 and 2: textbook AP = (1/1 + 2/2) / 2 = 1.0, but upstream
    # adds (new facts) / rank: (1/1 + 1/2) / 2 = 0.75. Both in one chunk at rank 1: 2/1 / 2.
    assert map_at_k([DEATHS, COUP], [DEATHS, COUP], k=10) == pytest.approx((1 + 0.5) / 2)
    assert map_at_k([f"{DEATHS} {COUP}"], [DEATHS, COUP], k=10) == pytest.approx(1.0)


def test_evidence_recall_counts_distinct_facts_found() -> None:
    retrieved = [COUP, OTHER, DEATHS, CHAIR]
    # DEATHS listed twice counts once: found 2 (COUP, DEATHS) of 3 distinct at k=3.
    facts = [DEATHS, COUP, LIFTED, DEATHS]
    assert evidence_recall_at_k(retrieved, facts, k=3) == pytest.approx(2 / 3)
    assert evidence_recall_at_k(retrieved, facts, k=1) == pytest.approx(1 / 3)
    assert evidence_recall_at_k([OTHER], facts, k=5) == 0.0


def test_evidence_in_sentences_counts_facts_a_shown_sentence_belongs_to() -> None:
    two_sentence_fact = f"{DEATHS} {COUP}"
    # The coup sentence lies in the two-sentence fact; the chair sentence holds nothing.
    assert evidence_in_sentences([COUP, CHAIR], [two_sentence_fact, LIFTED]) == 0.5
    # A sentence that holds a whole (shorter) fact reaches it too; duplicates count once.
    assert evidence_in_sentences([f"So: {LIFTED}"], [LIFTED, LIFTED]) == 1.0
    # White space does not matter; a fragment shorter than min_chars does not count.
    assert evidence_in_sentences(["\n".join(COUP.split())], [COUP]) == 1.0
    assert evidence_in_sentences(["the"], [COUP]) == 0.0
    assert evidence_in_sentences([], [COUP]) == 0.0


def test_retrieval_without_facts_or_with_bad_k_is_an_error() -> None:
    with pytest.raises(ValueError, match="skip questions without evidence"):
        hits_at_k([DEATHS], [], k=4)
    with pytest.raises(ValueError, match="skip questions without evidence"):
        mrr_at_k([DEATHS], ["  \n"])
    with pytest.raises(ValueError, match="k must be at least 1"):
        map_at_k([DEATHS], [DEATHS], k=0)


# ------------------------------------------------------------------ answers


@pytest.mark.parametrize(
    ("prediction", "gold", "expected"),
    [
        ("Yes", "Yes", 1.0),
        ("yes.", "Yes", 1.0),
        ("No", "Yes", 0.0),
        ("No, the reports disagree.", "no", 1.0),
        # The first yes/no word decides, so a later "no" does not flip a yes.
        ("Yes, and no one disputed it.", "Yes", 1.0),
        ("There is no evidence either way.", "Yes", 0.0),
        # "no" must be a word, not part of "not" or "known".
        ("It is not known.", "no", 0.0),
        ("The answer is Sam Bankman-Fried.", "Sam Bankman-Fried", 1.0),
        ("sam bankman fried", "Sam Bankman-Fried", 1.0),
        ("It was Bankman-Fried.", "Sam Bankman-Fried", 0.0),
        ("President Tokayev's government", "Tokayev", 1.0),
        ("225 deaths were reported.", "225", 1.0),
        ("2250 deaths", "225", 0.0),
        ("Insufficient information", "Insufficient information.", 1.0),
    ],
)
def test_multihop_accuracy(prediction: str, gold: str, expected: float) -> None:
    assert multihop_accuracy(prediction, gold) == expected


def test_normalize_answer_is_squad_style() -> None:
    assert normalize_answer("  The  Collective Security, Treaty Organization! ") == (
        "collective security treaty organization"
    )
    # Curly quotes and dashes are punctuation too.
    assert normalize_answer("“An attempted coup” — Tokayev’s words") == (
        "attempted coup tokayevs words"
    )


def test_exact_match_takes_the_best_gold() -> None:
    assert exact_match("the CSTO.", ["Collective Security Treaty Organization", "CSTO"]) == 1.0
    assert exact_match("CSTO forces", ["CSTO"]) == 0.0
    assert exact_match("anything", []) == 0.0


def test_token_f1_on_partial_overlap() -> None:
    # pred tokens: over 4500 injuries (3); gold "over 4,500" -> over 4500 (2).
    # overlap 2: P = 2/3, R = 2/2, F1 = 2 * (2/3) * 1 / (2/3 + 1) = 0.8
    assert token_f1("over 4,500 injuries", ["over 4,500"]) == pytest.approx(0.8)
    # Best gold wins: "225 deaths" vs pred "225 deaths reported" -> P 2/3, R 1 -> 0.8;
    # vs "225" -> P 1/3, R 1 -> 0.5.
    assert token_f1("225 deaths reported", ["225", "225 deaths"]) == pytest.approx(0.8)
    assert token_f1("Armenia", ["Kazakhstan"]) == 0.0
    assert token_f1("Armenia", []) == 0.0


# ------------------------------------------------------------------ abstention


def test_abstention_scores_on_a_mixed_set() -> None:
    # (answerable, abstained): 2 unanswerable, one abstained on; 3 answerable, one
    # wrongly abstained on.
    records = [(False, True), (False, False), (True, True), (True, False), (True, False)]
    s = abstention_scores(records)
    assert s["abstention_precision"] == pytest.approx(1 / 2)
    assert s["abstention_recall"] == pytest.approx(1 / 2)
    assert s["abstention_f1"] == pytest.approx(1 / 2)
    assert s["false_abstention_rate"] == pytest.approx(1 / 3)
    assert (s["n"], s["n_answerable"], s["n_unanswerable"], s["n_abstained"]) == (5, 3, 2, 2)
    assert (s["n_correct_abstentions"], s["n_false_abstentions"]) == (1, 1)


def test_abstention_scores_with_zero_unanswerable_and_no_abstentions() -> None:
    s = abstention_scores([(True, False), (True, False)])
    assert s["abstention_recall"] is None
    assert s["abstention_precision"] is None
    assert s["abstention_f1"] is None
    assert s["false_abstention_rate"] == 0.0
    empty = abstention_scores([])
    assert empty["n"] == 0 and empty["false_abstention_rate"] is None


# ------------------------------------------------------------------ citations


def test_lexical_judge() -> None:
    judge = LexicalJudge()
    assert judge.supports("Official figures report 225 deaths.", [DEATHS])
    # Numbers must all be present, whatever the words say.
    assert not judge.supports("Official figures report 226 deaths.", [DEATHS])
    assert judge.supports("There were over 4500 injuries.", [DEATHS])
    # Together two sentences support what neither does alone.
    claim = "Tokayev declared an attempted coup; the emergency was lifted on January 19."
    assert not judge.supports(claim, [COUP])
    assert not judge.supports(claim, [LIFTED])
    assert judge.supports(claim, [COUP, LIFTED])
    assert not judge.supports("Armenia held the chairmanship.", [])
    assert not judge.supports("Armenia held the chairmanship.", [OTHER])
    with pytest.raises(ValueError):
        LexicalJudge(threshold=1.5)


def test_citation_precision_with_one_irrelevant_citation_out_of_three() -> None:
    claim = "Tokayev declared an attempted coup; the emergency was lifted on January 19."
    # COUP and LIFTED are each needed; OTHER neither supports alone nor is needed.
    s = citation_scores([(claim, [COUP, LIFTED, OTHER])], LexicalJudge())
    assert s == {
        "citation_recall": 1.0,
        "citation_precision": pytest.approx(2 / 3),
        "n_sentences": 1,
        "n_citations": 3,
    }


def test_citation_scores_over_sentences() -> None:
    answer = [
        ("Official figures report 225 deaths.", [DEATHS]),  # supported, 1 precise
        ("Armenia held the chairmanship.", [CHAIR, COUP]),  # supported; COUP irrelevant
        ("The contingent cost 3 billion dollars.", [DEATHS]),  # unsupported, 0 precise
        ("Tokayev called it an attempted coup.", []),  # no citation: unsupported
    ]
    s = citation_scores(answer, LexicalJudge())
    assert s["citation_recall"] == pytest.approx(2 / 4)
    assert s["citation_precision"] == pytest.approx(2 / 4)
    assert (s["n_sentences"], s["n_citations"]) == (4, 4)


def test_citation_redundant_supporting_citations_are_both_precise() -> None:
    # Each citation supports alone: ALCE keeps both as precise even though one suffices.
    s = citation_scores([("Official figures report 225 deaths.", [DEATHS, DEATHS])], LexicalJudge())
    assert s["citation_precision"] == 1.0


class _NeedsAll:
    """A judge that supports a claim only when every one of its words is in the evidence."""

    def supports(self, claim: str, evidence: Sequence[str]) -> bool:
        text = " ".join(evidence).lower()
        return bool(evidence) and all(w in text for w in claim.lower().split())


def test_citation_scores_use_the_judge_given() -> None:
    # With a stricter judge the same partial claim is no longer supported.
    answer = [("armenia chairmanship kazakhstan tokayev", [CHAIR])]
    assert citation_scores(answer, LexicalJudge())["citation_recall"] == 1.0
    assert citation_scores(answer, _NeedsAll())["citation_recall"] == 0.0
    empty = citation_scores([], LexicalJudge())
    assert empty["citation_recall"] is None and empty["citation_precision"] is None


def test_gold_citation_share() -> None:
    cited = [
        [DEATHS.replace(" ", "\n", 3)],  # the gold fact, re-wrapped
        [OTHER, "President Tokayev declared the events"],  # part of a gold fact
        [OTHER],  # no gold
        [],  # cites nothing
    ]
    assert gold_citation_share(cited, [DEATHS, COUP]) == pytest.approx(2 / 4)
    assert gold_citation_share([], [DEATHS]) is None
    # An empty cited text is no overlap, though "" is in every string.
    assert gold_citation_share([[""]], [DEATHS]) == 0.0


# ------------------------------------------------------------------ latency, aggregate


def test_latency_summary_interpolates_like_numpy() -> None:
    s = latency_summary([4.0, 1.0, 10.0, 2.0, 3.0])
    # sorted 1 2 3 4 10; p50 at position 2 -> 3; p95 at 0.95*4 = 3.8 -> 4 + 0.8*6 = 8.8
    assert s["n"] == 5
    assert s["p50"] == pytest.approx(3.0)
    assert s["p95"] == pytest.approx(8.8)
    assert s["mean"] == pytest.approx(4.0)
    assert s["max"] == 10.0
    assert latency_summary([2.5])["p95"] == 2.5
    assert latency_summary([]) == {"n": 0, "p50": None, "p95": None, "mean": None, "max": None}


def test_aggregate_means_per_type_without_nones() -> None:
    records: list[dict[str, Any]] = [
        {"id": "a", "type": "inference", "mrr": 1.0, "accuracy": 1.0, "abstained": False},
        {"id": "b", "type": "inference", "mrr": 0.5, "accuracy": 0.0, "abstained": True},
        {"id": "c", "type": "null", "mrr": None, "accuracy": None, "abstained": True},
        {"id": "d", "type": "temporal", "mrr": 0.0, "accuracy": 1.0, "latency": 2.0},
    ]
    out = aggregate(records, "type")
    assert list(out) == ["overall", "inference", "null", "temporal"]
    assert out["overall"]["n"] == 4
    assert out["overall"]["mrr"] == pytest.approx(0.5)  # (1 + 0.5 + 0) / 3
    assert out["overall"]["accuracy"] == pytest.approx(2 / 3)
    assert out["overall"]["abstained"] == pytest.approx(2 / 3)  # bools average to a rate
    assert out["overall"]["latency"] == pytest.approx(2.0)
    assert out["inference"]["mrr"] == pytest.approx(0.75)
    assert out["null"]["mrr"] is None
    assert out["null"]["latency"] is None
    assert "id" not in out["overall"]
    with pytest.raises(ValueError, match="reserved"):
        aggregate([{"type": "overall", "mrr": 1.0}])
