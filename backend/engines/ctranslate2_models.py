"""CTranslate2 models: converted once from the transformers checkpoint folder, cached on disk, loaded for inference.

A conversion reads the same folder `from_pretrained` uses (MODELS_DIR or the Hub cache) and writes the CTranslate2
model into `APP_CTRANSLATE2_CACHE` (default ~/.cache/multitask-demo/ctranslate2), in a folder named by the model id,
a hash of its weights, the CTranslate2 version and the quantization: new weights or a new CTranslate2 convert again,
and nothing stale is reused. It converts into a temporary folder and renames it into place, so a crash mid-way
leaves no half-made model. It loads the fp32 weights once: the model cache makes room for them before loading.
"""

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# Weight files hashed into the cache key: the transformers checkpoint's safetensors files.
WEIGHT_GLOB = "*.safetensors"
HASH_CHUNK_BYTES = 16 * 1024 * 1024


@dataclass
class CTranslate2Model:
    """A loaded CTranslate2 model with what the task code needs besides it."""

    runner: Any  # ctranslate2.Translator (M2M100) or faster_whisper.WhisperModel (Whisper)
    folder: Path  # the converted model
    compute_type: str  # e.g. "int8", "int8_float16", "float32"
    bytes: int  # size of the converted weights (what it holds in memory, about)
    convert_seconds: float  # 0.0 when the conversion was already cached
    generation: dict[str, Any] = field(default_factory=dict)  # the checkpoint's generation_config.json


class LastEncoding:
    """A Whisper runner's `encode` that remembers the last window it encoded: when the same window (the same
    features, element for element) is encoded again, the output is reused. The app detects the language on the
    first window and then decodes from it (backend/speech/whisper.py): one encoder pass serves both, as on torch.

    Calls come one at a time (the device lock, backend/compute.py). Holds one window's encoder output: 1,500 x the
    model width floats (4.6 MB for Whisper small).
    """

    def __init__(self, encode: Callable[[Any], Any]) -> None:
        self.encode = encode
        self.features: Any = None  # the last window's features, (n_mels, 3000) float32, or (1, n_mels, 3000)
        self.output: Any = None  # its ctranslate2.StorageView

    def __call__(self, features: Any) -> Any:
        """The encoder output of one window of features (faster-whisper's `WhisperModel.encode`)."""
        import numpy as np

        if self.features is not None and self.features.shape == features.shape and np.array_equal(
                self.features, features):
            return self.output
        self.output = self.encode(features)
        self.features = np.array(features, copy=True)  # a copy: the caller's array may be reused for the next window
        return self.output


