"""The one public entry point: a Pipeline over one store, with ingest(), ask() and stream()."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import Settings, apply_offline_env, load_settings
from rag.errors import InputError
from rag.types import Answer, Article, Hit, IngestReport

if TYPE_CHECKING:
    from rag.answer import SourceSentence
    from rag.ingest import Progress
    from rag.query import Filters, QueryPlan
    from rag.store import ArticleInfo, NewsStore


_DEFAULT: dict[Settings, Pipeline] = {}


def get_pipeline(settings: Settings | None = None) -> Pipeline:
    """A shared Pipeline per settings (Chroma allows one client per folder per process)."""
    settings = settings or load_settings()
    if settings not in _DEFAULT:
        _DEFAULT[settings] = Pipeline(settings)
    return _DEFAULT[settings]


def ingest(
    paths: Sequence[Path | str],
    settings: Settings | None = None,
    *,
    source: str | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest files and folders of news into the store named by settings."""
    return get_pipeline(settings).ingest(paths, source=source, progress=progress)


# ----- answering ---------------------------------------------------------------------------

HistoryItem = Any  # {"role": ..., "content": ...} dicts, (user, assistant) pairs, or Messages
_FOLLOW_UP = re.compile(
    r"^(?:and|but|also|so|what about|how about|then)\b|\b(?:it|its|they|them|their|he|she|his|"
    r"her|this|that|these|those|there|the same)\b",
    re.I,
)


def _turns(history: Sequence[HistoryItem] | None) -> list[tuple[str, str]]:
    """(role, text) turns from the shapes callers use."""
    out: list[tuple[str, str]] = []
    for item in history or ():
        if isinstance(item, dict):
            content = item.get("content")
            if isinstance(content, list):  # Gradio may send content as parts
                content = " ".join(
                    str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content
                )
            out.append((str(item.get("role", "user")), str(content or "")))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            user, bot = item
            if user:
                out.append(("user", str(user)))
            if bot:
                out.append(("assistant", str(bot)))
        elif hasattr(item, "role") and hasattr(item, "content"):
            out.append((str(item.role), str(item.content)))
    return out


def needs_rewrite(question: str, history: Sequence[HistoryItem] | None) -> bool:
    """A follow-up leans on the conversation: pronouns, 'and ...', or very few words."""
    if not any(role == "user" for role, _t in _turns(history)):
        return False
    return bool(_FOLLOW_UP.search(question)) or len(question.split()) < 5


def heuristic_rewrite(question: str, history: Sequence[HistoryItem] | None) -> str:
    """Without a generative model: carry the previous question's subject into the follow-up."""
    previous = [t for role, t in _turns(history) if role == "user"]
    if not previous:
        return question
    follow = re.sub(r"^(?:and|but|also|so|then)\s+", "", question.strip(), flags=re.I)
    follow = follow[:1].upper() + follow[1:]
    return f"{follow.rstrip('?')}? (following up on: {previous[-1].strip()})"


