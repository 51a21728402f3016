"""Loading one catalog model from its folder or the Hub: the transformers class per family, its processor, the
checkpoint's size before loading, CTranslate2 or int8 weights where the engine switch asks for them, and a message
that names the model and the fix when it cannot be had. The cache (backend/models.py) decides when to load.

- Source: `$MODELS_DIR/<org>/<name>/` when that folder exists (never the network), else the Hugging Face Hub
  with its usual cache, which honours `HF_HUB_OFFLINE=1`.
- Safety: `trust_remote_code=False` and safetensors weights only, for every model.
"""

import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from backend import allocator, compute, engines, hub
from backend.catalog import ModelSpec
from backend.errors import MissingPackageError, ModelUnavailableError, missing_package_message

logger = logging.getLogger(__name__)


# The transformers class that loads each family's model; the processor comes from AutoProcessor unless
# PROCESSOR_PARTS_BY_FAMILY says otherwise.
MODEL_CLASS_BY_FAMILY: dict[str, str] = {
    "clip": "AutoModelForZeroShotImageClassification",
    "align": "AutoModelForZeroShotImageClassification",
    "altclip": "AutoModelForZeroShotImageClassification",
    "vit": "AutoModelForImageClassification",
    "detr": "AutoModelForObjectDetection",
    "owlvit": "AutoModelForZeroShotObjectDetection",
    "owlv2": "AutoModelForZeroShotObjectDetection",
    "segformer": "AutoModelForSemanticSegmentation",
    "glpn": "AutoModelForDepthEstimation",
    "dpt": "AutoModelForDepthEstimation",
    "depth_anything": "AutoModelForDepthEstimation",
    "git": "AutoModelForCausalLM",
    "videomae": "AutoModelForVideoClassification",
    "m2m100": "AutoModelForSeq2SeqLM",
    "xlm_roberta": "AutoModelForMaskedLM",
    "xlm": "AutoModelForMaskedLM",
    "layoutlm": "AutoModelForDocumentQuestionAnswering",
    "donut": "VisionEncoderDecoderModel",
    "whisper": "AutoModelForSpeechSeq2Seq",
    "wav2vec2": "AutoModelForCTC",
    "mms": "AutoModelForCTC",  # wav2vec2 CTC with per-language adapters
    "mms_lid": "AutoModelForAudioClassification",
    "xls_r_translation": "AutoModelForSpeechSeq2Seq",  # SpeechEncoderDecoderModel: XLS-R encoder, MBart decoder
    "bark": "AutoModelForTextToWaveform",
    "vits": "AutoModelForTextToWaveform",
}


# Checkpoints without a combined processor that AutoProcessor can load: the parts to load instead. MMS-LID has a
# feature extractor only (AutoProcessor would look for a tokenizer); in transformers 5 the XLS-R speech translation
# checkpoint's Speech2Text2Processor is gone and AutoProcessor gives only its MBart-50 tokenizer.
PROCESSOR_PARTS_BY_FAMILY: dict[str, tuple[str, ...]] = {
    "mms_lid": ("feature_extractor",),
    "xls_r_translation": ("feature_extractor", "tokenizer"),
}


@dataclass
class SpeechProcessor:
    """A feature extractor and a tokenizer loaded side by side, for checkpoints without a combined processor."""

    feature_extractor: Any
    tokenizer: Any


def local_model_folder(model_id: str) -> Path | None:
    """`$MODELS_DIR/<org>/<name>` when MODELS_DIR is set and that folder exists, else None."""
    models_dir = os.environ.get("MODELS_DIR", "").strip()
    if not models_dir:
        return None
    folder = Path(models_dir).expanduser() / model_id
    return folder if folder.is_dir() else None


# A file of this name at the top of MODELS_DIR says its models have random weights (tests/tiny_models writes it).
RANDOM_WEIGHTS_MARKER = "RANDOM_WEIGHTS"


def random_weights() -> bool:
    """Whether MODELS_DIR holds tiny random-weight models (so outputs mean nothing)."""
    models_dir = os.environ.get("MODELS_DIR", "").strip()
    return bool(models_dir) and (Path(models_dir).expanduser() / RANDOM_WEIGHTS_MARKER).is_file()


