"""Locust users for evals/bench_load.py: newsroom users asking questions and, now and then,
uploading an article (new ones, and the same one again), listing the library and checking
health. Run through bench_load.py, which starts the server and reads the figures back."""

from __future__ import annotations

import json
import os
import random
import uuid

from locust import HttpUser, between, task

QUESTIONS = [
    "How many people died in the January 2022 unrest in Kazakhstan?",
    "Who did Kazakhstan ask for help during the unrest?",
    "What did the Kelmar ferry operator order?",
    "Did the Harbor Times report a strike in Kelmar?",
    "What happened last week in Kazakhstan?",
    "Which outlet reported on coastal business news?",
    "Was the strike at Kelmar port settled before February 2024?",
    "What did the newsdesk export say about energy prices?",
]
_USER, _SEP, _PASSWORD = os.environ.get("BENCH_AUTH", "").partition(":")
AUTH = (_USER, _PASSWORD) if _SEP else None
# Each ask waits for the whole answer; a user who waited longer than this gave up (a failure).
ASK_TIMEOUT_S = float(os.environ.get("BENCH_ASK_TIMEOUT", "120"))
# Share of uploads that add a new article (the library grows) rather than resend one.
NEW_SHARE = float(os.environ.get("BENCH_NEW_SHARE", "0.5"))


def _article(marker: str) -> bytes:
    record = {
        "title": f"Council briefing {marker}",
        "source": "Load Test Gazette",
        "published_at": "2024-03-04T09:00:00+00:00",
        "body": (
            f"The Kelmar council met on Monday to discuss item {marker}. "
            "Members voted to fund repairs to the harbour wall at a cost of 2 million euros. "
            "Work is due to start in May and last six months, the council said."
        ),
    }
    return json.dumps(record).encode()


class NewsroomUser(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        if AUTH:
            self.client.auth = AUTH

    @task(10)
    def ask(self) -> None:
        question = random.choice(QUESTIONS)
        with self.client.post(
            "/api/ask",
            json={"question": question},
            name="/api/ask",
            timeout=ASK_TIMEOUT_S,
            catch_response=True,
        ) as r:
            if r.status_code == 503 and r.headers.get("Retry-After"):
                r.failure("busy: 503 with Retry-After (said at once, not a silent timeout)")
            elif r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")
            elif "answer" not in r.json():
                r.failure("no answer in the reply")

    @task(1)
    def upload(self) -> None:
        # New articles (NEW_SHARE of uploads), else one article sent again ("unchanged").
        marker = uuid.uuid4().hex[:8] if random.random() < NEW_SHARE else "repeat"
        files = {"files": (f"briefing-{marker}.json", _article(marker), "application/json")}
        with self.client.post(
            "/api/ingest", files=files, name="/api/ingest", catch_response=True
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")
            elif r.json().get("failed"):
                r.failure(f"ingest failed: {r.json().get('errors')}")

    @task(2)
    def library(self) -> None:
        self.client.get("/api/articles", name="/api/articles")

    @task(1)
    def health(self) -> None:
        self.client.get("/api/health", name="/api/health")