class _Answering:
    """The ask/stream half of Pipeline (kept apart to keep each part readable)."""

    settings: Settings
    _lock: threading.RLock

    @property
    def store(self) -> NewsStore:  # provided by Pipeline
        raise NotImplementedError

    def _services(self) -> tuple[Any, Any]:
        from rag.embed import get_embedder
        from rag.retrieve import Retriever

        with self._lock:
            if getattr(self, "_retriever", None) is None:
                embedder = get_embedder(self.settings)
                self._embedder = embedder
                self._retriever = Retriever(self.store, embedder, self.settings)
            return self._retriever, self._embedder

    def _llm(self) -> Any:
        from rag.llm import get_llm

        if self.settings.llm == "extractive":
            return None
        with self._lock:
            if getattr(self, "_llm_obj", None) is None:
                self._llm_obj = get_llm(self.settings)
            return self._llm_obj

    def known_sources(self) -> list[str]:
        gen = self.store.generation
        cached = getattr(self, "_sources_cache", None)
        if cached is None or cached[0] != gen:
            self._sources_cache = (gen, self.store.sources())
        return self._sources_cache[1]

    def similarity(self, text: str, others: Sequence[str]) -> list[float]:
        """Cosine similarity of `text` to each of `others` with the store's embedder."""
        if not others:
            return []
        _r, embedder = self._services()
        vecs = embedder.embed_documents([text, *others])
        return [float(x) for x in vecs[1:] @ vecs[0]]

    def rewrite(self, question: str, history: Sequence[HistoryItem] | None) -> str | None:
        """The follow-up as a standalone question, or None when it already is one."""
        if not needs_rewrite(question, history):
            return None
        llm = self._llm()
        if llm is None:
            return heuristic_rewrite(question, history)
        from prompts import render
        from rag.llm import Message

        convo = "\n".join(f"{role}: {text.strip()[:400]}" for role, text in _turns(history)[-6:])
        reply = llm.complete(
            [Message("user", render("rewrite", history=convo, question=question))],
            max_tokens=64,
            stop=["\n"],
        )
        reply = reply.strip().strip('"')
        return reply if len(reply.split()) >= 3 else heuristic_rewrite(question, history)

    def retrieve(
        self,
        question: str,
        filters: Filters | None = None,
        *,
        as_of: datetime | None = None,
        k: int | None = None,
    ) -> list[Hit]:
        """The chunks retrieval ranks first for a standalone question (what `ask` reads)."""
        return self._search(question, filters, as_of, k)[1]

    def _search(
        self,
        question: str,
        filters: Filters | None,
        as_of: datetime | None,
        k: int | None = None,
        unit: str | None = None,
    ) -> tuple[QueryPlan, list[Hit]]:
        """The question's plan and the units retrieval ranks first for it."""
        from rag.query import plan_query

        retriever, _embedder = self._services()
        plan = plan_query(question, self.known_sources(), as_of=as_of, filters=filters)
        return plan, list(retriever.search(plan, k, unit=unit))

    def _gather(
        self, question: str, filters: Filters | None, as_of: datetime | None
    ) -> tuple[QueryPlan, list[Hit], list[SourceSentence]]:
        """The plan, the retrieved chunks and the numbered source sentences for a question."""
        from rag.answer import select_sentences

        plan, hits = self._search(question, filters, as_of, unit=self.settings.answer_unit)
        sources = select_sentences(
            plan.question,
            hits,
            self._article,
            self.similarity,
            limit=(
                self.settings.answer_sentences_yesno
                if plan.wants_short_answer == "yesno"
                else self.settings.answer_sentences
            ),
            spread=self.settings.answer_unit == "passage",
        )
        return plan, hits, sources

    def context(
        self, question: str, filters: Filters | None = None, *, as_of: datetime | None = None
    ) -> list[SourceSentence]:
        """The numbered source sentences the model is shown for a standalone question: all
        that an answer can cite."""
        return self._gather(question, filters, as_of)[2]

    def stream(
        self,
        question: str,
        history: Sequence[HistoryItem] | None = None,
        filters: Filters | None = None,
        *,
        as_of: datetime | None = None,
    ) -> Iterator[str | Answer]:
        """Text deltas as the answer is written, then the final, verified Answer."""
        from prompts import render
        from rag.answer import (
            ABSTAIN_TOKEN,
            extractive_answer,
            format_sources,
            stream_text,
        )
        from rag.llm import Message

        question = " ".join(question.split())
        if not question:
            raise InputError("question", "the question is empty")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        standalone = self.rewrite(question, history)
        timings["rewrite"] = time.perf_counter() - t0
        plan, hits, sources = self._gather(standalone or question, filters, as_of)
        t1 = time.perf_counter()
        timings["retrieve"] = t1 - t0 - timings["rewrite"]
        llm = self._llm()
        parts: list[str] = []
        if plan.absent_sources:
            # It asks what an outlet reported that no stored article is from: whatever other
            # outlets say would be passed off as that outlet's report.
            parts.append(ABSTAIN_TOKEN)
        elif llm is None or not sources:
            text = (
                extractive_answer(plan.question, sources, self.similarity)
                if sources
                else ABSTAIN_TOKEN
            )
            if text != ABSTAIN_TOKEN:
                yield from stream_text(text)
            parts.append(text)
        else:
            from prompts import load_dialogue

            messages = [
                Message("system", render("answer_system")),
                *(Message(role, text) for role, text in load_dialogue("answer_examples")),
                Message(
                    "user",
                    render("answer_user", question=plan.question, sources=format_sources(sources)),
                ),
            ]
            held = ""
            for delta in llm.stream(messages, max_tokens=self.settings.llm_max_tokens):
                parts.append(delta)
                # Hold back a reply that is turning into the abstention token.
                held += delta
                if ABSTAIN_TOKEN.startswith(held.strip()[: len(ABSTAIN_TOKEN)]) and len(
                    held.strip()
                ) < len(ABSTAIN_TOKEN):
                    continue
                if held.strip().startswith(ABSTAIN_TOKEN):
                    continue
                yield held
                held = ""
        t2 = time.perf_counter()
        timings["generate"] = t2 - t1
        answer = self._finish(question, standalone, plan, hits, sources, "".join(parts), timings)
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

    def _article(self, article_id: str) -> Article | None:
        cache: dict[str, tuple[str, Article | None]] = self.__dict__.setdefault(
            "_article_cache", {}
        )
        gen = str(self.store.generation)
        if article_id not in cache or cache[article_id][0] != gen:
            cache[article_id] = (gen, self.store.get_article(article_id))
        return cache[article_id][1]

    def _judge(self) -> Any:
        if self.settings.judge != "llm":
            return None
        llm = self._llm()
        if llm is None:
            return None
        from prompts import render
        from rag.llm import Message

        def judge(claim: str, evidence: str) -> bool:
            reply = llm.complete(
                [Message("user", render("judge", claim=claim, evidence=evidence))], max_tokens=3
            )
            return reply.strip().lower().startswith("yes")

        return judge

    def _finish(
        self,
        question: str,
        standalone: str | None,
        plan: Any,
        hits: Sequence[Any],
        sources: Sequence[Any],
        raw: str,
        timings: dict[str, float],
    ) -> Answer:
        from rag.answer import ABSTAIN_TOKEN, parse_markers
        from rag.sentences import split_sentences
        from rag.verify import verify

        by_n = {s.n: s for s in sources}
        text, _cited = parse_markers(raw, set(by_n))
        if plan.absent_sources:
            return self._abstain(question, standalone, hits, timings, absent=plan.absent_sources)
        if not text or text.strip().upper().startswith(ABSTAIN_TOKEN) or not by_n:
            return self._abstain(question, standalone, hits, timings)
        sentences = [s.text for s in split_sentences(text)]
        checked = verify(
            sentences, by_n, self.similarity, judge=self._judge(), mode=self.settings.verify_mode
        )
        if not checked.supported or not _answers_the_kind_asked(plan.question, checked.checks):
            return self._abstain(question, standalone, hits, timings, checks=checked.checks)
        # Renumber the citations that survive 1..n in order of appearance.
        order = _numbering(checked.text, checked.cited)
        final_text = _apply_numbering(checked.text, order)
        citations = tuple(
            _replace_n(by_n[old].citation(verified=checked.cited[old]), new)
            for old, new in order.items()
        )
        checks = tuple(
            type(c)(
                _apply_numbering(c.text, order),
                tuple(order[n] for n in c.citations if n in order),
                c.supported,
                c.score,
                c.reason,
            )
            for c in checked.checks
        )
        return Answer(
            question=question,
            answer=final_text,
            abstained=False,
            citations=citations,
            verification=checks,
            short_answer=_short_answer(final_text, plan.wants_short_answer),
            standalone_question=standalone,
            retrieved=tuple(hits),
            timings=timings,
        )

    def _abstain(
        self,
        question: str,
        standalone: str | None,
        hits: Sequence[Any],
        timings: dict[str, float],
        checks: tuple[Any, ...] = (),
        absent: Sequence[str] = (),
    ) -> Answer:
        q = (standalone or question).strip()
        text = f"The articles do not say. None of the stored sentences answers: “{q}”"
        if absent:
            names = f"{', '.join(absent[:-1])} or {absent[-1]}" if len(absent) > 1 else absent[0]
            text = f"The articles do not say: none of the stored articles is from {names}."
        return Answer(
            question=question,
            answer=text,
            abstained=True,
            verification=checks,
            short_answer="Insufficient information.",
            standalone_question=standalone,
            retrieved=tuple(hits),
            timings=timings,
        )


