"""The Pipeline: the steps wired in order for one store — the ingest path and the answer path
(rewrite → plan → retrieve → pick sentences → draft → verify) — and nothing else."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import Settings, apply_offline_env, load_settings
from rag.errors import InputError
from rag.llm import EXTRACTIVE
from rag.llm.turns import Turns
from rag.types import Answer, Article, Hit, IngestReport, RawArticle

if TYPE_CHECKING:
    from rag.answer import HistoryItem, SourceSentence
    from rag.embed import Embedder
    from rag.ingest import Progress
    from rag.llm import LLM
    from rag.question import Filters, QueryPlan
    from rag.reason import Report
    from rag.retrieve import Retriever
    from rag.store import ArticleInfo, NewsStore
    from rag.verify import Judge


class Pipeline:
    """Everything Dateline does for one store; the UI, the API and the eval hold one."""

    def __init__(self, settings: Settings | None = None) -> None:
        apply_offline_env()
        self.settings = settings or load_settings()
        self._lock = threading.RLock()
        self._store: NewsStore | None = None
        self._retriever: Retriever | None = None
        self._llm: LLM | None = None
        self._turns = Turns(self.settings.max_waiting, self.settings.queue_timeout)

    # ----- services, made on first use -------------------------------------------------------

    @property
    def store(self) -> NewsStore:
        with self._lock:
            if self._store is None:
                from rag.store import NewsStore

                self._store = NewsStore(self.settings)
            return self._store

    @property
    def embedder(self) -> Embedder:
        from rag.embed import get_embedder

        return get_embedder(self.settings)  # one per settings and process

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                from rag.retrieve import Retriever

                self._retriever = Retriever(self.store, self.embedder, self.settings)
            return self._retriever

    def warm(self) -> None:
        """Load what the first question would wait for: the store's vector index, the lexical
        index and the embedding model (2-3 s at 100,000 articles). `dateline serve` runs it in
        the background at start, so the first question asked is answered at full speed."""
        self.retriever.warm()

    def llm(self) -> LLM | None:
        """The generative model the settings name (None for the extractive answerer)."""
        from rag.llm import get_llm

        if self.settings.llm == EXTRACTIVE:
            return None
        with self._lock:
            if self._llm is None:
                self._llm = get_llm(self.settings)
            return self._llm

    def llm_loaded(self) -> bool:
        """Whether answering needs no model load first (the UI says "loading" otherwise)."""
        from rag.llm import is_loaded

        return is_loaded(self.settings)

    def waiting(self) -> int:
        """Answers waiting for their turn at the generative model."""
        return self._turns.waiting

    def _judge(self) -> Judge | None:
        from rag.verify import LLMJudge

        llm = self.llm() if self.settings.judge == "llm" else None
        return LLMJudge(llm) if llm is not None else None

    # ----- the ingest path and the library ---------------------------------------------------

    def ingest(
        self,
        paths: Sequence[Path | str],
        *,
        source: str | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        from rag.ingest import ingest

        with self._lock:
            return ingest(paths, self.settings, source=source, store=self.store, progress=progress)

    def ingest_raw(
        self, raws: Sequence[RawArticle], *, progress: Progress | None = None
    ) -> IngestReport:
        """Ingest articles a reader already made (a watched feed's entries)."""
        from rag.ingest import ingest_raw

        with self._lock:
            return ingest_raw(raws, self.settings, store=self.store, progress=progress)

    def delete(self, article_id: str) -> bool:
        with self._lock:
            return self.store.delete_article(article_id)

    def article(self, article_id: str) -> Article | None:
        return self.store.get_article(article_id)

    def articles(self) -> list[ArticleInfo]:
        return self.store.list_articles()

    def sources(self) -> list[str]:
        return self.store.sources()

    def stats(self) -> dict[str, Any]:
        return self.store.stats()

    # ----- the answer path -------------------------------------------------------------------

    def plan(
        self, question: str, filters: Filters | None = None, *, as_of: datetime | None = None
    ) -> QueryPlan:
        """What the question says about outlets, dates, hops and the answer's shape."""
        from rag.question import plan_query

        return plan_query(question, self.store.cached_sources(), as_of=as_of, filters=filters)

    def retrieve(
        self,
        question: str,
        filters: Filters | None = None,
        *,
        as_of: datetime | None = None,
        k: int | None = None,
    ) -> list[Hit]:
        """The units retrieval ranks first for a standalone question."""
        return self.retriever.search(self.plan(question, filters, as_of=as_of), k)

    def evidence(
        self, question: str, filters: Filters | None = None, *, as_of: datetime | None = None
    ) -> tuple[QueryPlan, list[Hit], list[SourceSentence]]:
        """The plan, the units the answer step draws on and the numbered source sentences."""
        plan = self.plan(question, filters, as_of=as_of)
        hits = self.retriever.search(plan, unit=self.settings.answer_unit)
        return plan, hits, self._sources(plan, hits)

    def _sources(self, plan: QueryPlan, hits: list[Hit]) -> list[SourceSentence]:
        """The numbered sentences a composed answer shows the model."""
        from rag.answer import select_sentences
        from rag.embed.vectors import similarity

        yesno = plan.wants_short_answer == "yesno"
        return select_sentences(
            plan.question,
            hits,
            self.store.cached_article,
            partial(similarity, self.embedder),
            limit=self.settings.answer_sentences_yesno if yesno else self.settings.answer_sentences,
            spread=self.settings.answer_unit == "passage",
        )

    def reports(
        self, question: str, filters: Filters | None = None, *, as_of: datetime | None = None
    ) -> list[Report | None]:
        """Each report the question names, as found: its article and the sentences a reading
        of it sees (None where no stored report matches)."""
        from rag.embed.vectors import similarity
        from rag.reason import named_reports

        plan = self.plan(question, filters, as_of=as_of)
        return named_reports(plan, self.retriever, self.store, partial(similarity, self.embedder))

    def context(
        self, question: str, filters: Filters | None = None, *, as_of: datetime | None = None
    ) -> list[SourceSentence]:
        """The numbered source sentences the model is shown: all that an answer can cite."""
        return self.evidence(question, filters, as_of=as_of)[2]

    def stream(
        self,
        question: str,
        history: Sequence[HistoryItem] | None = None,
        filters: Filters | None = None,
        *,
        as_of: datetime | None = None,
    ) -> Iterator[str | Answer]:
        """Text deltas as the answer is written, then the final, verified Answer. Answers that
        need the generative model take turns in arrival order (BusyError when the line is
        full or the wait too long)."""
        question = " ".join(question.split())
        if not question:
            raise InputError("question", "the question is empty")
        if self.settings.llm == EXTRACTIVE:
            yield from self._stream(question, history, filters, as_of)
            return
        with self._turns.turn():
            yield from self._stream(question, history, filters, as_of)

    def _stream(
        self,
        question: str,
        history: Sequence[HistoryItem] | None,
        filters: Filters | None,
        as_of: datetime | None,
    ) -> Iterator[str | Answer]:
        from rag.answer import draft, rewrite
        from rag.embed.vectors import similarity
        from rag.reason import answer_by_shape, shaped_answer
        from rag.verify import finish

        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        standalone = rewrite(question, history, self.llm())
        timings["rewrite"] = time.perf_counter() - t0
        # The sentences a composed answer shows the model are picked only when one is needed.
        plan = self.plan(standalone or question, filters, as_of=as_of)
        hits = self.retriever.search(plan, unit=self.settings.answer_unit)
        t1 = time.perf_counter()
        timings["retrieve"] = t1 - t0 - timings["rewrite"]
        cosines = partial(similarity, self.embedder)
        shaped = None
        if not plan.absent_sources:
            shaped = yield from answer_by_shape(
                plan,
                self.retriever,
                self.store,
                self.llm(),
                cosines,
                agreement_split=self.settings.agreement_split,
            )
        if shaped is None:
            sources = self._sources(plan, hits)
            max_tokens = self.settings.llm_max_tokens
            raw = yield from draft(plan, sources, self.llm(), cosines, max_tokens=max_tokens)
        t2 = time.perf_counter()
        timings["generate"] = t2 - t1
        if shaped is not None:
            answer = shaped_answer(shaped, question, standalone, hits, timings)
        else:
            mode, judge = self.settings.verify_mode, self._judge()
            answer = finish(
                question, standalone, plan, hits, sources, raw, timings, cosines, judge, mode
            )
        timings["verify"] = time.perf_counter() - t2
        timings["total"] = time.perf_counter() - t0
        yield answer

    def ask(
        self,
        question: str,
        history: Sequence[HistoryItem] | None = None,
        filters: Filters | None = None,
        *,
        as_of: datetime | None = None,
    ) -> Answer:
        """Answer a question with verified citations (or say the articles do not say)."""
        final: Answer | None = None
        for item in self.stream(question, history, filters, as_of=as_of):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final
