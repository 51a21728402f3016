"""Tiny random checkpoints, in the standard Hugging Face layout, standing in for every catalog model in tests.

`build_all(folder)` writes `<folder>/<org>/<name>/` for each catalog id. Set `TINY_MODELS_CACHE` to a folder to
keep the built models between test runs (rebuilt whenever the builders' source or transformers change).
"""

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import transformers

from backend.catalog import CATALOG
from tests.tiny_models import audio_text, captioning, documents, multilingual_speech, segmentation, text, video, vision

BUILDERS: dict[str, Callable[[Path], None]] = {**vision.BUILDERS, **segmentation.BUILDERS, **captioning.BUILDERS,
                                               **video.BUILDERS, **audio_text.BUILDERS, **multilingual_speech.BUILDERS,
                                               **text.BUILDERS, **documents.BUILDERS}
# Written at the top of every folder of tiny models: the app shows a notice that outputs are random when its
# MODELS_DIR holds this file (backend/models.py, RANDOM_WEIGHTS_MARKER).
MARKER = "RANDOM_WEIGHTS"


def build_all(folder: Path) -> Path:
    """Write every catalog model into `folder` (or reuse the TINY_MODELS_CACHE copy) and return the folder to use."""
    missing = [spec.id for spec in CATALOG if spec.id not in BUILDERS]
    if missing:
        raise RuntimeError(f"No tiny-model builder for {', '.join(missing)}")
    cache = os.environ.get("TINY_MODELS_CACHE")
    if not cache:
        _build_into(folder)
        return folder
    cached = Path(cache) / _builders_fingerprint()
    if not (cached / "complete").is_file():
        shutil.rmtree(cached, ignore_errors=True)
        _build_into(cached)
        (cached / "complete").write_text("built\n")
    return cached


def _build_into(folder: Path) -> None:
    """Run every builder into its <org>/<name> sub-folder, then mark the folder as random weights."""
    for spec in CATALOG:
        BUILDERS[spec.id](folder / spec.id)
    (folder / MARKER).write_text("Tiny models with random weights, built by tests/tiny_models: outputs are random.\n")


def _builders_fingerprint() -> str:
    """A short hash of the builders' source and the transformers version."""
    digest = hashlib.sha256(transformers.__version__.encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]
