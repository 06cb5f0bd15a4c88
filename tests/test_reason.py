"""Answers by question shape: the shape a question is read as, the claim each named report is
checked against, and shaped answers end to end on a real store (scripted model readings)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from rag.config import Settings
from rag.llm import Message
from rag.pipeline import Pipeline
from rag.question import plan_query
from rag.question.shape import question_shape
from rag.reason.entities import entity_candidates
from rag.reason.reading import confirm
from rag.reason.reports import _report_slots, claim_text
from rag.types import Answer, Chunk, Hit
from tests.conftest import ingested
from tests.fakes import ScriptedLLM, install_scripted_llm
from ui.render import answer_html

DATA = Path(__file__).parent / "data" / "reason_reports.jsonl"
CLAIMS_Q = (
    "Does the Fortune article suggest that Sam Bankman-Fried persuaded a former Jane Street "
    "colleague to join Alameda Research, while The Verge article indicates that FTX grew "
    "faster than Bankman-Fried could manage?"
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Settings:
    return ingested(tmp_path_factory, model_cache, [DATA], articles=3)


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    ("question", "kind", "asks_same", "choices"),
    [
        ("Which company did both Wired and CNBC report on?", "entity", True, ()),
        (CLAIMS_Q, "claims", True, ()),
        (
            "Between the Fortune report on the trial and The Verge report on FTX, was there "
            "consistency in the portrayal of Bankman-Fried?",
            "agreement",
            True,
            (),
        ),
        (
            "Between the Fortune report on the trial and The Verge report on FTX, was there no "
            "change in the portrayal of Bankman-Fried?",
            "agreement",
            True,
            (),
        ),
        (
            "Between the Fortune report on the trial and The Verge report on FTX, was there a "
            "change in the portrayal of Bankman-Fried?",
            "agreement",
            False,
            (),
        ),
        (
            "Is the stance of the Fortune report on the trial and The Verge report on FTX "
            "consistent or inconsistent?",
            "agreement",
            True,
            ("Consistent", "Inconsistent"),
        ),
        (
            "Was the Fortune report on Yedidia published before The Verge report on FTX?",
            "order",
            True,
            (),
        ),
        ("How many dock workers went on strike?", "open", True, ()),
    ],
)
def test_question_shapes(
    question: str, kind: str, asks_same: bool, choices: tuple[str, ...]
) -> None:
    from rag.question import plan_query

    plan = plan_query(question, ["Fortune", "The Verge", "Wired", "CNBC"])
    shape = question_shape(question, plan.wants_short_answer, 2)
    assert (shape.kind, shape.asks_same, shape.choices) == (kind, asks_same, choices)
    assert plan.shape == shape


def test_claim_text_drops_the_frame_and_keeps_the_claim() -> None:
    outlets = ["Fortune", "The Verge"]
    assert (
        claim_text("Does the 'Fortune' article suggest that FTX was built on lies", outlets)
        == "FTX was built on lies"
    )
    assert (
        claim_text("while The Verge article indicates that the exchange grew too fast?", outlets)
        == "The exchange grew too fast"
    )
    # The claim's own "reported" is not a frame.
    assert claim_text("Did the port report record profits", outlets).startswith("Record")


@pytest.mark.parametrize(
    ("hop", "claim"),
    [
        # What the question says of the reports together is no one report's claim.
        (
            "while the Fortune article implies that fans want fun, indicating a difference in "
            "the appeal of these experiences?",
            "Fans want fun",
        ),
        ("while The Verge piece discusses the trial, without mentioning any layoffs?", "The trial"),
        (
            "Does the Fortune article say that FTX grew, or do both articles imply a collapse?",
            "FTX grew",
        ),
        (
            "while the Fortune article says scientists advanced, with one studying mice and the "
            "other quantum dots?",
            "Scientists advanced",
        ),
        # "focuses on" and "considers" are frames too; "articles" goes with its outlets.
        ("while the 'Fortune' and 'The Verge' articles focus on his influence", "His influence"),
        ("the article from Fortune considers Wallin a threat", "Wallin a threat"),
        # "as implied by OUTLET" names where the claim is said, inside the claim's words.
        (
            "Does the path of the Wallabies, as implied by the Fortune article, depend on others",
            "The path of the Wallabies depend on others",
        ),
    ],
)
def test_claim_text_leaves_out_what_is_said_of_the_reports_together(hop: str, claim: str) -> None:
    assert claim_text(hop, ["Fortune", "The Verge"]) == claim


def test_reports_named_without_a_verb_share_the_claim_said_of_both() -> None:
    question = (
        "Did the article from The Verge on Spotify's profit and the article from Fortune on "
        "stock indices both report an increase in their figures?"
    )
    plan = plan_query(question, ["Fortune", "The Verge"])
    claims = {claim_text(part, plan.sources) for _, _, part in _report_slots(plan)}
    assert claims == {"An increase in their figures"}


# ----------------------------------------------------------------------------- end to end


def _number_of(prompt: str, needle: str) -> int:
    for line in prompt.splitlines():
        m = re.match(r"\[(\d+)\] (.*)$", line)
        if m and needle in m.group(2):
            return int(m.group(1))
    return 0


def _reader(verdicts: dict[str, tuple[str, str]]):  # type: ignore[no-untyped-def]
    """A scripted reader: for the claim containing a key, the verdict and the sentence that
    contains the paired needle."""

    def reply(messages: Sequence[Message]) -> str:
        prompt = messages[-1].content
        if "Claim:" not in prompt:  # the composed answer's draft: nothing to add
            return "INSUFFICIENT"
        claim = prompt.split("Claim:", 1)[1].split("\n", 1)[0]
        for key, (verdict, needle) in verdicts.items():
            if key in claim:
                return json.dumps({"verdict": verdict, "sentence": _number_of(prompt, needle)})
        return json.dumps({"verdict": "not found", "sentence": 0})

    return reply


def _row(answer: Answer, outlet: str) -> dict[str, object]:
    rows = [c.to_json() for c in answer.claims if c.source == outlet]
    assert len(rows) == 1, answer.claims
    return rows[0]


def test_claims_yes_when_every_named_report_states_its_claim(store: Settings) -> None:
    llm = install_scripted_llm(
        _reader(
            {
                "persuaded": ("supported", "persuaded Adam Yedidia"),
                "grew faster": ("supported", "grew faster than he could manage"),
            }
        )
    )
    answer = Pipeline(store.with_(llm="scripted")).ask(CLAIMS_Q)
    assert answer.shape == "claims" and answer.short_answer == "Yes"
    assert answer.answer.startswith("Yes.")
    fortune, verge = _row(answer, "Fortune"), _row(answer, "The Verge")
    assert fortune["verdict"] == verge["verdict"] == "supported"
    by_n = {c.n: c for c in answer.citations}
    assert "persuaded Adam Yedidia" in by_n[fortune["citation"]].text  # type: ignore[index]
    assert "grew faster" in by_n[verge["citation"]].text  # type: ignore[index]
    assert all(c.verified for c in answer.citations)
    # Every reading was one constrained call: a JSON schema with the allowed verdicts; each
    # cited sentence was read a second time alone (a schema over one sentence).
    assert len(llm.schemas) == 4
    assert [s["properties"]["sentence"]["maximum"] for s in llm.schemas[2:]] == [1, 1]  # type: ignore[index]
    for schema in llm.schemas:
        assert schema is not None
        assert schema["properties"]["verdict"]["enum"] == [  # type: ignore[index]
            "supported",
            "contradicted",
            "not found",
        ]
    # The API's JSON carries the per-report claims.
    data = answer.to_json()
    assert data["claims"][0]["report"]["outlet"] == "Fortune"
    assert data["claims"][0]["report"]["published_at"].startswith("2023-10-04")


def test_a_cited_sentence_read_alone_as_not_saying_its_claim_is_unverified(
    store: Settings,
) -> None:
    """The five-sentence verdict stands (and with it the short answer), but the sentence it
    cites is marked verified only when a reading of that sentence alone agrees."""
    verdicts = {
        "persuaded": ("supported", "persuaded Adam Yedidia"),
        "grew faster": ("supported", "grew faster than he could manage"),
    }
    first_reading = _reader(verdicts)

    def reply(messages: Sequence[Message]) -> str:
        prompt = messages[-1].content
        alone = "[1]" in prompt and "[2]" not in prompt
        if alone and "grew faster" in prompt.split("Claim:", 1)[-1]:
            return json.dumps({"verdict": "not found", "sentence": 0})
        return first_reading(messages)

    install_scripted_llm(reply)
    answer = Pipeline(store.with_(llm="scripted")).ask(CLAIMS_Q)
    assert answer.short_answer == "Yes"
    fortune, verge = _row(answer, "Fortune"), _row(answer, "The Verge")
    assert fortune["verdict"] == verge["verdict"] == "supported"
    by_n = {c.n: c for c in answer.citations}
    assert by_n[fortune["citation"]].verified  # type: ignore[index]
    assert not by_n[verge["citation"]].verified  # type: ignore[index]
    checks = {c.text.split(" (")[0]: c for c in answer.verification}
    assert checks["Fortune"].supported and not checks["The Verge"].supported
    assert "read alone" in checks["The Verge"].reason


@pytest.fixture(scope="module")
def dated_store(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Settings:
    return ingested(tmp_path_factory, model_cache, [DATA.with_name("reason_dated.jsonl")], 2)


def test_the_report_a_question_dates_is_the_one_published_then(dated_store: Settings) -> None:
    # The 4 October report's words are closer to the claim; the question dates the other one.
    question = (
        "Did the Fortune report published on October 11, 2023 say that prosecutors told "
        "jurors Bankman-Fried took customer deposits from FTX?"
    )
    reports = Pipeline(dated_store).reports(question)
    assert len(reports) == 1 and reports[0] is not None
    assert reports[0].article.title == "Ellison testifies against Bankman-Fried"
    assert reports[0].off_date == ""


def test_an_answer_says_when_no_report_is_from_the_date_asked(dated_store: Settings) -> None:
    question = (
        "Did the Fortune report published on October 4, 2024 say that prosecutors told "
        "jurors Bankman-Fried took customer deposits from FTX?"
    )
    install_scripted_llm(_reader({"customer deposits": ("supported", "took customer deposits")}))
    answer = Pipeline(dated_store.with_(llm="scripted")).ask(question)
    assert answer.shape == "claims"
    assert (
        "No stored Fortune report from the question's date (on October 4, 2024) matches; the "
        "one read is Fortune (4 October 2023)." in answer.answer
    )
    # A date without a year is read against today, which an archive of old news may not
    # mean: no such note for it.
    undated = Pipeline(dated_store).reports(question.replace(", 2024", ""))
    assert undated[0] is not None and undated[0].off_date == ""


def test_claims_no_names_the_report_that_does_not_say_it(store: Settings) -> None:
    install_scripted_llm(_reader({"persuaded": ("supported", "persuaded Adam Yedidia")}))
    answer = Pipeline(store.with_(llm="scripted")).ask(CLAIMS_Q)
    assert answer.short_answer == "No" and not answer.abstained
    verge = _row(answer, "The Verge")
    assert verge["verdict"] == "not found" and verge["citation"] is None
    assert "The Verge (28 October 2023) does not say this" in answer.answer
    unsupported = [c for c in answer.verification if not c.supported]
    assert len(unsupported) == 1 and "The Verge" in unsupported[0].text


def test_a_reading_whose_figure_is_not_in_its_sentence_is_not_found(store: Settings) -> None:
    question = CLAIMS_Q.replace("a former Jane Street colleague", "40 Jane Street colleagues")
    install_scripted_llm(
        _reader(
            {
                "persuaded": ("supported", "persuaded Adam Yedidia"),
                "grew faster": ("supported", "grew faster than he could manage"),
            }
        )
    )
    answer = Pipeline(store.with_(llm="scripted")).ask(question)
    assert answer.short_answer == "No"
    assert _row(answer, "Fortune")["verdict"] == "not found"
    assert _row(answer, "The Verge")["verdict"] == "supported"


def test_no_shaped_answer_when_no_report_says_anything_on_its_claim(store: Settings) -> None:
    llm = install_scripted_llm(_reader({}))  # every reading: not found
    answer = Pipeline(store.with_(llm="scripted")).ask(CLAIMS_Q)
    # Nothing to cite for a "No": the composed path answers (the scripted model has no
    # draft to give, so the articles "do not say").
    assert answer.shape == "composed" and not answer.claims
    assert answer.abstained and len(llm.calls) == 3  # two readings, then the draft


def test_two_reports_that_disagree_on_one_claim_are_called_out(store: Settings) -> None:
    question = (
        "Do both Fortune and The Verge report that Alameda Research borrowed customer money "
        "from FTX?"
    )

    def reply(messages: Sequence[Message]) -> str:
        prompt = messages[-1].content
        if "Yedidia" in prompt:  # the Fortune report's sentences
            n = _number_of(prompt, "customer money had been lent")
            return json.dumps({"verdict": "supported", "sentence": n})
        n = _number_of(prompt, "agreed line of credit")
        return json.dumps({"verdict": "contradicted", "sentence": n})

    install_scripted_llm(reply)
    answer = Pipeline(store.with_(llm="scripted")).ask(question)
    assert answer.short_answer == "No"
    assert "The reports disagree" in answer.answer
    assert {c.verdict for c in answer.claims} == {"supported", "contradicted"}
    # The contradicting row quotes what the report says, not the claim it denies, and leaves
    # the reader to judge it: a contradiction read by the model alone is never verified.
    assert "The Verge (28 October 2023) says otherwise: “" in answer.answer
    assert "agreed line of credit" in answer.answer
    verge = _row(answer, "The Verge")
    by_n = {c.n: c for c in answer.citations}
    assert not by_n[verge["citation"]].verified  # type: ignore[index]
    (check,) = [c for c in answer.verification if "says otherwise" in c.text]
    assert not check.supported and "check the quote" in check.reason


def test_entity_rows_name_the_answer_as_each_sentence_writes_it(store: Settings) -> None:
    question = (
        "Which individual did Fortune report Yedidia trusted for years, and The Verge report "
        "said FTX grew faster than he could manage?"
    )
    answer = Pipeline(store).ask(question)  # extractive: code's first candidate
    assert (answer.shape, answer.short_answer) == ("entity", "Sam Bankman-Fried")
    fortune = _row(answer, "Fortune")
    assert "trusted Bankman-Fried for years" in fortune["sentence"]
    # Fortune's sentence has the surname only, so its row says no more than that.
    assert "Fortune (4 October 2023) names Bankman-Fried [" in answer.answer
    assert "The Verge (28 October 2023) names Sam Bankman-Fried [" in answer.answer


def test_name_as_written() -> None:
    from rag.reason.entities import name_as_written

    assert name_as_written("He trusted bankman-fried.", "Sam Bankman-Fried") == "bankman-fried"
    assert name_as_written("Sam Bankman-Fried spoke.", "Sam Bankman-Fried") == "Sam Bankman-Fried"
    assert name_as_written("Nobody here.", "Sam Bankman-Fried") == "Sam Bankman-Fried"


def test_entity_answer_leads_with_the_name_and_cites_each_report(store: Settings) -> None:
    question = (
        "Which individual did Fortune report persuaded a former Jane Street colleague to join "
        "Alameda Research, and The Verge report said FTX grew faster than he could manage?"
    )
    answer = Pipeline(store).ask(question)  # extractive: code's first candidate
    assert answer.shape == "entity"
    assert answer.short_answer == "Sam Bankman-Fried"
    assert answer.answer.startswith("Sam Bankman-Fried.")
    assert {c.source for c in answer.claims} == {"Fortune", "The Verge"}
    assert all("Bankman-Fried" in c.sentence for c in answer.claims)


def test_entity_choice_is_the_models_among_code_candidates(store: Settings) -> None:
    question = "Which person did Fortune report testified that he trusted a former colleague?"

    def reply(messages: Sequence[Message]) -> str:
        if "Claim:" in messages[-1].content:  # reading the sentence that names the answer
            return json.dumps({"verdict": "supported", "sentence": 1})
        return json.dumps({"answer": "Adam Yedidia"})

    llm = install_scripted_llm(reply)
    answer = Pipeline(store.with_(llm="scripted")).ask(question)
    assert answer.short_answer == "Adam Yedidia"
    schema = llm.schemas[0]
    assert schema is not None
    enum = schema["properties"]["answer"]["enum"]  # type: ignore[index]
    assert "Adam Yedidia" in enum and "Fortune" not in enum  # outlets are never the answer
    # The sentence cited for the name is marked as saying the claim because it was read so.
    assert [c.verified for c in answer.citations] == [True]
    assert sum("Claim:" in m[-1].content for m in llm.calls) == 1


def test_entity_question_offering_two_names_is_answered_by_one_of_them(store: Settings) -> None:
    question = (
        "Which person did Fortune report testified that he trusted a former colleague, "
        "Adam Yedidia or Sam Bankman-Fried?"
    )

    def reply(messages: Sequence[Message]) -> str:
        if "Claim:" in messages[-1].content:
            return json.dumps({"verdict": "supported", "sentence": 1})
        return json.dumps({"answer": "Adam Yedidia"})

    llm = install_scripted_llm(reply)
    answer = Pipeline(store.with_(llm="scripted")).ask(question)
    schema = llm.schemas[0]
    assert schema is not None
    # Only the two offered names, though the question itself names both.
    assert set(schema["properties"]["answer"]["enum"]) == {  # type: ignore[index]
        "Adam Yedidia",
        "Sam Bankman-Fried",
    }
    assert (answer.shape, answer.short_answer) == ("entity", "Adam Yedidia")


def test_order_comes_from_publication_dates(store: Settings) -> None:
    before = "Was the Fortune report on Yedidia published before The Verge report on FTX?"
    after = "Was the Fortune report on Yedidia published after The Verge report on FTX?"
    yes, no = Pipeline(store).ask(before), Pipeline(store).ask(after)
    assert (yes.shape, yes.short_answer, no.short_answer) == ("order", "Yes", "No")
    assert "4 October 2023" in yes.answer and "28 October 2023" in yes.answer
    assert {c.source for c in yes.citations} == {"Fortune", "The Verge"}


def test_the_chat_shows_what_each_report_says_escaped(store: Settings) -> None:
    install_scripted_llm(
        _reader(
            {
                "persuaded": ("supported", "persuaded Adam Yedidia"),
                "grew faster": ("contradicted", "grew faster than he could manage"),
            }
        )
    )
    answer = Pipeline(store.with_(llm="scripted")).ask(CLAIMS_Q + " <script>x</script>")
    html = answer_html(answer)
    assert "What each report says" in html
    assert "says otherwise" in html and "says so" in html
    assert html.count('class="cite') >= 2 and "<script>" not in html


def test_streaming_yields_a_verdict_before_the_answer(store: Settings) -> None:
    install_scripted_llm(
        _reader(
            {
                "persuaded": ("supported", "persuaded Adam Yedidia"),
                "grew faster": ("supported", "grew faster than he could manage"),
            }
        )
    )
    items = list(Pipeline(store.with_(llm="scripted")).stream(CLAIMS_Q))
    texts = [i for i in items if isinstance(i, str)]
    assert texts and texts[0].startswith("Fortune (4 October 2023) bears this out")
    assert isinstance(items[-1], Answer)


def test_every_answer_has_a_short_answer() -> None:
    from rag.answer.short import short_answer

    question = "Which company did TechCrunch report harmed news publishers?"
    long_form = "The company the TechCrunch article accuses of harming publishers is Google [1]."
    assert short_answer(long_form, "entity", question) == "Google"
    assert short_answer("No [2]. It was lifted on January 19 [1].", "yesno") == "No"
    # An open question's short answer is the answer's first sentence, markers removed.
    assert short_answer("Dock workers get 4.5% [1]. More in 2025 [2].", None) == (
        "Dock workers get 4.5%."
    )
    # Split as sentences are, not at every full stop.
    assert short_answer("The strike ended on Feb. 13 [1]. Ships berthed [2].", None) == (
        "The strike ended on Feb. 13."
    )
    # When the answer sets the scene first, the sentence that speaks to the question.
    scene = (
        "The last ships berthed overnight after the strike ended on Feb. 13 [1]. Under the "
        "deal, dock workers will get a 4.5% pay rise this year [2]."
    )
    question = "What pay rise did the dock workers get?"
    assert short_answer(scene, None, question) == (
        "Under the deal, dock workers will get a 4.5% pay rise this year."
    )
    assert short_answer(scene, None, "When did the strike end?").startswith("The last ships")


def test_the_command_line_prints_what_each_report_says(
    store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from dateline_cli import app

    monkeypatch.setenv("DATELINE_DATA_DIR", str(store.data_dir))
    monkeypatch.setenv("DATELINE_MODEL_CACHE_DIR", str(store.model_cache_dir))
    question = "Was the Fortune report on Yedidia published before The Verge report on FTX?"
    text = CliRunner().invoke(app, ["ask", question, "--llm", "extractive"])
    assert text.exit_code == 0, text.output
    assert text.output.startswith("Yes.")
    assert "What each report says:" in text.output
    assert "Fortune, 2023-10-04: says so [1]" in text.output
    data = CliRunner().invoke(app, ["ask", question, "--llm", "extractive", "--json"])
    claims = json.loads(data.output)["claims"]
    assert [c["report"]["outlet"] for c in claims] == ["Fortune", "The Verge"]


@pytest.mark.parametrize("reads_as_said", [True, False])
def test_agreement_quotes_both_reports_and_marks_an_off_topic_quote(
    store: Settings, reads_as_said: bool
) -> None:
    question = (
        "Between the Fortune report on Yedidia's testimony and The Verge report on FTX's "
        "growth, was there consistency in the portrayal of how Yedidia came to join Alameda "
        "Research?"
    )
    confirmed: list[str] = []

    def reply(messages: Sequence[Message]) -> str:
        prompt = messages[-1].content
        if "Claim:" in prompt:
            # Fortune's quote is on the topic but not plainly its claim ("Yedidia's
            # testimony"): the model reads whether it says it.
            confirmed.append(prompt)
            verdict = "supported" if reads_as_said else "not found"
            return json.dumps({"verdict": verdict, "sentence": 1 if reads_as_said else 0})
        assert "Compared on: how Yedidia came to join Alameda Research" in prompt
        side_a, side_b = prompt.split("Report B", 1)
        a = _number_of(side_a, "persuaded Adam Yedidia")
        b = _number_of(side_b, "Friday")  # "... told jurors on Friday that FTX grew ..."
        return json.dumps({"verdict": "same", "a": a, "b": b})

    install_scripted_llm(reply)
    answer = Pipeline(store.with_(llm="scripted")).ask(question)
    assert (answer.shape, answer.short_answer) == ("agreement", "Yes")
    assert "The reports say the same on this" in answer.answer
    fortune, verge = _row(answer, "Fortune"), _row(answer, "The Verge")
    by_n = {c.n: c for c in answer.citations}
    assert len(confirmed) == 1 and "persuaded Adam Yedidia" in confirmed[0]
    assert by_n[fortune["citation"]].verified is reads_as_said  # type: ignore[index]
    assert fortune["verdict"] == ("supported" if reads_as_said else "not found")
    # The Verge's quoted sentence is about FTX's growth, not how Yedidia joined: unverified,
    # without asking the model.
    assert verge["verdict"] == "not found"
    assert not by_n[verge["citation"]].verified  # type: ignore[index]


CHANGE_Q = (
    "Between the Fortune report on Yedidia's testimony and The Verge report on FTX's growth, "
    "was there a change in the portrayal of Alameda Research?"
)


@pytest.mark.parametrize(("same_share", "short"), [(0.3, "No"), (0.1, "Yes")])
def test_agreement_is_weighed_on_the_topic_without_the_questions_framing(
    store: Settings, same_share: float, short: str
) -> None:

    def weights(messages: Sequence[Message]) -> dict[str, float]:
        # A model shown "was there a change?" tends to say there was: the prompt it weighs
        # names only the topic and the two reports' sentences.
        prompt = messages[-1].content
        assert "was there a change" not in prompt and "Topic: Alameda Research\n" in prompt
        assert prompt == prompt.rstrip()  # the split was set on prompts without a final newline
        return {"same": same_share * 0.9, "different": (1 - same_share) * 0.9}

    def reply(messages: Sequence[Message]) -> str:
        assert "Claim:" in messages[-1].content  # only the quotes are read, in words
        return json.dumps({"verdict": "not found", "sentence": 0})

    llm = install_scripted_llm(reply, weights)
    answer = Pipeline(store.with_(llm="scripted", agreement_split=0.17)).ask(CHANGE_Q)
    # "Was there a change?": reports weighed the same (share at or above the split) give No.
    assert (answer.shape, answer.short_answer) == ("agreement", short)
    assert len(llm.weighed) == 1
    how = "say the same" if short == "No" else "differ"
    assert f"The reports {how} on this" in answer.answer
    assert {c.source for c in answer.citations} == {"Fortune", "The Verge"}


def test_agreement_read_in_words_when_weighing_is_off(store: Settings) -> None:

    def reply(messages: Sequence[Message]) -> str:
        prompt = messages[-1].content
        if "Claim:" in prompt:
            return json.dumps({"verdict": "not found", "sentence": 0})
        assert "Question: " + CHANGE_Q in prompt
        return json.dumps({"verdict": "different", "a": 1, "b": 1})

    llm = install_scripted_llm(reply, lambda m: {"same": 0.9, "different": 0.1})
    answer = Pipeline(store.with_(llm="scripted", agreement_split=None)).ask(CHANGE_Q)
    assert (answer.shape, answer.short_answer) == ("agreement", "Yes")
    assert not llm.weighed


def test_a_sentence_cited_for_another_reason_is_verified_only_when_read_as_saying_it() -> None:
    claim = "Google paid billions to stay the default search engine"
    plain = "Google paid billions of dollars to stay the default search engine on phones."
    close = "The judge asked about the deals that keep Google's search on every phone."
    apart = "The weather in Washington was cold on the first day of the trial."
    cosine = {plain: 0.9, close: 0.5, apart: 0.1}

    def similarity(_claim: str, sentences: Sequence[str]) -> list[float]:
        return [cosine[s] for s in sentences]

    def says() -> ScriptedLLM:
        return ScriptedLLM([json.dumps({"verdict": "supported", "sentence": 1})])

    def doubts() -> ScriptedLLM:
        return ScriptedLLM([json.dumps({"verdict": "not found", "sentence": 0})])

    # Plainly about something else: decided in code, the model is not asked.
    model = says()
    assert not confirm(claim, apart, "TechCrunch", model, similarity) and not model.calls
    # On the topic, close or even plain: the model's reading decides, one call each.
    for sentence in (plain, close):
        model = says()
        assert confirm(claim, sentence, "TechCrunch", model, similarity)
        assert len(model.calls) == 1
        assert not confirm(claim, sentence, "TechCrunch", doubts(), similarity)
    # Without a model only a sentence close in words or meaning passes.
    assert confirm(claim, plain, "TechCrunch", None, similarity)
    assert not confirm(claim, close, "TechCrunch", None, similarity)
    # A question's fragment is no claim: nothing is marked as saying it, nothing is read.
    model = says()
    assert not confirm("Company", plain, "TechCrunch", model, similarity) and not model.calls
    assert not confirm("Company", plain, "TechCrunch", None, similarity)


def _hit(i: int, text: str, source: str = "Wire") -> Hit:
    chunk = Chunk(f"c{i}", f"a{i}", 0, 1, text, "t", source, None, "h")
    return Hit(chunk, 1.0 / (i + 1))


def test_who_questions_offer_organisations_after_people_unless_a_person_is_asked_for() -> None:
    hits = [
        _hit(0, "President Kassym Tokayev asked the Collective Security Treaty Organization."),
        _hit(1, "The CSTO sent troops, Kassym Tokayev said, and the CSTO stayed a week."),
    ]
    who = entity_candidates("Who did Kazakhstan ask for help?", hits, (), ("Wire",))
    assert who[0].endswith("Kassym Tokayev")
    assert "Collective Security Treaty Organization" in who[1:]
    person = entity_candidates("Which individual did Kazakhstan ask?", hits, (), ("Wire",))
    assert person == who[:1]


def test_names_are_parted_by_an_ellipsis_or_a_dash_and_a_character_is_asked_like_a_person() -> None:
    hits = [
        _hit(0, "Partners were redacted. … AT&T … Google also has revenue share agreements."),
        _hit(1, "Viewers in England met Ellie Leach as Faye Windass — Coronation Street's teen."),
        _hit(2, "England fans loved Faye Windass, and England watched."),
    ]
    names = entity_candidates("Which company shares revenue?", hits[:1], (), ("Wire",))
    assert "Google" in names and "AT&T" in names and not any("AT&T Google" in n for n in names)
    character = entity_candidates("Which character did Ellie Leach play?", hits[1:], (), ("Wire",))
    assert character[0] == "Faye Windass"
    assert "Coronation Street" in character
