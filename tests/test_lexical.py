"""BM25's words: tokens, possessives, numbers and Snowball stems, on a real bm25s index."""

from __future__ import annotations

from vectorstore.lexical import BM25Index, terms, tokenize


def test_tokens_keep_numbers_and_abbreviations_whole_and_drop_possessives() -> None:
    assert tokenize("The U.S. paid 4,500 dollars") == ["u.s", "paid", "4500", "dollars"]
    # Typographic and plain apostrophes alike: "Google’s" is about Google.
    assert tokenize("Google’s case") == tokenize("Google's case") == ["google", "case"]
    assert tokenize("Bankman-Fried’s trial") == ["bankman-fried", "trial"]


def test_terms_meet_across_word_forms() -> None:
    assert terms("preventing lawsuits") == terms("prevent lawsuit")
    assert terms("Sam Bankman-Fried's charges") == terms("sam bankman-fried charged")
    assert terms("the 225 deaths") == terms("225 death")


def test_bm25_matches_a_question_to_another_form_of_its_words() -> None:
    index = BM25Index(
        ["uber", "other"],
        [
            "Hundreds of women filed lawsuits against Uber saying it did not prevent assaults.",
            "The ride-hailing market grew quickly in Europe this year.",
        ],
    )
    # No word of the question appears in the first text as written ("preventing",
    # "lawsuit"), only its stems do.
    found = index.search("Which company faced a lawsuit for not preventing assault?", 2)
    assert [index.ids[i] for i, _score in found] == ["uber"]
    assert index.scores("preventing")[0] > 0 == index.scores("preventing")[1]
