"""BM25's words (tokens, possessives, numbers, Snowball stems) and the on-disk FTS5 index."""

from __future__ import annotations

from pathlib import Path

from vectorstore.fts import Doc, Group, TermIndex
from vectorstore.lexical import terms, tokenize


def test_tokens_keep_numbers_and_abbreviations_whole_and_drop_possessives() -> None:
    assert tokenize("The U.S. paid 4,500 dollars") == ["u.s", "paid", "4500", "dollars"]
    # Typographic and plain apostrophes alike: "Google’s" is about Google.
    assert tokenize("Google’s case") == tokenize("Google's case") == ["google", "case"]
    assert tokenize("Bankman-Fried’s trial") == ["bankman-fried", "trial"]


def test_terms_meet_across_word_forms() -> None:
    assert terms("preventing lawsuits") == terms("prevent lawsuit")
    assert terms("Sam Bankman-Fried's charges") == terms("sam bankman-fried charged")
    assert terms("the 225 deaths") == terms("225 death")


def _group(name: str, version: str, text: str, source: str = "Wire", epoch: float = 1.0) -> Group:
    return Group(name, version, source, epoch, [Doc(0, f"{name}:0", terms(text))], [])


def test_bm25_matches_a_question_to_another_form_of_its_words(tmp_path: Path) -> None:
    index = TermIndex(tmp_path / "lex.sqlite")
    index.put(
        [
            _group(
                "uber",
                "v1",
                "Hundreds of women filed lawsuits against Uber saying it did not prevent assaults.",
            ),
            _group("other", "v1", "The ride-hailing market grew quickly in Europe this year."),
        ]
    )
    # No word of the question appears in the first text as written ("preventing",
    # "lawsuit"), only its stems do.
    question = terms("Which company faced a lawsuit for not preventing assault?")
    assert [f.group for f in index.search("chunk", question, 2)] == ["uber"]
    score = index.scorer("chunk", terms("preventing"))
    assert score(terms("they prevent it")) > 0 == score(terms("the market grew"))


def test_the_index_is_on_disk_filtered_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "lex.sqlite"
    index = TermIndex(path)
    index.put([_group("a", "v1", "Port strike ends", "Wire", 100.0)])
    index.put([_group("b", "v1", "Port strike spreads", "Herald", 200.0)])
    index.put([_group("a", "v2", "Port strike ends after talks", "Wire", 100.0)])
    assert index.versions() == {"a": {"v1", "v2"}, "b": {"v1"}}
    index.remove("a", keep="v2")
    index.close()
    again = TermIndex(path)  # a new process reads what the last one wrote; nothing rebuilt
    assert again.versions() == {"a": {"v2"}, "b": {"v1"}} and again.count("chunk") == 2
    port = terms("port strike")
    assert {f.key for f in again.search("chunk", port, 5)} == {"a:0", "b:0"}
    assert [f.group for f in again.search("chunk", port, 5, sources=["Herald"])] == ["b"]
    assert [f.group for f in again.search("chunk", port, 5, until=150.0)] == ["a"]
    assert [f.group for f in again.search("chunk", port, 5, since=150.0)] == ["b"]
    again.remove("b")
    assert again.versions() == {"a": {"v2"}} and again.count("chunk") == 1
    assert again.search("chunk", terms("spreads"), 5) == []


def test_a_groups_stored_terms_come_back_for_its_current_version_only(tmp_path: Path) -> None:
    index = TermIndex(tmp_path / "lex.sqlite")
    said = ["Talks resumed on Monday.", "The union's strike fund held 2 million dollars."]
    sentences = [Doc(i, "a:0", terms(s)) for i, s in enumerate(said)]
    index.put([Group("a", "v1", "Wire", 1.0, [Doc(0, "a:0", terms(" ".join(said)))], sentences)])
    held = index.terms_of("sentence", [("a", "v1"), ("gone", "v1")])
    assert held == {"a": [" ".join(terms(s)) for s in said]}
    assert index.terms_of("sentence", [("a", "v0")]) == {}
