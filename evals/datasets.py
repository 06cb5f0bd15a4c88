"""Question sets for evaluation: our JSONL format and MultiHop-RAG's queries, loaded as Questions.

Our format is JSON Lines: one JSON object per line, one question per object (blank lines
are skipped). Example:

    {"id": "q1", "question": "How many people died in the January 2022 unrest?",
     "answers": ["225", "225 deaths"], "type": "fact",
     "evidence": [{"text": "Official figures report 225 deaths and over 4,500 injuries ...",
                   "source": "Trend News Agency", "published_at": "2024-01-03"}],
     "as_of": "2024-01-10", "answerable": true}

(written on one line in the file). Fields:

- ``id`` (string, required, unique in the file): how reports name the question.
- ``question`` (string, required): asked as written.
- ``answers`` (list of strings) or ``answer`` (one string), not both: the accepted
  reference answers; any one of them counts as right. Required when the question is
  answerable; optional (and only informative) when it is not.
- ``type`` (string, default "general"): the group the question is reported under, e.g.
  "fact", "inference", "comparison", "temporal", "null".
- ``evidence`` (list, default empty): the sentences that answer the question, each an
  object ``{"text": ..., "source": ..., "title": ..., "published_at": ..., "article_id":
  ...}`` (only ``text`` required) or simply the text as a string. ``text`` is quoted
  exactly from the article as the cleaned text has it (hard line wraps joined by single
  spaces); retrieval counts a chunk as a hit when it contains one of these texts
  (white space ignored).
- ``as_of`` (ISO 8601 date or date-time, default none): the moment the question is asked,
  for questions like "last week"; a date without a time zone is taken as UTC.
- ``answerable`` (true/false, default true): false when the corpus cannot answer the
  question; the right response is then to abstain.

Unknown fields are errors (a typo like "answr" should not silently drop the answer).
`load_questions` also reads MultiHop-RAG's query file (a JSON array of objects with
query, answer, question_type, evidence_list) and tells the two apart by the first
character of the file.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag import InputError


@dataclass(frozen=True)
class Evidence:
    """A sentence that answers (part of) a question, and where it comes from."""

    text: str
    source: str | None = None
    title: str | None = None
    published_at: str | None = None  # as the question set gives it (ISO 8601 text)
    article_id: str | None = None


@dataclass(frozen=True)
class Question:
    """One evaluation question with its accepted answers and gold evidence."""

    id: str
    question: str
    answers: tuple[str, ...]
    type: str
    evidence: tuple[Evidence, ...]
    answerable: bool
    as_of: datetime | None


_FIELDS = ("id", "question", "answers", "answer", "type", "evidence", "as_of", "answerable")
_EVIDENCE_FIELDS = ("text", "source", "title", "published_at", "article_id")
_HINT = "see the question format in evals/datasets.py"


def load_questions(path: Path) -> list[Question]:
    """Read a question set: our JSONL format, or MultiHop-RAG's JSON array of queries."""
    text = _read(path)
    stripped = text.lstrip()
    if not stripped:
        raise InputError(str(path), f"the file is empty; it should hold questions ({_HINT})")
    if stripped[0] == "[":
        return _parse_multihop(path, text)
    return _parse_jsonl(path, text)


def load_multihop(path: Path) -> list[Question]:
    """Read MultiHop-RAG's queries (e.g. ../shared/data/multihop-rag/dev_queries.json).

    id = "mh-<position in the file>", type = question_type without "_query", answers =
    (answer,), evidence from evidence_list (fact → text, with title, source,
    published_at); null queries are unanswerable; as_of is None.
    """
    return _parse_multihop(path, _read(path))