def cache_root() -> Path:
    """Where converted models are kept."""
    configured = os.environ.get("APP_CTRANSLATE2_CACHE", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "multitask-demo" / "ctranslate2"


def compute_type(device_type: str) -> str:
    """The precision CTranslate2 runs in: APP_CTRANSLATE2_COMPUTE_TYPE, else int8 on CPU, int8_float16 on CUDA."""
    configured = os.environ.get("APP_CTRANSLATE2_COMPUTE_TYPE", "").strip()
    if configured:
        return configured
    return "int8_float16" if device_type == "cuda" else "int8"


def weights_digest(folder: Path) -> str:
    """A short sha256 of the checkpoint's weight files (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob(WEIGHT_GLOB)):
        digest.update(path.name.encode())
        with path.open("rb") as file:
            while chunk := file.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def converted_folder(model_id: str, source: Path, quantization: str) -> Path:
    """The cache folder for this model, weights, CTranslate2 version and quantization."""
    import ctranslate2

    name = f"{weights_digest(source)}-ct2-{ctranslate2.__version__}-{quantization}"
    return cache_root() / model_id.replace("/", "--") / name


def convert(model_id: str, source: Path, quantization: str,
            add_files: Callable[[Path], None] | None = None) -> tuple[Path, float]:
    """The converted model's folder, converting first if it is not cached; and the seconds conversion took.

    `add_files(folder)` writes extra files into the converted folder before it is moved into place.
    """
    target = converted_folder(model_id, source, quantization)
    if (target / "model.bin").is_file():
        return target, 0.0
    from ctranslate2.converters import TransformersConverter

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    started = time.perf_counter()
    try:
        with _vocabulary_with_language_tokens():
            TransformersConverter(str(source), copy_files=_files_to_copy(source)).convert(
                str(staging), quantization=quantization, force=True)
            if add_files is not None:
                add_files(staging)
        os.replace(staging, target)  # atomic on one file system: the folder appears whole or not at all
    except OSError:
        if not (target / "model.bin").is_file():  # another process may have renamed its copy first
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - started
    logger.info("Converted %s to CTranslate2 %s in %.1f s", model_id, quantization, seconds)
    return target, seconds


def _files_to_copy(source: Path) -> list[str]:
    """Tokenizer and generation files to keep beside the converted model (so nothing asks the Hub for them)."""
    wanted = ("tokenizer.json", "tokenizer_config.json", "sentencepiece.bpe.model", "vocab.json",
              "generation_config.json", "preprocessor_config.json", "special_tokens_map.json")
    return [name for name in wanted if (source / name).is_file()]


class _vocabulary_with_language_tokens:
    """While converting, give M2M100 its full vocabulary, language tokens included.

    transformers 5's M2M100Tokenizer keeps its 100 `__xx__` language tokens outside `get_vocab()` and no longer lists
    them as special tokens, so CTranslate2 4.8's converter builds a vocabulary 100 tokens short and refuses the model.
    This rebuilds it in id order from the tokenizer's own maps.
    """

    def __enter__(self) -> None:
        from ctranslate2.converters import transformers as converters

        self.loaders = converters._MODEL_LOADERS
        self.original = self.loaders["M2M100Config"]
        self.loaders["M2M100Config"] = _M2M100LoaderWithLanguages()

    def __exit__(self, *exc: object) -> None:
        self.loaders["M2M100Config"] = self.original


def _M2M100LoaderWithLanguages() -> Any:
    """An instance of CTranslate2's M2M100 loader whose vocabulary has the language tokens at their ids."""
    from ctranslate2.converters import transformers as converters

    class Loader(converters.M2M100Loader):
        def get_vocabulary(self, model: Any, tokenizer: Any) -> list[str]:
            by_id = {index: token for token, index in tokenizer.get_vocab().items()}
            by_id.update({index: f"__{code}__" for code, index in tokenizer.lang_code_to_id.items()})
            # Rows past the tokens are fairseq's "madeupword" fillers, as CTranslate2 names them.
            return [by_id.get(index, f"madeupword{index}") for index in range(model.config.vocab_size)]

    return Loader()


def load_translator(model_id: str, source: Path, device_type: str, threads: int) -> CTranslate2Model:
    """A ctranslate2.Translator for a seq2seq checkpoint folder, converted on first use."""
    import ctranslate2

    precision = compute_type(device_type)
    folder, seconds = convert(model_id, source, quantization=precision)
    runner = ctranslate2.Translator(str(folder), device=device_type, compute_type=precision,
                                    intra_threads=threads, inter_threads=1)
    generation_file = folder / "generation_config.json"
    generation = json.loads(generation_file.read_text()) if generation_file.is_file() else {}
    size = sum(path.stat().st_size for path in folder.glob("*.bin"))
    return CTranslate2Model(runner=runner, folder=folder, compute_type=precision, bytes=size,
                            convert_seconds=seconds, generation=generation)


def load_whisper(model_id: str, source: Path, device_type: str, threads: int,
                 feature_extractor: dict[str, Any]) -> CTranslate2Model:
    """A faster_whisper.WhisperModel on a Whisper checkpoint folder, converted on first use.

    `feature_extractor` is the checkpoint's feature extractor settings: transformers 5 saves them inside
    processor_config.json, while faster-whisper reads its mel bins, hop and window from preprocessor_config.json
    beside the converted model (and asks the Hub for a tokenizer unless tokenizer.json is there too).
    """
    from faster_whisper import WhisperModel

    def add_preprocessor_config(folder: Path) -> None:
        (folder / "preprocessor_config.json").write_text(json.dumps(feature_extractor, indent=2))

    precision = compute_type(device_type)
    # int8 is applied when the model loads, to float16 weights: converting straight to int8 lost 4 more words in
    # 289 on real Whisper base (WER 0.048 against 0.035 for faster-whisper on the published float16 weights, issue
    # 21; tests/speech/test_whisper_real.py), while float16 on disk quantized at load gave the published model's words.
    storage = "float16" if precision.startswith("int8") else precision
    folder, seconds = convert(model_id, source, quantization=storage, add_files=add_preprocessor_config)
    runner = WhisperModel(str(folder), device=device_type, compute_type=precision, cpu_threads=threads,
                          num_workers=1, local_files_only=True)
    runner.encode = LastEncoding(runner.encode)  # faster-whisper calls self.encode: the instance's is used
    size = sum(path.stat().st_size for path in folder.glob("*.bin"))
    if storage != precision:
        size //= 2  # float16 on disk, int8 (one byte a weight) once loaded
    return CTranslate2Model(runner=runner, folder=folder, compute_type=precision, bytes=size,
                            convert_seconds=seconds)
