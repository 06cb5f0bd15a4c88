from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

from rag.config import Settings
from rag.embed import get_embedder
from rag.ingest.chunk import make_chunks
from rag.types import Article, Sentence


def _article(sentences: list[str]) -> Article:
    text, spans, pos = "", [], 0
    for i, s in enumerate(sentences):
        if i:
            text += " "
            pos += 1
        spans.append(Sentence(i, pos, pos + len(s), s))
        text += s
        pos += len(s)
    return Article(
        id="a1",
        text=text,
        sentences=tuple(spans),
        title="Title",
        source="Outlet",
        published_at=datetime(2024, 1, 3, tzinfo=UTC),
        url=None,
        origin="x",
        content_hash="abcdef0123456789",
    )


def _words(n: int, tag: str) -> str:
    return " ".join(f"{tag}{i}" for i in range(n)) + "."


def test_chunks_fit_budget_and_overlap_by_one_sentence() -> None:
    count = get_embedder(Settings()).count_tokens
    article = _article([_words(10, f"s{k}w") for k in range(12)])
    chunks = make_chunks(article, count, max_tokens=120, overlap=1)
    assert len(chunks) > 2
    for c in chunks:
        assert (
            c.text
            == article.text[
                article.sentences[c.sentence_start].start : article.sentences[
                    c.sentence_end - 1
                ].end
            ]
        )
        assert count([c.text])[0] - 2 <= 120
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.sentence_start == prev.sentence_end - 1
    assert chunks[0].sentence_start == 0 and chunks[-1].sentence_end == len(article.sentences)
    assert len({c.id for c in chunks}) == len(chunks)


def test_overlong_sentence_is_its_own_chunk_and_progress_is_made() -> None:
    count = get_embedder(Settings()).count_tokens
    article = _article(["Short one.", _words(400, "long"), "Short two."])
    chunks = make_chunks(article, count, max_tokens=100, overlap=1)
    assert [(c.sentence_start, c.sentence_end) for c in chunks] == [(0, 1), (1, 2), (2, 3)]


def test_default_chunks_tile_the_article_without_overlap() -> None:
    count = get_embedder(Settings()).count_tokens
    article = _article([_words(30, f"s{k}w") for k in range(40)])
    chunks = make_chunks(article, count)
    assert len(chunks) > 2
    assert chunks[0].sentence_start == 0 and chunks[-1].sentence_end == len(article.sentences)
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.sentence_start == prev.sentence_end  # each sentence in exactly one chunk
    sizes = count([c.text for c in chunks])
    assert max(sizes) <= 252  # 250 of text + [CLS] and [SEP]: inside MiniLM's 256 window
    assert max(sizes) > 200  # and the budget is used, not left half empty


def test_no_stored_unit_outgrows_the_embedding_window(tmp_path: Path, model_cache: Path) -> None:
    """A run-on sentence of rare words (under the 1,000-character cut, over 256 wordpieces)
    is cut at clause breaks by the model's own count; every sentence and chunk then fits."""
    from rag.ingest.sentences import split_sentences
    from rag.pipeline import Pipeline

    settings = Settings(data_dir=tmp_path / "store", llm="extractive", model_cache_dir=model_cache)
    embedder = get_embedder(settings)
    names = [f"Xylo{c}quartz-Zeph{c}" for c in "bcdfghjklmnpqrstvwxz"]
    run_on = "Officials named " + ", ".join(
        f"{n} of Qwerty{i}ville {1000 + i * 7},{i}31.5" for i, n in enumerate(names)
    )
    run_on = run_on[:980].rsplit(" ", 1)[0] + "."
    body = f"The port reopened on Monday. {run_on} Ferries resumed at noon."
    raw = split_sentences(body)
    longest = max(embedder.count_tokens([s.text for s in raw])) - 2
    assert longest > embedder.max_tokens  # the planted unit would not fit the model
    (tmp_path / "long.txt").write_text(f"Long list\n\n{body}\n", encoding="utf-8")
    pipe = Pipeline(settings)
    assert pipe.ingest([tmp_path / "long.txt"]).ok
    (info,) = pipe.articles()
    article = pipe.article(info.id)
    assert article is not None and len(article.sentences) > len(raw)
    sizes = [n - 2 for n in embedder.count_tokens([s.text for s in article.sentences])]
    assert max(sizes) <= settings.chunk_max_tokens
    # The counts kept with the article are the model's, for cut pieces and whole sentences.
    assert [s.pieces for s in article.sentences] == sizes
    for s in article.sentences:
        assert article.text[s.start : s.end] == s.text
    # Cut pieces tile the run-on sentence: nothing but the spaces between them is lost.
    joined = " ".join(s.text for s in article.sentences)
    assert " ".join(joined.split()) == " ".join(article.text.split())
    chunks = pipe.store.all_chunks()
    assert max(embedder.count_tokens([c.text for c in chunks])) <= embedder.max_tokens
