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


# ----------------------------------------------------------------------------- fast top-k


def _fts5(index: TermIndex, kind: str, words: list[str], k: int) -> list[str]:
    """The same search answered by SQLite FTS5 alone (the fast index switched off)."""
    index._topk_failed = True
    try:
        return [f.key for f in index.search(kind, words, k)]
    finally:
        index._topk_failed = False


def test_the_fast_index_ranks_as_fts5_and_follows_every_write(tmp_path: Path) -> None:
    path = tmp_path / "lex.sqlite"
    index = TermIndex(path)
    texts = {
        "a": "Port workers strike over pay in the northern harbor",
        "b": "Harbor strike ends as port workers accept pay deal",
        "c": "Rail workers vote on a strike",
        "d": "Central bank holds interest rates",
    }
    index.put([_group(g, "v1", t) for g, t in texts.items()])
    question = terms("port workers strike pay harbor")
    fast = [f.key for f in index.search("chunk", question, 3)]
    assert (path.with_suffix(".tantivy") / "chunk").is_dir()  # it answered, not FTS5
    assert fast == _fts5(index, "chunk", question, 3) and fast[0] in ("a:0", "b:0")
    # A write by another process (another TermIndex on the file) is seen at the next search,
    # and so is a removal; the new version replaces the old.
    other = TermIndex(path)
    other.put([_group("e", "v1", "Port strike port strike harbor workers pay pay")])
    other.remove("a")
    other.put([_group("b", "v2", "Bank rates hold")])
    other.remove("b", keep="v2")  # as the store does once the new version is committed
    after = [f.key for f in index.search("chunk", question, 5)]
    assert "e:0" in after and "a:0" not in after and "b:0" not in after
    assert after == _fts5(index, "chunk", question, 5)


def test_the_fast_index_weighs_a_questions_terms_as_fts5_does(tmp_path: Path) -> None:
    index = TermIndex(tmp_path / "lex.sqlite")
    texts = ["Port workers strike over pay", "Harbor strike ends", "Rail workers vote", "Rates"]
    index.put([_group(f"g{n}", "v1", t) for n, t in enumerate(texts)])
    question = terms("Did the harbor strike end, or the rail workers' vote?")
    fast = index.scorer("chunk", question)
    index._topk_failed = True  # SQLite's vocabulary table instead
    try:
        slow = index.scorer("chunk", question)
    finally:
        index._topk_failed = False
    assert fast.idf == slow.idf
    assert fast.idf[terms("strike")[0]] < fast.idf[terms("harbor")[0]]  # 2 documents against 1


def test_a_replayed_change_log_adds_nothing_twice(tmp_path: Path) -> None:
    """A crash after the fast index committed and before it noted how far it got replays
    the changes: each document is removed before it is added again."""
    index = TermIndex(tmp_path / "lex.sqlite")
    index.put([_group("a", "v1", "Port strike ends"), _group("b", "v1", "Port reopens")])
    assert len(index.search("chunk", terms("port"), 10)) == 2
    index.put([_group("c", "v1", "Port strike spreads")])
    applied = index.topk.path / "applied"
    noted = applied.read_text()
    assert len(index.search("chunk", terms("port"), 10)) == 3
    applied.write_text(noted)  # as if the process died before writing it
    with index._lock:
        index._db.execute("INSERT INTO changes (doc) SELECT rowid FROM docs")  # replay all
    keys = [f.key for f in index.search("chunk", terms("port"), 10)]
    assert sorted(keys) == ["a:0", "b:0", "c:0"]


def test_searches_fall_back_to_fts5_while_another_process_writes_the_fast_index(
    tmp_path: Path,
) -> None:
    import tantivy

    index = TermIndex(tmp_path / "lex.sqlite")
    index.put([_group("a", "v1", "Port strike ends")])
    assert [f.key for f in index.search("chunk", terms("port"), 5)] == ["a:0"]
    index.put([_group("b", "v1", "Port strike spreads")])
    # Another process holds the writer: this one cannot catch up, and SQLite answers.
    held = tantivy.Index.open(str(index.topk.path / "chunk")).writer(15_000_000, 1)
    assert not index.sync_fast()
    assert {f.key for f in index.search("chunk", terms("port"), 5)} == {"a:0", "b:0"}
    del held
    assert index.sync_fast()
    assert {f.key for f in index.search("chunk", terms("port"), 5)} == {"a:0", "b:0"}


def test_a_new_store_file_rebuilds_the_fast_index_and_a_damaged_one_is_bypassed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lex.sqlite"
    first = TermIndex(path)
    first.put([_group(f"old{i}", "v1", "Port port port strike") for i in range(3)])
    assert len(first.search("chunk", terms("port"), 5)) == 3
    first.close()
    for leftover in tmp_path.glob("lex.sqlite*"):
        leftover.unlink()
    second = TermIndex(path)  # a new store beside the old fast index: rebuilt, not reused
    second.put([_group("newer", "v1", "Port reopens")])
    # The old documents, were they kept, would outrank it and take the one place asked for.
    assert [f.key for f in second.search("chunk", terms("port"), 1)] == ["newer:0"]
    second.close()
    (path.with_suffix(".tantivy") / "chunk" / "meta.json").write_text("not json")
    third = TermIndex(path)
    third.put([_group("more", "v1", "Port strike spreads")])
    assert {f.key for f in third.search("chunk", terms("port"), 5)} == {"newer:0", "more:0"}
    assert third._topk_failed


def test_the_outlets_held_are_counted_with_every_write_and_once_for_an_older_file(
    tmp_path: Path,
) -> None:
    # The stored outlets are read at every start: counted as documents come and go, not
    # listed from every article.
    path = tmp_path / "lex.sqlite"
    index = TermIndex(path)
    assert index.outlets() == []
    index.put([_group("a", "v1", "port strike", "Wire"), _group("b", "v1", "rail strike", "Daily")])
    index.put([_group("c", "v1", "bus strike", "Wire")])
    assert index.outlets() == ["Daily", "Wire"]
    index.put([_group("b", "v2", "rail strike ends", "Wire")])  # b moves to another outlet
    index.remove("b", keep="v2")
    assert index.outlets() == ["Wire"]
    index.remove("a")
    index.remove("c")
    assert index.outlets() == ["Wire"]  # b's new version is still there
    index.put([_group("d", "v1", "ferry strike", "Harbour")])
    index.close()
    # A file from before the count: counted once from its documents when it is opened.
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("DROP TABLE outlets")
    db.execute("DELETE FROM meta WHERE key = 'outlets_counted'")
    db.commit()
    db.close()
    assert TermIndex(path).outlets() == ["Harbour", "Wire"]
