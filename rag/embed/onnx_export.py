"""The one-time ONNX export of a sentence-transformers BERT model (fp32, or int8), cached."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.embed.base import model_short_name
from rag.errors import ModelError

log = logging.getLogger("dateline.embed")

# Bump when the export code changes what it writes, so stale cached files are not reused.
EXPORT_VERSION = 1
OPSET = 17  # LayerNormalization is a native op from 17 on; ORT 1.16+ runs it
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class Int8Recipe:
    """How the fp32 graph becomes int8.

    method "dynamic" (default): `quantize_dynamic` with per-channel int8 weights and one
    activation scale per tensor, run with VNNI int8 kernels: the fastest here, and hybrid
    retrieval scores the same as with fp32 (docs/benchmarks.md, "Embedding backends").
    method "nbits": MatMulNBits with 8-bit weights in blocks of `block_size`; accuracy_level 4
    quantizes activations per block too: closer to fp32, but slower (docs/experiments.md).
    """

    method: str = "dynamic"  # dynamic | nbits
    block_size: int = 32  # nbits only
    accuracy_level: int = 4  # nbits only
    per_channel: bool = True  # dynamic only
    reduce_range: bool = False  # dynamic only
    weight_type: str = "QInt8"  # dynamic only: QInt8 or QUInt8 (QuantType names)


@dataclass(frozen=True)
class ExportOptions:
    """What the export writes; part of the cached file names, so a change re-exports."""

    fuse: bool = True  # ORT transformer fusions (Attention, SkipLayerNorm) for BERT models
    int8: Int8Recipe = Int8Recipe()


DEFAULT_EXPORT = ExportOptions()

# Serialises exports inside one process; across processes the atomic rename keeps it safe.
_export_lock = threading.Lock()


@dataclass(frozen=True)
class OnnxFiles:
    """Where the exported graphs of one model live (and whether they exist yet)."""

    fp32: Path
    int8: Path

    def for_(self, quantize: bool) -> Path:
        return self.int8 if quantize else self.fp32


def default_onnx_dir(model_name: str, cache_dir: Path | None = None) -> Path:
    """`<cache>/<model-name>-onnx`, where cache is settings.model_cache_dir or ~/.cache/…/models."""
    from rag.config import default_cache_dir

    base = (cache_dir or default_cache_dir()).expanduser()
    return base / f"{model_short_name(model_name) or 'model'}-onnx"


def onnx_files(
    model_dir: Path, out_dir: Path, options: ExportOptions = DEFAULT_EXPORT
) -> OnnxFiles:
    """The file names for this model's export, keyed by the source weights and the options."""
    fp32 = _digest(_fingerprint(model_dir), f"fuse={options.fuse}")
    int8 = _digest(fp32, repr(options.int8))
    return OnnxFiles(
        fp32=out_dir / f"model-fp32-{fp32[:10]}.onnx",
        int8=out_dir / f"model-int8-{int8[:10]}.onnx",
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def _fingerprint(model_dir: Path) -> str:
    """Identifies the source model cheaply: its config plus each weight file's size and a hash
    of its first and last MiB (not its mtime: two installs of one model package, e.g. two
    virtualenvs sharing ~/.cache, must share one export instead of replacing each other's)."""
    h = hashlib.sha256(f"export-v{EXPORT_VERSION}:opset{OPSET}".encode())
    config = model_dir / "config.json"
    if not config.is_file():
        raise ModelError(
            f"{model_dir} has no config.json, so it is not a transformers model folder; "
            "point DATELINE_EMBED_MODEL at a sentence-transformers model folder"
        )
    h.update(config.read_bytes())
    for weights in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        size = weights.stat().st_size
        h.update(f"{weights.name}:{size}".encode())
        with weights.open("rb") as f:
            h.update(f.read(2**20))
            f.seek(max(0, size - 2**20))
            h.update(f.read(2**20))
    return h.hexdigest()


def export_onnx(
    model_dir: Path, out_dir: Path, *, quantize: bool, options: ExportOptions = DEFAULT_EXPORT
) -> Path:
    """Write the model's ONNX graph (fp32, or int8 from the fp32 one) into out_dir; its path.

    Always writes: use `ensure_onnx` to reuse an earlier export.
    """
    files = onnx_files(model_dir, out_dir, options)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create the ONNX cache folder {out_dir}: {exc}; set DATELINE_MODEL_CACHE_DIR "
            "to a writable folder"
        ) from exc
    with _export_lock:
        if not quantize:
            _export_fp32(model_dir, files.fp32, fuse=options.fuse)
            _remove_stale(files.fp32, "model-fp32-*.onnx")
            return files.fp32
        if not files.fp32.is_file():
            _export_fp32(model_dir, files.fp32, fuse=options.fuse)
        _quantize(files.fp32, files.int8, options.int8)
        _remove_stale(files.int8, "model-int8-*.onnx")
        return files.int8


