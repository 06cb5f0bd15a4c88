"""Ingest end to end on a real Chroma in a temp dir with the real MiniLM model."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.config import Settings
from rag.pipeline import Pipeline
from rag.store import NewsStore
from rag.types import Sentence
from tests.conftest import ROOT, SEED
from vectorstore.chroma import ChromaStore
from vectorstore.fts import TermIndex

BODY = (
    "The city council approved the new budget on Tuesday. "
    "It allocates $4.2 million to road repairs. "
    "Mayor Ana Ruiz said the vote was a relief. "
    "Opposition members walked out before the vote."
)


def _records(tmp: Path, name: str, records: list[dict[str, str]]) -> Path:
    path = tmp / name
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def _record(**kw: str) -> dict[str, str]:
    base = {
        "title": "Council approves budget",
        "author": "Staff",
        "source": "City Herald",
        "published_at": "2023-10-10T09:00:00+00:00",
        "category": "politics",
        "url": "https://example.com/budget",
        "body": BODY,
    }
    base.update(kw)
    return base


def _consistent(store: NewsStore) -> int:
    """Every chunk and sentence vector belongs to the committed version of its article, and
    each article has one vector per sentence; returns the chunk count."""
    infos = store.list_articles()
    hashes = {a.id: a.content_hash for a in infos}
    chunks = store.all_chunks()
    for c in chunks:
        assert hashes.get(c.article_id) == c.content_hash, c.id
    for r in store.sentences.get():
        assert hashes.get(r.metadata["article_id"]) == r.metadata["content_hash"], r.id
    assert store.sentences.count() == len(infos)  # one record of sentence vectors an article
    vectors = store.sentence_vectors(store.get_articles([a.id for a in infos]))
    assert {a.id: a.n_sentences for a in infos} == {k: len(v) for k, v in vectors.items()}
    # The lexical index holds exactly the committed versions, all of their chunks.
    assert store.terms.versions() == {a.id: {a.content_hash} for a in infos}
    assert store.terms.count("chunk") == len(chunks)
    assert store.terms.count("sentence") == sum(a.n_sentences for a in infos)
    return len(chunks)


def test_seed_article_is_stored_with_exact_sentence_offsets(settings: Settings) -> None:
    pipe = Pipeline(settings)
    report = pipe.ingest([SEED])
    assert report.ok, report.failed
    assert len(report.added) == 1
    article = pipe.article(report.added[0])
    assert article is not None
    assert article.source == "Trend News Agency"
    assert (
        article.published_at is not None and article.published_at.date().isoformat() == "2024-01-03"
    )
    for s in article.sentences:
        assert article.text[s.start : s.end] == s.text
        assert "Disclaimer" not in s.text and "MENAFN" not in s.text and "WhatsApp" not in s.text
    assert any("225 deaths" in s.text for s in article.sentences)
    # Chunk text is exactly the article text over the chunk's sentence range.
    for c in pipe.store.all_chunks():
        a, b = article.sentences[c.sentence_start].start, article.sentences[c.sentence_end - 1].end
        assert c.text == article.text[a:b]
    stats = pipe.stats()
    assert stats["articles"] == 1 and stats["chunks"] >= 1
    assert stats["sentences"] == len(article.sentences)
    # One vector per sentence, in text order (pooled in its chunk's context): of all rows, the
    # 225-deaths sentence's is the one nearest that sentence embedded alone.
    import numpy as np

    from rag.embed import get_embedder

    vectors = pipe.store.sentence_vectors([article])[article.id]
    assert vectors.shape == (len(article.sentences), 384)
    deaths = next(s for s in article.sentences if "225 deaths" in s.text)
    own = get_embedder(settings).embed_documents([deaths.text])[0]
    assert int(np.argmax(vectors @ own)) == deaths.index
    assert float(vectors[deaths.index] @ own) > 0.5


def test_reingest_stores_nothing_new(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = Pipeline(settings)
    src = _records(
        tmp_path, "a.json", [_record(), _record(url="https://example.com/b", body=BODY + " More.")]
    )
    first = pipe.ingest([src, SEED])
    assert len(first.added) == 3
    n_chunks = _consistent(pipe.store)
    # Unchanged articles are recognised by their hash before the (slow) sentence splitting.
    from rag.ingest import run as ingest_run

    split_calls: list[str] = []
    real_split = ingest_run.split_sentences

    def counting_split(text: str) -> tuple[Sentence, ...]:
        split_calls.append(text)
        return real_split(text)

    monkeypatch.setattr(ingest_run, "split_sentences", counting_split)
    stages: list[str] = []
    again = pipe.ingest([src, SEED], progress=lambda stage, _n, _t: stages.append(stage))
    assert (len(again.added), len(again.updated), len(again.unchanged)) == (0, 0, 3)
    assert again.chunks_written == 0
    assert _consistent(pipe.store) == n_chunks
    assert split_calls == [] and set(stages) == {"read"}
    # A changed article is split (and reported as progress), the two unchanged are not.
    changed = _records(
        tmp_path,
        "a.json",
        [
            _record(body=BODY + " Changed."),
            _record(url="https://example.com/b", body=BODY + " More."),
        ],
    )
    third = pipe.ingest([changed, SEED], progress=lambda stage, _n, _t: stages.append(stage))
    assert len(third.updated) == 1 and len(third.unchanged) == 2
    assert len(split_calls) == 1 and "Changed." in split_calls[0]
    assert {"split", "embed"} <= set(stages)


def test_changed_article_replaces_its_chunks(settings: Settings, tmp_path: Path) -> None:
    pipe = Pipeline(settings)
    pipe.ingest([_records(tmp_path, "a.json", [_record()])])
    old = pipe.articles()[0]
    changed = _record(body=BODY + " The budget takes effect in January.")
    report = pipe.ingest([_records(tmp_path, "a.json", [changed])])
    assert report.updated == [old.id] and not report.added
    new = pipe.articles()
    assert len(new) == 1 and new[0].content_hash != old.content_hash
    _consistent(pipe.store)
    assert any("January" in c.text for c in pipe.store.all_chunks())


def test_delete_removes_article_and_chunks(settings: Settings, tmp_path: Path) -> None:
    pipe = Pipeline(settings)
    report = pipe.ingest([_records(tmp_path, "a.json", [_record()]), SEED])
    victim = report.added[0]
    assert pipe.delete(victim)
    assert not pipe.delete(victim)
    assert victim not in {a.id for a in pipe.articles()}
    assert all(c.article_id != victim for c in pipe.store.all_chunks())
    _consistent(pipe.store)


def test_exact_duplicates_from_two_outlets_are_both_kept_and_linked(
    settings: Settings, tmp_path: Path
) -> None:
    pipe = Pipeline(settings)
    src = _records(
        tmp_path,
        "dups.json",
        [_record(), _record(source="Wire Daily", url="https://wire.example/budget")],
    )
    report = pipe.ingest([src])
    assert len(report.added) == 2
    infos = {a.id: a for a in pipe.articles()}
    a, b = report.added
    assert infos[a].duplicate_of == (b,) and infos[b].duplicate_of == (a,)
    assert {infos[a].source, infos[b].source} == {"City Herald", "Wire Daily"}
    pipe.delete(a)
    assert pipe.articles()[0].duplicate_of == ()


def test_bad_inputs_are_reported_and_good_ones_stored(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.json").write_text(json.dumps([_record()]), encoding="utf-8")
    (folder / "broken.json").write_text('[{"title": "x", "body": ', encoding="utf-8")
    (folder / "nobody.json").write_text(json.dumps([_record(), {"title": "t"}]), encoding="utf-8")
    (folder / "empty.txt").write_text("   \n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    (folder / "baddate.json").write_text(
        json.dumps([_record(url="https://example.com/x", published_at="the day after never")]),
        encoding="utf-8",
    )
    pipe = Pipeline(settings)
    report = pipe.ingest([folder])
    failed = {Path(e.origin.split("#")[0]).name: e.reason for e in report.failed}
    assert set(failed) == {"broken.json", "nobody.json", "empty.txt", "binary.txt", "baddate.json"}
    assert any(e.origin.endswith("nobody.json#1") for e in report.failed)
    assert len(report.added) == 1  # good.json and nobody.json#0 are one article (same url)
    _consistent(pipe.store)


def test_cli_ingest_stats_list_delete(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dateline_cli import app

    monkeypatch.setenv("DATELINE_DATA_DIR", str(tmp_path / "store"))
    (tmp_path / "bad.json").write_text("{nope", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", str(SEED), str(tmp_path / "bad.json")])
    assert res.exit_code == 1
    assert "bad.json" in res.output and "added 1" in res.output
    res = runner.invoke(app, ["stats", "--json"])
    assert res.exit_code == 0, res.output
    stats = json.loads(res.output)
    assert stats["articles"] == 1 and "Trend News Agency" in stats["outlets"]
    res = runner.invoke(app, ["list", "--json"])
    article_id = json.loads(res.output)[0]["id"]
    assert runner.invoke(app, ["delete", article_id]).exit_code == 0
    assert runner.invoke(app, ["delete", article_id]).exit_code == 1


CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from vectorstore import chroma
    real = chroma.ChromaCollection.upsert
    def upsert(self, *a, **k):
        if {crash!r} and self.name.endswith("_articles"):
            os._exit(9)  # killed after the chunks were written, before the commit
        return real(self, *a, **k)
    chroma.ChromaCollection.upsert = upsert
    from rag.config import Settings
    from rag.pipeline import Pipeline
    Pipeline(Settings(data_dir=Path({data!r}), model_cache_dir=Path({cache!r}))).ingest([{src!r}])
    """
)


