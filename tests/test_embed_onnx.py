"""ONNX embedder: export once, then match sentence-transformers' vectors (fp32 and int8)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.embed import get_embedder, resolve_model_path
from rag.embed.onnx_embedder import OnnxEmbedder, onnx_embedder_for
from rag.embed.onnx_export import default_onnx_dir, onnx_files
from rag.embed.torch_embedder import SentenceTransformerEmbedder
from rag.errors import ModelError

MODEL = "all-MiniLM-L6-v2"
ROOT = Path(__file__).resolve().parent.parent

# News-like inputs of very different lengths: a headline, a query, a paragraph, and one far
# past the model's 256-wordpiece window (the model truncates it; so must we, identically).
TEXTS = [
    "Fed holds rates steady.",
    "Which company did TechCrunch report was fined by the FTC in November 2023?",
    (
        "WASHINGTON (Reuters) - The Federal Reserve left its benchmark overnight interest rate "
        "unchanged on Wednesday but signalled it could still raise borrowing costs again this "
        "year, as policymakers weighed a resilient labour market against cooling inflation. "
        "Chair Jerome Powell told reporters the committee would proceed carefully."
    ),
    " ".join(
        f"Paragraph {i}: Sam Bankman-Fried's lawyers argued that FTX's collapse followed a run "
        "on deposits rather than fraud, while prosecutors pointed to billions of customer funds "
        "moved to Alameda Research."
        for i in range(12)
    ),
    "",
]

# The default int8 is quantize_dynamic (per-channel weights): on 600 MultiHop-RAG chunks its
# cosine to fp32 was 0.995 mean, 0.987 min (an earlier run on more chunks saw 0.977), and the
# hybrid retrieval scores did not move (rag/embed/onnx_export.Int8Recipe). Per-tensor weights fall
# to ~0.89, well below this floor; the 8-bit MatMulNBits recipe stays above 0.999.
INT8_MIN_COSINE = 0.97


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A per-session home whose ~/.cache holds the exports (rag.embed's default location)."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def onnx_dir(home: Path) -> Path:
    return default_onnx_dir(MODEL, home / ".cache" / "dateline" / "models")


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return resolve_model_path(MODEL)


@pytest.fixture(scope="module")
def fp32(model_dir: Path, onnx_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(model_dir, name=MODEL, onnx_dir=onnx_dir)


@pytest.fixture(scope="module")
def int8(model_dir: Path, onnx_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(model_dir, name=MODEL, quantize=True, onnx_dir=onnx_dir)


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> np.ndarray:
    """torch fp32 vectors from sentence-transformers itself."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    return np.asarray(model.encode(TEXTS, normalize_embeddings=True), dtype=np.float32)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1))


