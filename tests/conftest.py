"""Shared fixtures: settings on a temp store, the real MiniLM embedder, sample paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.config import Settings, apply_offline_env

apply_offline_env()

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = ROOT / "samples"
SEED = DATA / "load_seed_menafn.txt"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the session: the ONNX export of the embedder is made once."""
    return tmp_path_factory.mktemp("models")


def ingested(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path, paths: list[Path], articles: int
) -> Settings:
    """Settings on a new store (extractive answerer) holding `paths`, which must add exactly
    `articles` articles without an error."""
    from rag.pipeline import Pipeline

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("store"), llm="extractive", model_cache_dir=model_cache
    )
    report = Pipeline(settings).ingest(paths)
    assert report.ok and len(report.added) == articles
    return settings


@pytest.fixture
def settings(tmp_path: Path, model_cache: Path) -> Settings:
    """A fresh embedded Chroma store in a temp dir; the extractive answerer."""
    return Settings(data_dir=tmp_path / "data", llm="extractive", model_cache_dir=model_cache)


@pytest.fixture(autouse=True)
def _no_network_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A user's DATELINE_* variables must not leak into tests.
    for key in list(os.environ):
        if key.startswith("DATELINE_"):
            monkeypatch.delenv(key)
