"""What an evaluation run evaluates: the question set (and its hash), the sample, the LLM,
the judge and the store, compared when a run is resumed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from evals.datasets import Question, load_questions, stratified_sample
from rag import InputError, Settings

# Configuration fields that must agree for a run to be resumed: anything that changes the
# answer to, or the score of, a question already in results.jsonl.
_RESUME_FIELDS = ("questions_sha256", "llm", "llm_model", "judge", "sample", "seed", "store")


@dataclass(frozen=True)
class RunConfig:
    """What a run evaluates; stored in run.json and compared on resume."""

    questions: str  # the question file as given (resolved)
    questions_sha256: str  # its content: an edited file is a different question set
    questions_format: str  # "jsonl" (ours) or "multihop" (MultiHop-RAG's dev_queries.json)
    llm: str
    llm_model: str | None
    judge: str  # lexical | llm | openai: who scores citations
    sample: int | None
    seed: int | None  # only meaningful with sample
    limit: int | None
    store: str  # where the articles are (the store location)
    corpus: tuple[str, ...] = ()  # what was ingested before the run (informative)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["corpus"] = list(self.corpus)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunConfig:
        values: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        values["corpus"] = tuple(data.get("corpus") or ())
        return cls(**values)

    def mismatches(self, other: RunConfig) -> list[str]:
        """The resume-relevant fields that differ, as 'field: stored → now' lines."""
        return [
            f"{name}: {getattr(other, name)!r} → {getattr(self, name)!r}"
            for name in _RESUME_FIELDS
            if getattr(self, name) != getattr(other, name)
        ]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def questions_format(path: Path) -> str:
    """'multihop' for a JSON array (MultiHop-RAG's queries), 'jsonl' for our format."""
    with path.open("rb") as f:
        head = f.read(4096).decode("utf-8-sig", errors="replace").lstrip()
    return "multihop" if head.startswith("[") else "jsonl"


def make_config(
    questions_path: Path,
    settings: Settings,
    *,
    judge: str,
    sample: int | None = None,
    seed: int | None = None,
    limit: int | None = None,
    corpus: Sequence[Path] = (),
) -> RunConfig:
    """The configuration of a run of `questions_path` on the store and LLM of `settings`."""
    if not questions_path.is_file():
        raise InputError(str(questions_path), "no such file; check the path to the question set")
    return RunConfig(
        questions=str(questions_path.resolve()),
        questions_sha256=file_sha256(questions_path),
        questions_format=questions_format(questions_path),
        llm=settings.llm,
        llm_model=settings.llm_model,
        judge=judge,
        sample=sample,
        seed=(seed if seed is not None else 0) if sample is not None else None,
        limit=limit,
        store=settings.store_location,
        corpus=tuple(str(Path(p).resolve()) for p in corpus),
    )


def default_out_dir(questions_path: Path, llm: str, now: datetime | None = None) -> Path:
    """eval-out/<questions stem>-<llm>-<YYYYmmdd-HHMMSS> under the working directory."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path("eval-out") / f"{questions_path.stem}-{llm}-{stamp}"


def select_questions(
    questions: Sequence[Question],
    *,
    sample: int | None = None,
    seed: int | None = None,
    limit: int | None = None,
) -> list[Question]:
    """A stratified sample (when asked), then the first `limit` of it (when asked)."""
    chosen = list(questions)
    if sample is not None:
        chosen = stratified_sample(chosen, sample, seed or 0)
    if limit is not None:
        if limit < 0:
            raise ValueError(f"limit must be zero or more, got {limit}")
        chosen = chosen[:limit]
    return chosen


def load_selection(config: RunConfig) -> list[Question]:
    """The questions a configuration asks, in order."""
    return select_questions(
        load_questions(Path(config.questions)),
        sample=config.sample,
        seed=config.seed,
        limit=config.limit,
    )