def test_fp32_matches_sentence_transformers(fp32: OnnxEmbedder, reference: np.ndarray) -> None:
    vectors = fp32.embed_documents(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    assert _cosines(vectors, reference).min() > 0.9999


def test_int8_stays_close_to_fp32(int8: OnnxEmbedder, reference: np.ndarray) -> None:
    vectors = int8.embed_documents(TEXTS)
    cosines = _cosines(vectors, reference)
    assert cosines.min() > INT8_MIN_COSINE, cosines
    # It really is the quantized graph, not the fp32 one under another name.
    assert cosines.min() < 0.99999
    assert int8.backend == "onnx-int8"


def test_unit_vectors_in_input_order_across_batches(fp32: OnnxEmbedder) -> None:
    # Batches of 2 over length-sorted inputs: every row must come back to its own position.
    texts = [TEXTS[3], TEXTS[0], TEXTS[2], TEXTS[1], TEXTS[3][:300], "Nvidia earnings beat."]
    batched = fp32.encode(texts, batch_size=2)
    alone = np.stack([fp32.embed_query(t) for t in texts])
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert _cosines(batched, alone).min() > 0.99999
    # Different texts stay different (a shuffled order would pair them wrongly above).
    assert float(batched[0] @ batched[1]) < 0.9


def test_empty_input_gives_an_empty_matrix(fp32: OnnxEmbedder) -> None:
    assert fp32.embed_documents([]).shape == (0, 384)


def test_counts_tokens_like_the_torch_embedder(fp32: OnnxEmbedder) -> None:
    torch_side = SentenceTransformerEmbedder(MODEL)
    counts = fp32.count_tokens(TEXTS)
    assert counts == torch_side.count_tokens(TEXTS)
    assert counts[4] == 2  # [CLS] [SEP]
    assert counts[3] > fp32.max_tokens == 256  # counted in full, though embedding truncates


def test_export_is_cached(
    fp32: OnnxEmbedder,
    int8: OnnxEmbedder,
    model_dir: Path,
    onnx_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fp32.embed_query("warm")  # make sure both exports exist
    int8.embed_query("warm")
    files = onnx_files(model_dir, onnx_dir)
    stamps = {p: p.stat().st_mtime_ns for p in (files.fp32, files.int8)}
    with caplog.at_level(logging.INFO, logger="dateline.embed"):
        again = OnnxEmbedder(model_dir, name=MODEL, quantize=True, onnx_dir=onnx_dir)
        again.embed_query("a second process would load the cached file")
    assert not [r for r in caplog.records if "exporting" in r.getMessage()]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    # Only the two graphs remain: no temp files left behind by the atomic writes.
    assert sorted(p.name for p in onnx_dir.iterdir()) == sorted([files.fp32.name, files.int8.name])


def test_first_use_exports_and_logs_the_one_time_step(
    fp32: OnnxEmbedder,
    model_dir: Path,
    onnx_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fp32.embed_query("warm")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    # Seed the fp32 graph so only the (quicker) int8 step runs here.
    fp32_file = onnx_files(model_dir, onnx_dir).fp32
    shutil.copy(fp32_file, fresh / fp32_file.name)
    embedder = OnnxEmbedder(model_dir, name=MODEL, quantize=True, onnx_dir=fresh)
    with caplog.at_level(logging.INFO, logger="dateline.embed"):
        vector = embedder.embed_query("Fed holds rates steady.")
    assert onnx_files(model_dir, fresh).int8.is_file()
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    messages = [r.getMessage() for r in caplog.records if r.name == "dateline.embed"]
    assert any("one-time step" in m for m in messages), messages
    assert any("export done in" in m for m in messages), messages


def test_rag_embed_onnx_backends_use_this_embedder(home: Path, fp32: OnnxEmbedder) -> None:
    # The settings' model cache is where the fixtures already exported: nothing is re-exported.
    cache = home / ".cache" / "dateline" / "models"
    for backend in ("onnx", "onnx-int8"):
        embedder = get_embedder(
            Settings(embed_backend=backend, embed_batch_size=4, model_cache_dir=cache)
        )
        assert isinstance(embedder, OnnxEmbedder)
        assert embedder.quantize == (backend == "onnx-int8")
        assert embedder.onnx_dir == default_onnx_dir(MODEL, cache)
        vectors = embedder.embed_documents(TEXTS[:3])
        assert _cosines(vectors, fp32.embed_documents(TEXTS[:3])).min() > INT8_MIN_COSINE


def test_the_default_backend_is_int8_onnx_without_torch(tmp_path: Path) -> None:
    # A fresh process: building the default embedder and counting tokens must not import torch.
    code = (
        "import sys; from pathlib import Path; from rag.config import Settings; "
        "from rag.embed import get_embedder; "
        f"e = get_embedder(Settings(model_cache_dir=Path({str(tmp_path)!r}))); "
        "print(type(e).__name__, e.backend, e.count_tokens(['Fed holds rates.'])[0], "
        "'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert out.stdout.split() == ["OnnxEmbedder", "onnx-int8", "6", "False"], out.stderr


def test_settings_choose_backend_batch_and_cache_folder(model_dir: Path, tmp_path: Path) -> None:
    settings = Settings(
        embed_model=f"sentence-transformers/{MODEL}",
        embed_backend="onnx-int8",
        embed_batch_size=16,
        model_cache_dir=tmp_path,
    )
    embedder = onnx_embedder_for(settings, model_dir)
    assert embedder.quantize and embedder.backend == "onnx-int8"
    assert embedder.batch_size == 16
    assert embedder.onnx_dir == tmp_path / f"{MODEL}-onnx"
    assert (embedder.dim, embedder.max_tokens) == (384, 256)


def test_unsupported_pooling_is_refused(model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cls-model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "config.json").write_text((model_dir / "config.json").read_text())
    (folder / "1_Pooling" / "config.json").write_text(
        '{"word_embedding_dimension": 384, "pooling_mode_cls_token": true, '
        '"pooling_mode_mean_tokens": false}'
    )
    with pytest.raises(ModelError, match="mean pooling only"):
        OnnxEmbedder(folder, onnx_dir=tmp_path / "out")


def test_missing_tokenizer_names_the_file(model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "no-tokenizer"
    folder.mkdir()
    (folder / "config.json").write_text((model_dir / "config.json").read_text())
    embedder = OnnxEmbedder(folder, onnx_dir=tmp_path / "out")
    with pytest.raises(ModelError, match=r"tokenizer\.json"):
        embedder.count_tokens(["x"])


def test_two_installs_of_one_model_share_an_export_and_changed_weights_do_not(
    model_dir: Path, tmp_path: Path
) -> None:
    # Two virtualenvs install the same package at different times: same export file names.
    weights = next(model_dir.glob("*.safetensors"))
    copies = []
    for n in (1, 2):
        folder = tmp_path / f"install{n}"
        folder.mkdir()
        shutil.copy(model_dir / "config.json", folder / "config.json")
        shutil.copyfile(weights, folder / weights.name)  # a fresh mtime
        copies.append(folder)
    out = tmp_path / "onnx"
    assert onnx_files(copies[0], out) == onnx_files(copies[1], out)
    # Different weights (one byte at the end) are another model: another export.
    with (copies[1] / weights.name).open("r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 1]))
    assert onnx_files(copies[0], out).fp32 != onnx_files(copies[1], out).fp32


def test_spans_are_pooled_from_the_same_pass_as_their_text(int8: OnnxEmbedder) -> None:
    text = TEXTS[2]
    first = text.index("Chair")
    spans = [(text.index("WASHINGTON"), first - 1), (first, len(text))]
    vectors, per_text = int8.embed_spans([text, TEXTS[1]], [spans, [(0, len(TEXTS[1]))]])
    # The texts' own vectors are what embed_documents gives.
    assert np.allclose(vectors, int8.embed_documents([text, TEXTS[1]]), atol=1e-5)
    # One unit vector per span, each nearest its own sentence embedded alone.
    got = per_text[0]
    alone = int8.embed_documents([text[a:b] for a, b in spans])
    assert got.shape == (2, alone.shape[1])
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    sims = got @ alone.T
    assert sims[0, 0] > 0.95 > sims[0, 1]
    # A short sentence in context leans towards its neighbours (what it is about) but keeps
    # its own part: it is not the text's vector.
    assert sims[1, 1] > 0.5 and float(got[0] @ got[1]) < 0.95
    # A span covering the whole text, without [CLS]/[SEP], stays close to the text's vector.
    assert float(per_text[1][0] @ vectors[1]) > 0.95
