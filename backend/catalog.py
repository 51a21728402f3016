"""The model catalog: every model the app offers, per task. The only place Hub ids live.

Adding a model is one `ModelSpec(...)` line in `CATALOG`; the task module must support its `family`.
"""

from dataclasses import dataclass

from backend.errors import InputError
from backend.languages import (
    BARK_VOICE_LANGUAGES,
    M2M100_LANGUAGES,
    WHISPER_LANGUAGES,
    WHISPER_V3_LANGUAGES,
    XLS_R_21_TO_EN_LANGUAGES,
)
from backend.mms_languages import MMS_ADAPTERS, MMS_LID_LANGUAGES

# One name per task, used for the backend module, its function, the API name and the test file.
TASKS: tuple[str, ...] = (
    "classify_image",  # zero-shot image classification
    "detect_objects",  # object detection, closed and open vocabulary
    "estimate_depth",  # monocular depth estimation
    "translate",  # text translation
    "transcribe",  # speech recognition
    "synthesize_speech",  # text to speech
)

# Bark's presets: "v2/<language>_speaker_<0-9>", ten voices per language.
BARK_VOICES: tuple[str, ...] = tuple(
    f"v2/{language}_speaker_{number}" for language in BARK_VOICE_LANGUAGES for number in range(10)
)


@dataclass(frozen=True)
class ModelSpec:
    """One catalog entry: a Hub id and the facts the backend and the UI need about it."""

    id: str  # Hub id "<org>/<name>"; also the folder "$MODELS_DIR/<org>/<name>/"
    task: str  # one of TASKS
    family: str  # architecture family; selects the loading class and the task code path
    label: str  # human label with parameter count, shown in dropdowns
    default: bool = False  # the task's default model (exactly one per task)
    notes: str = ""  # one line for the UI: what the model is good at
    open_vocabulary: bool = False  # detection: takes free-text queries
    metric_depth: bool = False  # depth: values are metres (else relative, unitless)
    languages: tuple[str, ...] = ()  # translation/speech: language codes the model knows
    voices: tuple[str, ...] = ()  # text to speech: voice presets (empty: one fixed voice)
    default_voice: str = ""
    # A model the task's code calls for a step of its own (MMS-LID finds the language MMS-1b-all then transcribes):
    # loaded through the cache and listed in the Models tab, but not a choice in the task's menu or API.
    helper: bool = False


