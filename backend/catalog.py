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
from backend.speech.mms_languages import MMS_ADAPTERS, MMS_LID_LANGUAGES
from backend.speech.voices import MMS_VOICES, voice_label

# One name per task, used for the backend module, its function, the API name and the test file.
TASKS: tuple[str, ...] = (
    "classify_image",  # image classification: zero-shot labels, or the ImageNet classes
    "detect_objects",  # object detection, closed and open vocabulary
    "segment_image",  # semantic segmentation
    "estimate_depth",  # monocular depth estimation
    "caption_image",  # image captioning and visual questions
    "classify_video",  # action recognition in short clips
    "translate",  # text translation
    "fill_mask",  # masked-word prediction
    "answer_document",  # document question answering (page images and PDFs)
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
    cpu_default: bool = False  # the task's default when the app serves without a GPU (replaces `default` there)
    slow_on_cpu: bool = False  # marked so in the menu when the app serves without a GPU
    notes: str = ""  # one line for the UI: what the model is good at
    open_vocabulary: bool = False  # detection: takes free-text queries
    metric_depth: bool = False  # depth: values are metres (else relative, unitless)
    answers_questions: bool = False  # captioning: answers a question about the image (VQA) instead of captioning
    languages: tuple[str, ...] = ()  # translation/speech: language codes the model knows
    voices: tuple[str, ...] = ()  # text to speech: voice presets (empty: one fixed voice)
    default_voice: str = ""
    # A model the task's code calls for a step of its own (MMS-LID finds the language MMS-1b-all then transcribes):
    # loaded through the cache and listed in the Models tab, but not a choice in the task's menu or API.
    helper: bool = False


CATALOG: tuple[ModelSpec, ...] = (
    # Image classification: zero-shot (labels given), closed set (no labels)
    ModelSpec("openai/clip-vit-large-patch14", "classify_image", "clip", "CLIP ViT-L/14 (428M)", default=True,
              notes="Strong general-purpose zero-shot classifier; English labels."),
    ModelSpec("openai/clip-vit-base-patch32", "classify_image", "clip", "CLIP ViT-B/32 (151M)",
              notes="Small and fast; English labels."),
    ModelSpec("kakaobrain/align-base", "classify_image", "align", "ALIGN base (172M)",
              notes="EfficientNet + BERT trained on noisy alt-text; English labels."),
    ModelSpec("BAAI/AltCLIP", "classify_image", "altclip", "AltCLIP (865M)",
              notes="Multilingual text encoder: labels in Chinese, English and other languages."),
    ModelSpec("google/vit-base-patch16-224", "classify_image", "vit", "ViT-B/16 ImageNet-1k (86M)",
              notes="Closed set, used when the labels are empty: the top 5 of the 1,000 ImageNet-1k classes. The "
                    "ImageNet-1k fine-tune (the seed's vit-base-patch16-224-in21k is pre-training only, "
                    "with no usable head)."),
    # Object detection
    ModelSpec("facebook/detr-resnet-50", "detect_objects", "detr", "DETR ResNet-50 (41M)", default=True,
              notes="The 80 COCO classes; ignores text queries."),
    ModelSpec("google/owlvit-base-patch32", "detect_objects", "owlvit", "OWL-ViT B/32 (153M)",
              open_vocabulary=True, notes="Open vocabulary: finds what your text queries describe."),
    ModelSpec("google/owlv2-base-patch16-ensemble", "detect_objects", "owlv2", "OWLv2 B/16 ensemble (155M)",
              open_vocabulary=True, notes="Open vocabulary, more accurate than OWL-ViT, slower."),
    # Semantic segmentation
    ModelSpec("nvidia/segformer-b0-finetuned-ade-512-512", "segment_image", "segformer", "SegFormer-B0 ADE20k (3.8M)",
              default=True, notes="150 indoor and outdoor classes (ADE20k); fast. nvidia/mit-b0 is its encoder "
              "without this head."),
    ModelSpec("nvidia/segformer-b2-finetuned-ade-512-512", "segment_image", "segformer",
              "SegFormer-B2 ADE20k (27.5M)", notes="The same 150 classes, more accurate, several times slower."),
    ModelSpec("nvidia/segformer-b1-finetuned-cityscapes-1024-1024", "segment_image", "segformer",
              "SegFormer-B1 Cityscapes (13.7M)", notes="19 street-scene classes (road, car, person...); runs at "
              "1024 px."),
    # Depth estimation
    ModelSpec("vinvino02/glpn-nyu", "estimate_depth", "glpn", "GLPN NYUv2 (62M)", default=True,
              metric_depth=True, notes="Metric depth in metres; trained on indoor scenes."),
    ModelSpec("Intel/dpt-large", "estimate_depth", "dpt", "DPT-Large (343M)",
              notes="Relative depth (larger is nearer), indoor and outdoor."),
    ModelSpec("depth-anything/Depth-Anything-V2-Small-hf", "estimate_depth", "depth_anything",
              "Depth Anything V2 Small (25M)", notes="Relative depth (larger is nearer); sharp and fast."),
    # Image captioning and visual questions
    ModelSpec("microsoft/git-base-coco", "caption_image", "git", "GIT base COCO (177M)", default=True,
              notes="One-sentence captions in the style of COCO's."),
    ModelSpec("microsoft/git-large-coco", "caption_image", "git", "GIT large COCO (394M)",
              notes="More accurate COCO-style captions; about 3x slower."),
    ModelSpec("microsoft/git-base", "caption_image", "git", "GIT base (177M)",
              notes="Pre-trained only (not fine-tuned): short alt-text style captions."),
    ModelSpec("microsoft/git-base-vqav2", "caption_image", "git", "GIT base VQAv2 (177M)", answers_questions=True,
              notes="Answers a question about the image in a word or a few (English)."),
    # Video classification
    ModelSpec("MCG-NJU/videomae-base-finetuned-kinetics", "classify_video", "videomae",
              "VideoMAE base Kinetics-400 (87M)", default=True,
              notes="The 400 Kinetics human actions (sports, music, daily life); 16 frames per clip."),
    ModelSpec("MCG-NJU/videomae-small-finetuned-kinetics", "classify_video", "videomae",
              "VideoMAE small Kinetics-400 (22M)", notes="The same 400 actions, about 3x faster, less accurate."),
    ModelSpec("MCG-NJU/videomae-base-finetuned-ssv2", "classify_video", "videomae", "VideoMAE base SSv2 (87M)",
              notes="174 Something-Something v2 motions of hands and objects, e.g. 'Pushing something from left to "
                    "right'."),
    # Translation
    ModelSpec("facebook/m2m100_418M", "translate", "m2m100", "M2M100 418M", default=True,
              languages=M2M100_LANGUAGES, notes="Any of 100 languages to any other."),
    ModelSpec("facebook/m2m100_1.2B", "translate", "m2m100", "M2M100 1.2B",
              languages=M2M100_LANGUAGES, notes="Same languages, better quality, about 3x slower."),
    # Masked words
    ModelSpec("FacebookAI/xlm-roberta-base", "fill_mask", "xlm_roberta", "XLM-RoBERTa base (278M)", default=True,
              notes="100 languages, no language setting needed."),
    ModelSpec("FacebookAI/xlm-roberta-large", "fill_mask", "xlm_roberta", "XLM-RoBERTa large (560M)",
              notes="100 languages; better guesses than base, about 3x slower."),
    ModelSpec("FacebookAI/xlm-mlm-enfr-1024", "fill_mask", "xlm", "XLM MLM en-fr (~140M)", languages=("en", "fr"),
              notes="English and French only; lowercases its input. Tell it the language or let it detect it."),
    ModelSpec("FacebookAI/xlm-mlm-100-1280", "fill_mask", "xlm", "XLM MLM 100 languages (570M)",
              notes="100 languages, no language setting needed; XLM-R is usually better."),
    # Document question answering
    ModelSpec("impira/layoutlm-document-qa", "answer_document", "layoutlm", "LayoutLM document QA (128M)",
              default=True, notes="Answers from the words Tesseract OCR reads; shows where the answer is."),
    ModelSpec("naver-clova-ix/donut-base-finetuned-docvqa", "answer_document", "donut", "Donut DocVQA (201M)",
              notes="OCR-free: reads the page image itself; no answer box."),
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
    # Bark small is the default on a GPU; MMS-TTS on CPU, where Bark small took 39 s for 1.3 s of speech (issue 12).
    ModelSpec("suno/bark-small", "synthesize_speech", "bark", "Bark small (~400M)", default=True, slow_on_cpu=True,
              voices=BARK_VOICES, default_voice="v2/en_speaker_6",
              languages=BARK_VOICE_LANGUAGES, notes="Expressive, many voices; slow on CPU."),
    ModelSpec("suno/bark", "synthesize_speech", "bark", "Bark (~1B)", voices=BARK_VOICES, slow_on_cpu=True,
              default_voice="v2/en_speaker_6", languages=BARK_VOICE_LANGUAGES,
              notes="Higher quality Bark; very slow on CPU."),
    ModelSpec("facebook/mms-tts-eng", "synthesize_speech", "vits", "MMS-TTS English (36M)", cpu_default=True,
              languages=("en",), notes="Fast, one English voice."),
    # One MMS-TTS voice per major language (backend/speech/voices.py); a request's `language` picks among them.
    *(ModelSpec(voice.model_id, "synthesize_speech", "vits", voice_label(voice), languages=(voice.language,),
                notes="Fast, one voice" + ("; the text is romanized (uroman) first." if voice.uroman else "."))
      for voice in MMS_VOICES if voice.language != "en"),
)


def models_for(task: str) -> tuple[ModelSpec, ...]:
    """The catalog entries a task offers (helper models left out), default first."""
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; expected one of {', '.join(TASKS)}.")
    return tuple(spec for spec in CATALOG if spec.task == task and not spec.helper)


def helper_model(family: str) -> ModelSpec:
    """The helper model of a family (e.g. "mms_lid"), which task code loads for a step of its own."""
    return next(spec for spec in CATALOG if spec.helper and spec.family == family)


# The kind of device the app serves on ("cuda", "mps" or "cpu"); the model cache sets it when it is created, so
# that "default" means the default on the serving device everywhere (menus, API, MCP).
_serving_device = "cpu"


def set_serving_device(device_type: str) -> None:
    """Record the device type models run on (called by backend.models when its cache is made)."""
    global _serving_device
    _serving_device = device_type


def serves_on_gpu() -> bool:
    """Whether models run on a GPU (CUDA or MPS)."""
    return _serving_device in ("cuda", "mps")


def default_model(task: str) -> ModelSpec:
    """The default model of a task on the serving device: a `cpu_default` entry without a GPU, else `default`."""
    specs = models_for(task)
    if not serves_on_gpu():
        for spec in specs:
            if spec.cpu_default:
                return spec
    return next(spec for spec in specs if spec.default)


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