def stratified_sample(questions: Sequence[Question], n: int, seed: int) -> list[Question]:
    """n questions, each type keeping its share, the same ones for the same seed.

    Each type gets floor(n * its count / total) questions; the seats left over go to the
    types with the largest remainders (ties: the type seen first). Within a type the
    questions are drawn at random from a generator seeded with (seed, type), so a type's
    draw does not change when another type is added. The result keeps the input order.
    """
    if n < 0:
        raise ValueError(f"sample size must be zero or more, got {n}")
    total = len(questions)
    if n >= total:
        return list(questions)

    by_type: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        by_type.setdefault(q.type, []).append(i)

    # Integer arithmetic: the remainders compare exactly, with no float ties.
    quota = {t: n * len(idx) // total for t, idx in by_type.items()}
    left = n - sum(quota.values())
    order = list(by_type)
    by_remainder = sorted(order, key=lambda t: (-(n * len(by_type[t]) % total), order.index(t)))
    for t in by_remainder[:left]:
        quota[t] += 1

    chosen: set[int] = set()
    for t, idx in by_type.items():
        chosen.update(random.Random(f"{seed}:{t}").sample(idx, quota[t]))
    return [q for i, q in enumerate(questions) if i in chosen]


# --------------------------------------------------------------------------- our JSONL


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # tolerate a BOM from Windows editors
    except FileNotFoundError:
        raise InputError(str(path), "no such file; check the path to the question set") from None
    except UnicodeDecodeError as e:
        raise InputError(str(path), f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise InputError(str(path), f"cannot be read: {e.strerror}") from None


def _parse_jsonl(path: Path, text: str) -> list[Question]:
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(
                where,
                f"not valid JSON ({e.msg} at column {e.colno}); each line must be one "
                f"complete JSON object ({_HINT})",
            ) from None
        q = _question(where, record)
        if q.id in seen:
            raise InputError(
                where, f"field 'id': {q.id!r} is already used on line {seen[q.id]}; ids must differ"
            )
        seen[q.id] = lineno
        questions.append(q)
    if not questions:
        raise InputError(str(path), f"no questions found ({_HINT})")
    return questions


def _question(where: str, record: Any) -> Question:
    if not isinstance(record, dict):
        raise InputError(where, f"expected a JSON object, got {_kind(record)} ({_HINT})")
    unknown = [k for k in record if k not in _FIELDS]
    if unknown:
        raise InputError(
            where, f"unknown field {unknown[0]!r}; the fields are: {', '.join(_FIELDS)}"
        )
    qid = _text(where, record, "id", required=True)
    question = _text(where, record, "question", required=True)
    assert qid is not None and question is not None  # required=True guarantees it

    answerable = record.get("answerable", True)
    if not isinstance(answerable, bool):
        raise InputError(where, f"field 'answerable' must be true or false, got {answerable!r}")

    if "answers" in record and "answer" in record:
        raise InputError(where, "fields 'answers' and 'answer' both given; keep one")
    if "answer" in record:
        one = _text(where, record, "answer", required=True)
        answers: tuple[str, ...] = (one,) if one is not None else ()
    else:
        raw = record.get("answers", [])
        if not isinstance(raw, list) or not all(isinstance(a, str) and a.strip() for a in raw):
            raise InputError(
                where,
                f"field 'answers' must be a list of non-empty strings, got {raw!r}; for one "
                "answer write it as a list of one, or use the field 'answer'",
            )
        answers = tuple(a.strip() for a in raw)
    if answerable and not answers:
        raise InputError(
            where,
            "field 'answers': an answerable question needs at least one answer; give "
            "'answers' (or 'answer'), or set \"answerable\": false",
        )

    return Question(
        id=qid,
        question=question,
        answers=answers,
        type=_text(where, record, "type") or "general",
        evidence=_evidence(where, record.get("evidence", [])),
        answerable=answerable,
        as_of=_as_of(where, record.get("as_of")),
    )


def _text(
    where: str, record: dict[str, Any], field: str, required: bool = False, label: str = ""
) -> str | None:
    """The string in `field`, stripped; None when absent and optional. `label` prefixes
    the field's name in errors ("evidence_list[2].") so that nested fields are findable."""
    value = record.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        got = "it is missing" if field not in record else f"got {value!r}"
        raise InputError(where, f"field '{label}{field}' must be a non-empty string; {got}")
    return value.strip()


def _evidence(where: str, raw: Any) -> tuple[Evidence, ...]:
    if not isinstance(raw, list):
        raise InputError(where, f"field 'evidence' must be a list, got {_kind(raw)}")
    items: list[Evidence] = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"text": item}  # shorthand: the evidence sentence alone
        field = f"evidence[{i}]"
        if not isinstance(item, dict):
            raise InputError(
                where, f"field {field!r} must be an object or a string, got {_kind(item)}"
            )
        unknown = [k for k in item if k not in _EVIDENCE_FIELDS]
        if unknown:
            raise InputError(
                where,
                f"field '{field}.{unknown[0]}' is unknown; the evidence fields are: "
                f"{', '.join(_EVIDENCE_FIELDS)}",
            )
        values: dict[str, str | None] = {}
        for name in _EVIDENCE_FIELDS:
            value = item.get(name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InputError(
                    where,
                    f"field '{field}.{name}' must be a non-empty string or null, got {value!r}",
                )
            values[name] = value.strip() if isinstance(value, str) else None
        text = values.pop("text")
        if text is None:
            raise InputError(where, f"field '{field}.text' is missing: quote the sentence")
        items.append(Evidence(text=text, **values))
    return tuple(items)


def _as_of(where: str, raw: Any) -> datetime | None:
    if raw is None:
        return None
    try:
        if not isinstance(raw, str):
            raise ValueError
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(
            where,
            f"field 'as_of' must be an ISO 8601 date or date-time such as \"2024-01-10\" "
            f'or "2024-01-10T09:00:00+00:00", got {raw!r}',
        ) from None
    # Dates elsewhere in Dateline are timezone-aware; a bare date means UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


# --------------------------------------------------------------------------- MultiHop-RAG


def _parse_multihop(path: Path, text: str) -> list[Question]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{path}:{e.lineno}", f"not valid JSON ({e.msg} at column {e.colno})"
        ) from None
    if not isinstance(data, list):
        raise InputError(
            str(path), f"expected a JSON array of MultiHop-RAG queries, got {_kind(data)}"
        )
    questions: list[Question] = []
    for i, record in enumerate(data):
        # A JSON array has no line per record; name the record by its position instead.
        where = f"{path}#{i}"
        if not isinstance(record, dict):
            raise InputError(where, f"expected a query object, got {_kind(record)}")
        query = _text(where, record, "query", required=True)
        answer = _text(where, record, "answer", required=True)
        qtype = _text(where, record, "question_type", required=True)
        assert query is not None and answer is not None and qtype is not None
        qtype = qtype.removesuffix("_query")
        raw_evidence = record.get("evidence_list", [])
        if not isinstance(raw_evidence, list):
            raise InputError(
                where, f"field 'evidence_list' must be a list, got {_kind(raw_evidence)}"
            )
        evidence: list[Evidence] = []
        for j, item in enumerate(raw_evidence):
            if not isinstance(item, dict):
                raise InputError(
                    where, f"field 'evidence_list[{j}]' must be an object, got {_kind(item)}"
                )
            fact = _text(where, item, "fact", required=True, label=f"evidence_list[{j}].")
            assert fact is not None
            evidence.append(
                Evidence(
                    text=fact,
                    title=_optional(item.get("title")),
                    source=_optional(item.get("source")),
                    published_at=_optional(item.get("published_at")),
                )
            )
        questions.append(
            Question(
                id=f"mh-{i}",
                question=query,
                answers=(answer,),
                type=qtype,
                evidence=tuple(evidence),
                answerable=qtype != "null",
                as_of=None,
            )
        )
    if not questions:
        raise InputError(str(path), "the array holds no queries")
    return questions


def _optional(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