CATALOG: tuple[ModelSpec, ...] = (
    # Zero-shot image classification
    ModelSpec("openai/clip-vit-large-patch14", "classify_image", "clip", "CLIP ViT-L/14 (428M)", default=True,
              notes="Strong general-purpose zero-shot classifier; English labels."),
    ModelSpec("openai/clip-vit-base-patch32", "classify_image", "clip", "CLIP ViT-B/32 (151M)",
              notes="Small and fast; English labels."),
    ModelSpec("kakaobrain/align-base", "classify_image", "align", "ALIGN base (172M)",
              notes="EfficientNet + BERT trained on noisy alt-text; English labels."),
    ModelSpec("BAAI/AltCLIP", "classify_image", "altclip", "AltCLIP (865M)",
              notes="Multilingual text encoder: labels in Chinese, English and other languages."),
    # Object detection
    ModelSpec("facebook/detr-resnet-50", "detect_objects", "detr", "DETR ResNet-50 (41M)", default=True,
              notes="The 80 COCO classes; ignores text queries."),
    ModelSpec("google/owlvit-base-patch32", "detect_objects", "owlvit", "OWL-ViT B/32 (153M)",
              open_vocabulary=True, notes="Open vocabulary: finds what your text queries describe."),
    ModelSpec("google/owlv2-base-patch16-ensemble", "detect_objects", "owlv2", "OWLv2 B/16 ensemble (155M)",
              open_vocabulary=True, notes="Open vocabulary, more accurate than OWL-ViT, slower."),
    # Depth estimation
    ModelSpec("vinvino02/glpn-nyu", "estimate_depth", "glpn", "GLPN NYUv2 (62M)", default=True,
              metric_depth=True, notes="Metric depth in metres; trained on indoor scenes."),
    ModelSpec("Intel/dpt-large", "estimate_depth", "dpt", "DPT-Large (343M)",
              notes="Relative depth (larger is nearer), indoor and outdoor."),
    ModelSpec("depth-anything/Depth-Anything-V2-Small-hf", "estimate_depth", "depth_anything",
              "Depth Anything V2 Small (25M)", notes="Relative depth (larger is nearer); sharp and fast."),
    # Translation
    ModelSpec("facebook/m2m100_418M", "translate", "m2m100", "M2M100 418M", default=True,
              languages=M2M100_LANGUAGES, notes="Any of 100 languages to any other."),
    ModelSpec("facebook/m2m100_1.2B", "translate", "m2m100", "M2M100 1.2B",
              languages=M2M100_LANGUAGES, notes="Same languages, better quality, about 3x slower."),
    # Speech recognition
    ModelSpec("openai/whisper-large-v3-turbo", "transcribe", "whisper", "Whisper large-v3 turbo (809M)",
              default=True, languages=WHISPER_V3_LANGUAGES,
              notes="99 languages plus Cantonese; can translate speech to English."),
    ModelSpec("openai/whisper-small", "transcribe", "whisper", "Whisper small (244M)",
              languages=WHISPER_LANGUAGES, notes="99 languages; can translate speech to English."),
    ModelSpec("openai/whisper-base", "transcribe", "whisper", "Whisper base (74M)",
              languages=WHISPER_LANGUAGES, notes="Fastest Whisper here; 99 languages."),
    ModelSpec("facebook/wav2vec2-base-960h", "transcribe", "wav2vec2", "wav2vec2 base 960h (95M)",
              languages=("en",), notes="English only, character-level CTC; word timestamps."),
    ModelSpec("facebook/mms-1b-all", "transcribe", "mms", "MMS-1b-all (965M)", languages=MMS_ADAPTERS,
              notes="1,100+ languages, one small adapter each: pick the language, or auto-detect it with MMS-LID "
                    "(126 languages). Character-level CTC; word timestamps."),
    ModelSpec("facebook/wav2vec2-xls-r-300m-21-to-en", "transcribe", "xls_r_translation",
              "XLS-R 300M 21-to-en (793M)", languages=XLS_R_21_TO_EN_LANGUAGES,
              notes="Translates speech in 21 languages into English text (task: translate only)."),
    ModelSpec("facebook/mms-lid-126", "transcribe", "mms_lid", "MMS-LID-126 (965M)", languages=MMS_LID_LANGUAGES,
              helper=True, notes="Identifies the spoken language (126 languages) for MMS-1b-all's auto-detect."),
    # Text to speech
    ModelSpec("suno/bark-small", "synthesize_speech", "bark", "Bark small (~400M)", default=True,
              voices=BARK_VOICES, default_voice="v2/en_speaker_6",
              languages=BARK_VOICE_LANGUAGES, notes="Expressive, many voices; slow on CPU."),
    ModelSpec("suno/bark", "synthesize_speech", "bark", "Bark (~1B)", voices=BARK_VOICES,
              default_voice="v2/en_speaker_6", languages=BARK_VOICE_LANGUAGES,
              notes="Higher quality Bark; very slow on CPU."),
    ModelSpec("facebook/mms-tts-eng", "synthesize_speech", "vits", "MMS-TTS English (36M)",
              languages=("en",), notes="Fast, one English voice."),
)


def models_for(task: str) -> tuple[ModelSpec, ...]:
    """The catalog entries a task offers (helper models left out), default first."""
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; expected one of {', '.join(TASKS)}.")
    return tuple(spec for spec in CATALOG if spec.task == task and not spec.helper)


def helper_model(family: str) -> ModelSpec:
    """The helper model of a family (e.g. "mms_lid"), which task code loads for a step of its own."""
    return next(spec for spec in CATALOG if spec.helper and spec.family == family)


def default_model(task: str) -> ModelSpec:
    """The default model of a task."""
    return next(spec for spec in models_for(task) if spec.default)


def find_model(model_id: str) -> ModelSpec | None:
    """The catalog entry for a Hub id, or None."""
    return next((spec for spec in CATALOG if spec.id == model_id), None)


def resolve_model(task: str, model_id: str | None) -> ModelSpec:
    """The catalog entry a request asks for (None or "" means the task's default); unknown ids are an InputError."""
    if not model_id:
        return default_model(task)
    for spec in models_for(task):
        if spec.id == model_id:
            return spec
    choices = ", ".join(spec.id for spec in models_for(task))
    raise InputError(f"Unknown model {str(model_id)[:100]!r} for this task. Choose one of: {choices}.")