def hub_offline() -> bool:
    """Whether the Hub may not be contacted (`HF_HUB_OFFLINE`, read now rather than at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def checkpoint_bytes(model_id: str, dtype: torch.dtype) -> int | None:
    """An estimate of a model's size once loaded in `dtype`, from its local safetensors files; None if not local."""
    folder = local_model_folder(model_id) or _cached_snapshot(model_id)
    if folder is None:
        return None
    weights = list(Path(folder).glob("*.safetensors"))
    if not weights:
        return None
    on_disk = sum(path.stat().st_size for path in weights)
    # Checkpoints are stored in float32 or in 16 bits; assume the worse case for the estimate.
    scale = 2 if dtype == torch.float32 else 1
    stored_half = _config_declares_half(Path(folder))
    return on_disk * scale if stored_half else on_disk


def _cached_snapshot(model_id: str) -> Path | None:
    """The folder of a model already in the Hugging Face cache, without any network call."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model_id, local_files_only=True))
    except Exception:
        return None


def _config_declares_half(folder: Path) -> bool:
    """Whether config.json says the weights are stored in float16 or bfloat16."""
    config = folder / "config.json"
    text = config.read_text(errors="replace") if config.is_file() else ""
    return bool(re.search(r'"(torch_)?dtype"\s*:\s*"(float16|bfloat16)"', text))


# transformers 5.23's from_pretrained changes process-wide state while it builds a model (torch's default dtype,
# patched init and tensor-creation functions). Two loads at once in two threads left parameters on the "meta"
# device here ("Cannot copy out of meta tensor"), so real loads run one at a time; the cache's per-model locks
# still let a request for a loaded model proceed while another model loads.
_FROM_PRETRAINED_LOCK = threading.Lock()


def load_from_pretrained(spec: ModelSpec, device: torch.device, dtype: torch.dtype) -> tuple[Any, Any]:
    """Load a catalog model and its processor with transformers; errors become ModelUnavailableError."""
    import transformers

    folder = local_model_folder(spec.id)
    source = str(folder) if folder else spec.id
    local_only = folder is not None or hub_offline() or not _hub_needed_and_reachable(spec.id)
    options = {"trust_remote_code": False, "local_files_only": local_only}
    if engines.wants_ctranslate2(spec):
        try:
            return load_with_ctranslate2(spec, device, source, options)
        except Exception as error:
            if is_out_of_memory(error):
                raise  # the cache's own handling: unload everything, tell the user
            if engines.engine_setting() == "ctranslate2":
                raise ModelUnavailableError(f"The model {spec.id} could not be prepared for CTranslate2 "
                                            f"({type(error).__name__}); set APP_ENGINE=auto or torch.") from error
            logger.warning("CTranslate2 cannot run %s (%s: %s); it runs on torch instead", spec.id,
                           type(error).__name__, error)
    model_class = getattr(transformers, MODEL_CLASS_BY_FAMILY[spec.family])
    try:
        with _FROM_PRETRAINED_LOCK:
            processor = load_processor(spec.family, source, options)
            model = model_class.from_pretrained(source, dtype=dtype, use_safetensors=True, **options)
    except ImportError as error:  # the model's code needs a package this server lacks (OWLv2 and scipy, say)
        logger.exception("Loading %s needs a missing package", spec.id)
        raise MissingPackageError(missing_package_message(error, what=f"The model {spec.id}")) from error
    except Exception as error:
        if is_out_of_memory(error):
            raise
        raise ModelUnavailableError(_unavailable_message(spec.id, error, from_folder=folder is not None)) from error
    model.to(device)
    model.eval()
    if engines.wants_int8(spec, device.type):
        int8_weights(spec, model)
    return model, processor


def int8_weights(spec: ModelSpec, model: Any) -> None:
    """Quantise a CPU model's Linear layers to int8 in place (backend/engines/int8.py); on failure it stays float32
    in the layers not yet replaced, with one log line saying why."""
    from backend.engines import int8

    try:
        int8.quantize(model, spec.family)
    except Exception as error:
        if is_out_of_memory(error):
            raise
        logger.warning("int8 weights failed for %s (%s: %s); it runs in float32", spec.id, type(error).__name__, error)
    allocator.release_free_memory()  # the float32 weights just dropped go back to the system


def load_with_ctranslate2(spec: ModelSpec, device: torch.device, source: str,
                          options: dict[str, Any]) -> tuple[Any, Any]:
    """The CTranslate2 model (converted from the checkpoint folder on first use) and the checkpoint's processor."""
    from huggingface_hub import snapshot_download

    from backend.engines import ctranslate2_models

    folder = Path(source) if Path(source).is_dir() else Path(
        snapshot_download(spec.id, local_files_only=options["local_files_only"]))
    with _FROM_PRETRAINED_LOCK:  # the conversion runs from_pretrained too
        processor = load_processor(spec.family, str(folder), options)
        if spec.family == "whisper":
            settings = json.loads(processor.feature_extractor.to_json_string())
            model = ctranslate2_models.load_whisper(spec.id, folder, device.type, compute.torch_threads(), settings)
        else:
            model = ctranslate2_models.load_translator(spec.id, folder, device.type, compute.torch_threads())
    return model, processor