def _child_ingest(settings: Settings, src: Path, *, crash: bool) -> int:
    # Another process, as a real crash would be (and Chroma allows one client per folder).
    code = CHILD.format(
        root=str(ROOT),
        data=str(settings.data_dir),
        cache=str(settings.model_cache_dir),
        src=str(src),
        crash=crash,
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 9), proc.stderr
    return proc.returncode


def test_kill_mid_ingest_then_rerun_leaves_no_partial_article(
    settings: Settings, tmp_path: Path
) -> None:
    src = _records(tmp_path, "a.json", [_record()])
    assert _child_ingest(settings, src, crash=False) == 0
    src.write_text(json.dumps([_record(body=BODY + " A new paragraph arrived.")]), encoding="utf-8")
    assert _child_ingest(settings, src, crash=True) == 9
    # Seen raw, the killed write left the new version's chunks and sentence vectors behind.
    raw = ChromaStore(path=settings.data_dir / "chroma")
    left_chunks = raw.collection(f"{settings.collection}_chunks").count()
    assert raw.collection(f"{settings.collection}_sentences").count() == 2
    del raw
    lexical = settings.data_dir / "lexical" / f"{settings.collection}.sqlite"
    (versions,) = TermIndex(lexical).versions().values()
    assert len(versions) == 2  # ... and its terms, which the lexical index took before
    # Opening the store removes them: the old version is whole and nothing else is there.
    store = NewsStore(settings)
    (old,) = store.list_articles()
    assert "new paragraph" not in (store.get_article(old.id) or old).text  # type: ignore[union-attr]
    assert left_chunks > old.n_chunks == store.chunks.count()
    assert store.sentences.count() == 1
    assert _consistent(store) == old.n_chunks
    assert store.recover() == 0  # nothing pending any more
    report = Pipeline(settings).ingest([src])
    assert len(report.updated) == 1
    (new,) = store.list_articles()
    assert new.content_hash != old.content_hash
    assert _consistent(store) == new.n_chunks