def ensure_onnx(
    model_dir: Path, out_dir: Path, *, quantize: bool, options: ExportOptions = DEFAULT_EXPORT
) -> Path:
    """The cached ONNX file for this model, exporting it first (a one-time step) if missing."""
    path = onnx_files(model_dir, out_dir, options).for_(quantize)
    if path.is_file():
        return path
    kind = "int8" if quantize else "fp32"
    # Shown by default (a warning-level record): the first ingest pauses ~15 s here, once.
    log.warning(
        "first use of the embedding model %s: exporting it to ONNX %s in %s "
        "(a one-time step of about 15 s on 2 cores)",
        model_dir,
        kind,
        out_dir,
    )
    start = time.perf_counter()
    path = export_onnx(model_dir, out_dir, quantize=quantize, options=options)
    log.info("ONNX %s export done in %.1f s: %s", kind, time.perf_counter() - start, path)
    return path


def _remove_stale(keep: Path, pattern: str) -> None:
    # Exports for older weights or recipes are dead weight (90 MB each); a process still using
    # one keeps it alive until it closes it (POSIX unlink semantics, and ORT reads it at load).
    for old in keep.parent.glob(pattern):
        if old != keep:
            old.unlink(missing_ok=True)


@contextmanager
def _atomic_target(dest: Path) -> Iterator[Path]:
    """A temp path beside dest, renamed onto dest when the block succeeds, removed otherwise."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.chmod(0o644)  # mkstemp makes it private; the cache is an ordinary shared file
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _export_fp32(model_dir: Path, dest: Path, *, fuse: bool) -> None:
    """Trace the transformer to ONNX; for BERT models, fuse it into ORT's transformer ops."""
    try:
        import onnx  # noqa: F401  (the TorchScript exporter needs it; fail early with a hint)
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ModelError(
            f"exporting the embedding model to ONNX needs torch, transformers and onnx ({exc}); "
            "install them with `pip install -e .`, or use DATELINE_EMBED_BACKEND=torch"
        ) from exc

    try:
        # Eager attention traces to plain MatMul/Softmax, the pattern ORT's fusion recognises.
        with _no_progress_bar():
            model = AutoModel.from_pretrained(
                str(model_dir), attn_implementation="eager", local_files_only=True
            )
    except Exception as exc:  # a broken model folder must say which one
        raise ModelError(f"cannot load {model_dir} for ONNX export: {exc}") from exc
    model.eval()
    accepts = _forward_inputs(model)
    inputs = [name for name in MODEL_INPUTS if name in accepts]

    class LastHiddenState(torch.nn.Module):
        """Positional inputs in a fixed order, one tensor out (what torch.onnx traces)."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(inputs, args, strict=True))).last_hidden_state

    # Batch 2 x length 8 with one padded row, so the traced mask path is the general one.
    example = {
        "input_ids": torch.tensor([[101, 7592, 2088, 2003, 2307, 1012, 2009, 102]] * 2),
        "attention_mask": torch.tensor([[1] * 8, [1] * 5 + [0] * 3]),
        "token_type_ids": torch.zeros(2, 8, dtype=torch.long),
    }
    axes = {name: {0: "batch", 1: "sequence"} for name in [*inputs, "last_hidden_state"]}
    config = model.config
    with _atomic_target(dest) as traced:
        with torch.no_grad(), _quiet_export_warnings():
            torch.onnx.export(
                LastHiddenState(model),
                tuple(example[name] for name in inputs),
                str(traced),
                input_names=inputs,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        if fuse and config.model_type == "bert":
            _fuse_bert(traced, config.num_attention_heads, config.hidden_size)


def _fuse_bert(path: Path, num_heads: int, hidden_size: int) -> None:
    """Rewrite in place with fused Attention, SkipLayerNorm, BiasGelu (ORT's session-level
    optimizer does not recognise this attention pattern; the fused graph runs faster)."""
    from onnxruntime.transformers.optimizer import optimize_model

    with _quiet_onnxruntime_logging():
        fused = optimize_model(
            str(path), model_type="bert", num_heads=num_heads, hidden_size=hidden_size, opt_level=0
        )
        stats = fused.get_fused_operator_statistics()
    if stats.get("Attention", 0) == 0:
        # Unfused is still correct, only slower: keep it rather than fail the export.
        log.warning("ONNX export: attention fusion did not apply to %s; using it unfused", path)
        return
    with _quiet_onnxruntime_logging():
        fused.save_model_to_file(str(path))


@contextmanager
def _no_progress_bar() -> Iterator[None]:
    # transformers draws a weight-loading bar on stderr; a one-time export needs only its log line.
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _forward_inputs(model: Any) -> set[str]:
    import inspect

    return set(inspect.signature(model.forward).parameters)


@contextmanager
def _quiet_export_warnings() -> Iterator[None]:
    # The legacy exporter warns about itself and about traced Python ints that are constant
    # for this model (the mask's padding length is always 0); neither is actionable here.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
        try:
            from torch.jit import TracerWarning

            warnings.simplefilter("ignore", TracerWarning)
        except ImportError:
            pass
        yield


class _DropOnnxRuntimeChatter(logging.Filter):
    """Drops ORT's export-time INFO records (one per graph node) and its pre-processing hint."""

    def filter(self, record: logging.LogRecord) -> bool:
        if f"{os.sep}onnxruntime{os.sep}" not in record.pathname:
            return True
        if "pre-processing before quantization" in record.getMessage():
            return False  # shape pre-processing does not change weight-only quantization
        return record.levelno >= logging.WARNING