def _hub_needed_and_reachable(model_id: str) -> bool:
    """True when the Hub can be asked for the model; False when it is cached and the Hub cannot be reached.

    Raises ModelUnavailableError at once when the model is on no disk and the Hub cannot be reached, instead of
    letting huggingface_hub retry for minutes.
    """
    if hub.reachable():
        return True
    if _cached_snapshot(model_id) is not None:
        return False  # in the Hub cache: load it from there without asking the Hub
    raise ModelUnavailableError(
        f"The Hugging Face Hub ({hub.endpoint()}) cannot be reached from this server, and the model {model_id} is "
        f"not in its local cache. Check the network connection, or put the model's files in "
        f"MODELS_DIR/{model_id}/ (hf download {model_id} on a machine with network), then try again.")


def load_processor(family: str, source: str, options: dict[str, Any]) -> Any:
    """AutoProcessor's processor, or the parts PROCESSOR_PARTS_BY_FAMILY names (one alone, or a SpeechProcessor)."""
    import transformers

    parts = PROCESSOR_PARTS_BY_FAMILY.get(family)
    if parts is None:
        return transformers.AutoProcessor.from_pretrained(source, **options)
    feature_extractor = transformers.AutoFeatureExtractor.from_pretrained(source, **options)
    if parts == ("feature_extractor",):
        return feature_extractor
    return SpeechProcessor(feature_extractor, transformers.AutoTokenizer.from_pretrained(source, **options))


def _unavailable_message(model_id: str, error: Exception, from_folder: bool) -> str:
    """A sentence that names the model, says what went wrong and how to fix it, without paths."""
    text = f"{type(error).__name__}: {error}".lower()
    missing = any(word in text for word in ("not found", "does not appear to have", "no such file", "offline",
                                            "couldn't connect", "cannot find", "connection", "localentrynotfound"))
    if from_folder and missing:
        return (f"The model {model_id} is incomplete in MODELS_DIR (a file is missing). "
                f"Copy the whole checkpoint into MODELS_DIR/{model_id}/ and try again.")
    if missing and (hub_offline() or "offline" in text or "localentrynotfound" in text):
        return (f"The model {model_id} is not available offline. Download it once with network access "
                f"(hf download {model_id}), or put its files in MODELS_DIR/{model_id}/, then try again.")
    if missing:
        return (f"The model {model_id} could not be downloaded from the Hugging Face Hub. Check the network "
                f"connection, or put its files in MODELS_DIR/{model_id}/, then try again.")
    if "safetensorerror" in text or ("safetensors" in text and any(
            word in text for word in ("header", "deserializ", "incomplete", "invalid"))):
        return (f"The weights of {model_id} are corrupt or incomplete. Delete the model's files (Hub cache or "
                f"MODELS_DIR/{model_id}/) and download them again.")
    if "safetensors" in text:
        return f"The model {model_id} has no safetensors weights; this app loads only safetensors files."
    return f"The model {model_id} could not be loaded ({type(error).__name__}). Check its files and try again."


def is_out_of_memory(error: BaseException) -> bool:
    """Whether an error means the device or the host ran out of memory."""
    return isinstance(error, torch.OutOfMemoryError | MemoryError)