def test_a_store_refuses_vectors_of_another_embedding_model(
    settings: Settings, tmp_path: Path
) -> None:
    import numpy as np

    from rag.embed import register_embedder
    from rag.errors import StoreError

    pipe = Pipeline(settings)
    assert pipe.ingest([SEED]).ok
    assert pipe.store.chunks.info()["dateline:embed_model"] == "all-MiniLM-L6-v2"
    # The same model under its hub name, or from the torch backend, is the same vectors.
    same = Pipeline(settings.with_(embed_model="sentence-transformers/all-MiniLM-L6-v2"))
    assert same.retrieve("How many people died?")

    class Other:
        """Another 384-dimension model: Chroma itself would accept its vectors."""

        name, dim, max_tokens = "other-384", 384, 256

        def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
            return np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384)

        def embed_query(self, text: str) -> np.ndarray:
            return self.embed_documents([text])[0]

        def count_tokens(self, texts: Sequence[str]) -> list[int]:
            return [len(t.split()) + 2 for t in texts]

    register_embedder("other-384", lambda _s: Other())
    other = Pipeline(settings.with_(embed_model="other-384"))
    with pytest.raises(StoreError, match=r"'all-MiniLM-L6-v2'.*DATELINE_EMBED_MODEL=all-MiniLM"):
        other.retrieve("How many people died?")
    src = _records(tmp_path, "new.json", [_record()])
    report = other.ingest([src])
    assert not report.ok and "embedding model" in report.failed[0].reason
    assert len(Pipeline(settings).articles()) == 1  # nothing of the other model was stored


def test_a_store_without_its_lexical_index_gets_it_once_when_opened(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pipe = Pipeline(settings)
    assert pipe.ingest([SEED]).ok
    question = "How many people died in the January 2022 unrest in Kazakhstan?"
    before = [h.chunk.id for h in pipe.retrieve(question, k=3)]
    pipe.store.terms.close()
    del pipe
    lexical = settings.data_dir / "lexical" / f"{settings.collection}.sqlite"
    for leftover in lexical.parent.glob(lexical.name + "*"):
        leftover.unlink()  # as a store written before the index existed
    with caplog.at_level("WARNING", logger="dateline.store"):
        store = NewsStore(settings)
    assert "building the lexical index of 1 articles" in caplog.text
    assert _consistent(store) > 0
    assert store.sync_terms() == 0  # once: the next open reads one mark and goes on
    store.terms.close()
    again = Pipeline(settings)
    assert [h.chunk.id for h in again.retrieve(question, k=3)] == before


def test_a_store_made_with_chromas_default_index_writes_is_brought_to_dateline_s(
    settings: Settings,
) -> None:
    from vectorstore.chroma import SYNC_THRESHOLD, open_client

    assert Pipeline(settings).ingest([SEED]).ok
    client = open_client(settings.data_dir / "chroma")
    names = [f"{settings.collection}_{kind}" for kind in ("chunks", "articles", "sentences")]
    for name in names:  # as Chroma's default (and Dateline before 0.14.1) left it
        client.get_collection(name).modify(configuration={"hnsw": {"sync_threshold": 1000}})
    store = NewsStore(settings)
    for name in names:
        held = client.get_collection(name).configuration_json["hnsw"]
        assert held["sync_threshold"] == SYNC_THRESHOLD, name
    assert store.articles.count() == 1 and store.chunks.count() > 0
    store.terms.close()