@contextmanager
def _quiet_onnxruntime_logging() -> Iterator[None]:
    """Keep ORT's optimizer and quantizers from flooding or reconfiguring the app's logging."""
    root = logging.getLogger()
    # matmul_nbits_quantizer calls logging.basicConfig(level=INFO) on import; that is a no-op
    # while the root logger has a handler, so give it one for the duration.
    guard = logging.NullHandler()
    chatter = _DropOnnxRuntimeChatter()
    root.addHandler(guard)
    root.addFilter(chatter)  # records logged on the root logger itself (logging.info(...))
    handlers = list(root.handlers)
    for handler in handlers:  # records propagating from ORT's own loggers
        handler.addFilter(chatter)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(chatter)
        root.removeFilter(chatter)
        root.removeHandler(guard)


def _quantize(src: Path, dest: Path, recipe: Int8Recipe) -> None:
    with _atomic_target(dest) as tmp:
        if recipe.method == "nbits":
            _quantize_nbits(src, tmp, recipe)
        elif recipe.method == "dynamic":
            _quantize_dynamic(src, tmp, recipe)
        else:
            raise ModelError(f"unknown int8 method {recipe.method!r}; choose nbits or dynamic")


def _quantize_nbits(src: Path, dest: Path, recipe: Int8Recipe) -> None:
    import onnx

    with _quiet_onnxruntime_logging():
        try:
            from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
        except ImportError as exc:  # it needs onnx-ir, which onnxruntime does not require
            raise ModelError(
                f"the int8 ONNX export needs onnx-ir ({exc}); install it with "
                "`pip install -e .`, or use DATELINE_EMBED_BACKEND=onnx"
            ) from exc
        quantizer = MatMulNBitsQuantizer(
            onnx.load(str(src)),
            bits=8,
            block_size=recipe.block_size,
            is_symmetric=True,
            accuracy_level=recipe.accuracy_level,
        )
        quantizer.process()
        quantizer.model.save_model_to_file(str(dest))


def _quantize_dynamic(src: Path, dest: Path, recipe: Int8Recipe) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_onnxruntime_logging():
        quantize_dynamic(
            src,
            dest,
            op_types_to_quantize=["MatMul", "Attention"],
            per_channel=recipe.per_channel,
            reduce_range=recipe.reduce_range,
            weight_type=QuantType[recipe.weight_type],
            # Fused ops (com.microsoft) defeat ONNX shape inference; their outputs are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