def _answers_the_kind_asked(question: str, checks: Sequence[Any]) -> bool:
    """A question that only asks for amounts, counts or dates ("What did it cost?") is not
    answered by supported sentences that hold none: a small model's "The contingent cost
    [1]." restates the question, and its citation is on topic, but it says nothing."""
    from rag.answer import expected_type, fits_type, question_clauses, strip_markers

    wanted = [expected_type(c) for c in question_clauses(question)]
    if not wanted or any(w not in ("money", "number", "date") for w in wanted):
        return True
    supported = [strip_markers(c.text) for c in checks if c.supported and c.citations]
    return any(fits_type(text, w) for text in supported for w in wanted)


def _numbering(text: str, known: Collection[int]) -> dict[int, int]:
    """Old marker → new number, 1..n in order of first appearance in the answer."""
    order: dict[int, int] = {}
    for m in re.finditer(r"\[(\d+)\]", text):
        n = int(m.group(1))
        if n in known and n not in order:
            order[n] = len(order) + 1
    return order


def _apply_numbering(text: str, order: dict[int, int]) -> str:
    """Rewrite markers with the answer's numbering; markers it does not know go."""

    def repl(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[{order[n]}]" if n in order else ""

    return re.sub(r"\[(\d+)\]", repl, text)


def _replace_n(citation: Any, n: int) -> Any:
    from dataclasses import replace

    return replace(citation, n=n)


def _short_answer(text: str, wants: str | None) -> str | None:
    from rag.answer import strip_markers

    plain = strip_markers(text)
    first = re.split(r"(?<=[.!?])\s+", plain, maxsplit=1)[0].strip()
    if wants == "yesno":
        m = re.match(r"^(yes|no)\b", first, re.I)
        return m.group(1).capitalize() if m else None
    if wants == "entity" and 0 < len(first.split()) <= 6:
        return first.rstrip(".")
    return None


class Pipeline(_Answering):
    """Everything Dateline does for one store; the UI, the API and the eval hold one."""

    def __init__(self, settings: Settings | None = None) -> None:
        apply_offline_env()
        self.settings = settings or load_settings()
        self._store: NewsStore | None = None
        self._lock = threading.RLock()

    @property
    def store(self) -> NewsStore:
        with self._lock:
            if self._store is None:
                from rag.store import NewsStore

                self._store = NewsStore(self.settings)
            return self._store

    def ingest(
        self,
        paths: Sequence[Path | str],
        *,
        source: str | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        from rag.ingest import ingest as run_ingest

        with self._lock:
            return run_ingest(
                paths, self.settings, source=source, store=self.store, progress=progress
            )

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


def ask(
    question: str,
    history: Sequence[HistoryItem] | None = None,
    filters: Filters | None = None,
    settings: Settings | None = None,
    *,
    as_of: datetime | None = None,
) -> Answer:
    """Answer a question from the store named by settings, with verified citations."""
    return get_pipeline(settings).ask(question, history, filters, as_of=as_of)


def stream(
    question: str,
    history: Sequence[HistoryItem] | None = None,
    filters: Filters | None = None,
    settings: Settings | None = None,
    *,
    as_of: datetime | None = None,
) -> Iterator[str | Answer]:
    """Text deltas of the answer, then the final Answer."""
    return get_pipeline(settings).stream(question, history, filters, as_of=as_of)
