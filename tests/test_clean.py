"""Cleaning: unwrapped text without boilerplate, datelines split off, metadata normalised."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from rag.errors import InputError
from rag.ingest.clean import clean, derive_title, split_paragraphs, take_dateline
from rag.ingest.dates import parse_date
from rag.ingest.identity import article_id, article_identity, content_hash, normalise_url
from rag.ingest.load import read_file
from rag.ingest.sentences import split_sentences
from rag.types import RawArticle

DATA = Path(__file__).resolve().parent / "data"


def load_one(name: str) -> RawArticle:
    items = list(read_file(DATA / name))
    assert len(items) == 1 and isinstance(items[0], RawArticle), items
    return items[0]


@pytest.fixture(scope="module")
def seed() -> RawArticle:
    return clean(load_one("load_seed_menafn.txt"))


def test_seed_metadata(seed: RawArticle) -> None:
    assert seed.published_at == datetime(2024, 1, 3, tzinfo=UTC)
    assert seed.published_at.tzinfo is not None
    assert seed.source == "Trend News Agency"
    assert seed.dateline == "BAKU, Azerbaijan, January 3"


def test_seed_body_starts_after_the_dateline_and_is_unwrapped(seed: RawArticle) -> None:
    assert seed.body.startswith("During the Security Council meeting in response to the chaos")
    assert "the chaos in various regions" in seed.body  # was split over two lines
    for paragraph in seed.body.split("\n\n"):
        assert "\n" not in paragraph
    assert "Trend reports.\n\nEmphasizing" in seed.body  # a real paragraph end is kept


def test_seed_sentences_are_whole_and_free_of_boilerplate(seed: RawArticle) -> None:
    sentences = [s.text for s in split_sentences(seed.body)]
    assert (
        "Official figures report 225 deaths and over 4,500 injuries as a result of these "
        "events, as stated by authorities." in sentences
    )
    for text in sentences:
        for junk in ("Legal Disclaimer", "MENAFN", "WhatsApp", "Stay up to date"):
            assert junk not in text
    assert not seed.body.rstrip().endswith("channel")


def test_seed_gets_a_title_from_its_first_sentence(seed: RawArticle) -> None:
    assert seed.title is not None
    assert seed.title.startswith("During the Security Council meeting")
    assert seed.title.endswith("…") and len(seed.title) <= 91
    assert not seed.title[:-1].endswith(" ")


def test_clean_is_idempotent(seed: RawArticle) -> None:
    assert clean(seed) == seed


def raw(body: str, **fields: object) -> RawArticle:
    return RawArticle(body=body, origin="test.txt", **fields)  # type: ignore[arg-type]


WRAPPED = """\
Three-month copper on the London Metal Exchange was up 1.2% at
$8,640 a metric ton by 1100 GMT, its highest level since the
start of the year.
Stocks fell.
Dealers said Chinese buyers returned after the holiday, and that
premiums for physical metal were firming in Shanghai. The well-
known index rose too.
"""


def test_hard_wraps_are_joined_and_short_lines_after_a_full_stop_end_paragraphs() -> None:
    paragraphs = split_paragraphs(WRAPPED, unwrap=True)
    assert paragraphs == [
        "Three-month copper on the London Metal Exchange was up 1.2% at $8,640 a metric ton "
        "by 1100 GMT, its highest level since the start of the year.",
        "Stocks fell.",
        "Dealers said Chinese buyers returned after the holiday, and that premiums for "
        "physical metal were firming in Shanghai. The well-known index rose too.",
    ]


def test_text_with_one_paragraph_per_line_is_not_glued_together() -> None:
    text = (
        "The council approved the budget on Tuesday after a long debate.\n"
        "Opposition members walked out before the vote.\n"
        "The mayor called the result a victory for the city and its people."
    )
    assert len(split_paragraphs(text, unwrap=True)) == 3


def test_html_paragraphs_are_never_rewrapped() -> None:
    article = clean(raw("First paragraph here.\n\nSecond one.", fmt="html"))
    assert article.body == "First paragraph here.\n\nSecond one."


@pytest.mark.parametrize(
    "junk",
    [
        "Follow us on Twitter for the latest energy news.",
        "Subscribe to our Metals Daily newsletter for more.",
        "Sign up for our morning briefing.",
        "© 2024 Harbor Times Media Ltd. All rights reserved.",
        "Copyright 2023 Example News Inc.",
        "(Reporting by Ana Moreno; Editing by Ed Osmond)",
        "Reporting by Ana Moreno in London; editing by Ed Osmond",
        "Read more: The best password managers for 2023",
        "Related: Ten cheap weekend trips",
        "CLICK HERE TO GET THE FOX NEWS APP",
        "Advertisement",
        "MENAFN03012024000187011040ID1107680885",
        "Stay up to date with more news on Trend News Agency's WhatsApp channel",
    ],
)
def test_boilerplate_paragraphs_are_dropped(junk: str) -> None:
    body = f"The port reopened on Friday after a nine-day strike.\n\n{junk}\n\nShips queued."
    article = clean(raw(body, fmt="json"))
    assert article.body == "The port reopened on Friday after a nine-day strike.\n\nShips queued."


def test_legal_disclaimer_and_everything_after_it_goes() -> None:
    body = (
        "Real news sentence here.\n\nLegal Disclaimer:\nMENAFN provides the information.\n\nMore."
    )
    assert clean(raw(body)).body == "Real news sentence here."


def test_news_that_merely_mentions_promo_words_stays() -> None:
    body = (
        "Subscribers to the streaming service rose 12% in the quarter, the company said.\n\n"
        "Subscribe and save offers drove much of that growth, analysts said, pointing to a "
        "discount that ran from March to May across the company's 14 markets in Europe and "
        "Asia and which executives have said they will repeat next year, after it brought in "
        "more than two million new customers at a cost the board called acceptable, even "
        "though some investors questioned whether those customers would stay on at full price."
    )
    assert clean(raw(body, fmt="json")).body == body


@pytest.mark.parametrize(
    ("body", "dateline", "rest"),
    [
        (
            "BAKU, Azerbaijan, January 3. During the meeting",
            "BAKU, Azerbaijan, January 3",
            "During",
        ),
        ("LONDON, March 4 (Meridian) - Copper prices rose", "LONDON, March 4", "Copper"),
        ("WASHINGTON — The Senate voted on Tuesday", "WASHINGTON", "The Senate"),
        ("ANN ARBOR, Mich. -- Michigan beat Ohio State", "ANN ARBOR, Mich.", "Michigan"),
        ("NEW DELHI: The government said on Monday", "NEW DELHI", "The government"),
    ],
)
def test_datelines_are_split_off(body: str, dateline: str, rest: str) -> None:
    found, _agency, remainder = take_dateline(body)
    assert found == dateline
    assert remainder.startswith(rest)


@pytest.mark.parametrize(
    "body",
    [
        "UPDATE: Nov. 27, 2023, 5:00 a.m. EST This post has been updated.",
        "IBM. The company said it would cut jobs.",
        "NASA said on Friday it had delayed the launch.",
        "U.S. stocks fell on Monday.",
        "AI - the next frontier, they say.",
    ],
)
def test_capitalised_openings_that_are_not_datelines_stay(body: str) -> None:
    assert take_dateline(body) == (None, None, body)


def test_agency_in_a_dateline_becomes_the_source_when_none_is_known() -> None:
    article = clean(raw("LONDON, March 4 (Meridian) - Copper rose.\n\nIt fell later."))
    assert (article.dateline, article.source) == ("LONDON, March 4", "Meridian")
    assert article.body.startswith("Copper rose.")


def test_metadata_is_normalised() -> None:
    article = clean(
        raw(
            "Body text here.",
            title="  Port   strike ends \n",
            source=" Harbor Times ",
            author="None",
            url=" https://harbortimes.example/a ",
            published_at=datetime(2024, 2, 14, 9, 30),
        )
    )
    assert article.title == "Port strike ends"
    assert article.source == "Harbor Times"
    assert article.author is None
    assert article.url == "https://harbortimes.example/a"
    assert article.published_at == datetime(2024, 2, 14, 9, 30, tzinfo=UTC)


def test_missing_source_is_unknown_and_missing_date_stays_none() -> None:
    article = clean(raw("A short item with no metadata at all."))
    assert article.source == "unknown"
    assert article.published_at is None


def test_derived_title_is_cut_on_a_word_boundary() -> None:
    body = (
        "Officials in the northern province said on Thursday that the new bridge across the "
        "river would open to traffic in the spring of next year. Work began in 2021."
    )
    title = derive_title(body)
    assert title.endswith("…")
    assert len(title) <= 91
    assert body.startswith(title[:-1])
    assert body[len(title) - 1] == " "  # the cut falls between words
    assert derive_title("Short opening sentence. Then more.") == "Short opening sentence"


def test_a_body_of_only_boilerplate_is_an_input_error() -> None:
    with pytest.raises(InputError) as info:
        clean(raw("Follow us on Twitter\n\nMENAFN03012024000187011040ID1107680885"))
    assert info.value.reason == "no article text left after removing boilerplate"
    assert info.value.origin == "test.txt"


def test_parse_date_accepts_common_newsroom_formats() -> None:
    plus_one = timezone(timedelta(hours=1))
    assert parse_date("2024-01-03", "f") == datetime(2024, 1, 3, tzinfo=UTC)
    assert parse_date("2023-11-27T08:45:59+00:00", "f") == datetime(
        2023, 11, 27, 8, 45, 59, tzinfo=UTC
    )
    assert parse_date("Wed, 14 Feb 2024 09:30:00 +0100", "f") == datetime(
        2024, 2, 14, 9, 30, tzinfo=plus_one
    )
    assert parse_date("January 3, 2024", "f") == datetime(2024, 1, 3, tzinfo=UTC)
    assert parse_date(1704240000, "f") == datetime(2024, 1, 3, tzinfo=UTC)


def test_parse_date_rejects_nonsense_with_a_helpful_message() -> None:
    with pytest.raises(InputError) as info:
        parse_date("foo", "news.txt")
    assert info.value.origin == "news.txt"
    assert info.value.reason == "date 'foo' does not parse; write it as YYYY-MM-DD or ISO 8601"


def test_url_normalisation_ignores_tracking_case_www_and_fragments() -> None:
    a = normalise_url("https://www.Example.com/news/story/?utm_source=rss&id=7#comments")
    b = normalise_url("http://example.com/news/story?id=7")
    assert a == b == "https://example.com/news/story?id=7"


def test_identity_by_url_survives_body_edits_and_tracking_parameters() -> None:
    first = clean(raw("Version one of the text.", url="https://x.example/a?utm_medium=feed"))
    second = clean(raw("Version two, corrected.", url="https://www.x.example/a/"))
    assert article_identity(first) == article_identity(second) == "url:https://x.example/a"
    assert article_id(first) == article_id(second)
    assert re.fullmatch(r"[0-9a-f]{16}", article_id(first))


def test_identity_by_title_when_there_is_no_url() -> None:
    when = datetime(2024, 3, 18, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    first = clean(
        raw("Old body.", title="Heat pump grants double", source="Ledger", published_at=when)
    )
    edited = clean(replace(first, body="New body, with a correction."))
    identity = article_identity(first)
    assert identity == "meta:ledger|heat pump grants double|2024-03-19"  # the day in UTC
    assert article_identity(edited) == identity


def test_identity_by_text_when_the_title_was_derived() -> None:
    first = clean(raw("An untitled brief about the port strike.", source="Wire"))
    edited = clean(raw("An untitled brief about the port strike, corrected.", source="Wire"))
    assert article_identity(first).startswith("text:wire|")
    # no url and no real title: an edited text is a different article
    assert article_identity(first) != article_identity(edited)


def test_content_hash_tracks_text_and_stored_metadata() -> None:
    article = clean(raw("Body one.", title="T", source="S", url="https://x.example/1"))
    same = content_hash(article.body, article)
    assert same == content_hash(article.body, clean(article))
    assert content_hash("Body two.", article) != same
    assert content_hash(article.body, replace(article, title="T2")) != same
    assert content_hash(article.body, replace(article, category="sport")) != same
    assert re.fullmatch(r"[0-9a-f]{40}", same)
