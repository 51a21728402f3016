"""The three ways of serving one request that the benchmark compares, for each real-size model.

- forward-only: the model's own forward/generate on tensors prepared once, the floor any app can reach;
- backend: our task function as a request runs it (input file decoded and checked, pre- and post-processing);
- naive: a transformers pipeline (or from_pretrained + generate where there is no pipeline for the task) built
  inside every request, on the same files.

Generation lengths are fixed so that every way does the same work: NEW_TOKENS for M2M100 (with its 5 beams),
Whisper and GIT's caption, BARK_SEMANTIC_TOKENS for Bark's semantic stage (its coarse and fine stages follow from it).
"""

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch
from PIL import Image

from backend import inputs, models
from backend.catalog import ModelSpec
from backend.documents import ocr
from backend.speech import ctc
from backend.tasks import (
    answer_document,
    caption_image,
    classify_image,
    classify_video,
    detect_objects,
    estimate_depth,
    fill_mask,
    segment_image,
    synthesize_speech,
    transcribe,
    translate,
)
from backend.video import even_indices, probe_video, read_frames
from bench import real_size

ROOT = Path(__file__).resolve().parent.parent
NEW_TOKENS = 34  # generated tokens per M2M100 piece and per Whisper window
BARK_SEMANTIC_TOKENS = 32  # Bark semantic tokens (~0.6 s of speech); the other stages follow
LABELS = ["a cat", "a dog", "a car"]
TEXT = "The museum opens at nine in the morning and closes at six in the evening."  # 74 characters
MASKED_TEXT = TEXT.replace("morning", "<mask>")
RATE = 16_000  # Hz
PHOTO = Image.open(ROOT / "assets" / "images" / "chelsea.jpg").convert("RGB").resize((640, 480))
SPEECH_30S = np.random.default_rng(0).normal(0, 0.1, 30 * RATE).astype(np.float32)  # noise: the models are random
DOCUMENT_FILE = ROOT / "assets" / "documents" / "invoice.png"  # one A4 page at 150 DPI, 95 OCR words
QUESTION = "What is the total due?"
PHOTO_FILE = real_size.CACHE / "inputs" / "photo-640x480.jpg"
SPEECH_30S_FILE = real_size.CACHE / "inputs" / "noise-30s.wav"
# The juggling cartoon of assets/video/ drawn at 640x480 for 5 s at 25 fps (125 frames), H.264.
CLIP_FILE = real_size.CACHE / "inputs" / "juggling-640x480-5s.mp4"

# Every model the benchmark covers, in the order of the report.
IDS = [
    "openai/clip-vit-large-patch14",
    "google/vit-base-patch16-224",
    "facebook/detr-resnet-50",
    "google/owlvit-base-patch32",
    "nvidia/segformer-b0-finetuned-ade-512-512",
    "vinvino02/glpn-nyu",
    "Intel/dpt-large",
    "depth-anything/Depth-Anything-V2-Small-hf",
    "microsoft/git-base-coco",
    "MCG-NJU/videomae-base-finetuned-kinetics",
    "facebook/m2m100_418M",
    "FacebookAI/xlm-roberta-base",
    "openai/whisper-base",
    "openai/whisper-small",
    "facebook/wav2vec2-base-960h",
    "facebook/mms-1b-all",
    "facebook/wav2vec2-xls-r-300m-21-to-en",
    "facebook/mms-tts-eng",
    "suno/bark-small",
    "impira/layoutlm-document-qa",
]
VISION_IDS = IDS[:10]  # CLIP, ViT, DETR, OWL-ViT, SegFormer, GLPN, DPT, Depth Anything, GIT, VideoMAE
# Models that answer from OCR words: their rows leave Tesseract out (the same words for every call, read once) and
# report its time apart, since OCR is the same work for any app and would hide what the app adds to the model.
OCR_IDS = ["impira/layoutlm-document-qa"]


@functools.cache
def document_words() -> tuple[list[ocr.Word], tuple[int, int]]:
    """The example invoice's OCR words and its page size in pixels, read once."""
    page = inputs.load_document(str(DOCUMENT_FILE), max_pages=1).pages[0]
    return ocr.read_words(page), page.size


def ocr_call() -> Callable[[], object]:
    """Tesseract on the example invoice, as the backend runs it per page (decoding included)."""
    return lambda: ocr.read_words(inputs.load_document(str(DOCUMENT_FILE), max_pages=1).pages[0])


def write_input_files() -> None:
    """The photo and the 30 s clip as files, as an upload reaches the backend."""
    PHOTO_FILE.parent.mkdir(parents=True, exist_ok=True)
    PHOTO.save(PHOTO_FILE, quality=90)
    soundfile.write(SPEECH_30S_FILE, SPEECH_30S, RATE, subtype="PCM_16")
    write_clip(CLIP_FILE, width=640, height=480, seconds=5)


def write_clip(path: Path, width: int, height: int, seconds: int) -> None:
    """The assets' juggling cartoon at another size and length, H.264 at 25 fps."""
    import av

    from assets.make_video_clip import FPS, draw_frame

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"crf": "23"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(FPS * seconds):
            picture = draw_frame(index / FPS).resize((width, height))
            container.mux(stream.encode(av.VideoFrame.from_image(picture)))
        container.mux(stream.encode())


def fix_generation_length(model: torch.nn.Module, family: str) -> None:
    """Make every generate call of a random model produce exactly the fixed number of tokens."""
    if family in ("m2m100", "whisper", "git", "xls_r_translation"):
        fixed = {"min_new_tokens": NEW_TOKENS, "max_new_tokens": NEW_TOKENS}
    elif family == "bark":
        fixed = {"semantic_min_new_tokens": BARK_SEMANTIC_TOKENS, "semantic_max_new_tokens": BARK_SEMANTIC_TOKENS}
    else:
        return
    generate = model.generate

    @functools.wraps(generate)
    def fixed_generate(*args: Any, **kwargs: Any) -> Any:
        return generate(*args, **{**kwargs, **fixed})

    model.generate = fixed_generate


def fixed_length_loader(spec: ModelSpec, device: torch.device, dtype: torch.dtype) -> tuple[Any, Any]:
    """The app's loader, then fixed generation lengths: what every cache in the benchmark loads with."""
    model, processor = models.load_from_pretrained(spec, device, dtype)
    fix_generation_length(model, spec.family)
    return model, processor


def use_fixed_length_cache(budget_bytes: int | None = None) -> models.ModelCache:
    """Give the app a new cache that loads with fixed generation lengths (and the given budget)."""
    models.CACHE.unload_all()
    models.CACHE = models.ModelCache(loader=fixed_length_loader, budget_bytes=budget_bytes)
    return models.CACHE


def forward_only(model_id: str) -> Callable[[], object]:
    """The model's own call on inputs prepared once, without autograd; seeded like the backend's sampling models."""
    call = model_call(model_id)

    def call_without_autograd() -> object:
        torch.manual_seed(synthesize_speech.SEED)  # VITS and Bark sample: the same seed gives the same length
        with torch.inference_mode():
            return call()

    return call_without_autograd


def model_call(model_id: str) -> Callable[[], object]:
    """The model's own forward or generate call on inputs prepared once."""
    loaded = models.get(model_id)
    model, processor = loaded.model, loaded.processor
    if model_id == "openai/clip-vit-large-patch14":
        inputs = on_device(processor(text=[f"a photo of {label}." for label in LABELS], images=PHOTO,
                                     return_tensors="pt", padding=True), loaded)
        return lambda: model(**inputs)
    if model_id == "google/owlvit-base-patch32":
        inputs = on_device(processor(text=[LABELS], images=PHOTO, return_tensors="pt"), loaded)
        return lambda: model(**inputs)
    if model_id in ("google/vit-base-patch16-224", "facebook/detr-resnet-50",
                    "nvidia/segformer-b0-finetuned-ade-512-512", "vinvino02/glpn-nyu", "Intel/dpt-large",
                    "depth-anything/Depth-Anything-V2-Small-hf"):
        inputs = on_device(processor(images=PHOTO, return_tensors="pt"), loaded)
        return lambda: model(**inputs)
    if model_id == "microsoft/git-base-coco":  # a caption: [CLS] is the whole prompt
        inputs = on_device(processor(images=PHOTO, return_tensors="pt"), loaded)
        prompt = torch.tensor([[processor.tokenizer.cls_token_id]], device=loaded.device)
        return lambda: model.generate(pixel_values=inputs["pixel_values"], input_ids=prompt, do_sample=False)
    if model_id == "MCG-NJU/videomae-base-finetuned-kinetics":
        info = probe_video(CLIP_FILE)
        frames = read_frames(info, even_indices(info.frames, model.config.num_frames)).images
        inputs = on_device(processor(frames, return_tensors="pt"), loaded)
        return lambda: model(**inputs)
    if model_id == "facebook/m2m100_418M":
        processor.src_lang = "en"
        inputs = on_device(processor(TEXT, return_tensors="pt"), loaded)
        return lambda: model.generate(**inputs, forced_bos_token_id=processor.get_lang_id("fr"))
    if model_id == "FacebookAI/xlm-roberta-base":  # the full forward: scores at every position
        inputs = on_device(processor(MASKED_TEXT, return_tensors="pt"), loaded)
        return lambda: model(**inputs)
    if model_id.startswith("openai/whisper"):
        features = on_device(processor.feature_extractor(SPEECH_30S, sampling_rate=RATE, return_tensors="pt"),
                             loaded)["input_features"]
        return lambda: model.generate(features, language="en", task="transcribe")
    if model_id == "facebook/wav2vec2-base-960h":
        inputs = on_device(processor(SPEECH_30S, sampling_rate=RATE, return_tensors="pt"), loaded)
        return lambda: model(**inputs)
    if model_id == "facebook/mms-1b-all":  # the English adapter, which the base weights carry
        inputs = on_device(processor(SPEECH_30S, sampling_rate=RATE, return_tensors="pt"), loaded)
        return lambda: model(**inputs)
    if model_id == "facebook/wav2vec2-xls-r-300m-21-to-en":  # the same windows the backend cuts, in one batch
        bounds = ctc.window_bounds(len(SPEECH_30S), ctc.XLS_R_WINDOW_SECONDS * RATE)
        windows = [SPEECH_30S[start:end] for start, end in bounds]
        inputs = on_device(processor.feature_extractor(windows, sampling_rate=RATE, padding=True,
                                                       return_attention_mask=True, return_tensors="pt"), loaded)
        return lambda: model.generate(**inputs, num_beams=1)
    if model_id == "suno/bark-small":
        inputs = on_device(processor(TEXT, voice_preset="v2/en_speaker_6", return_tensors="pt"), loaded)
        return lambda: model.generate(**inputs, do_sample=True)
    if model_id == "impira/layoutlm-document-qa":
        words, (width, height) = document_words()
        windows = answer_document.layoutlm_features(
            answer_document.prefix_space_tokenizer(loaded), QUESTION, [word.text for word in words],
            [ocr.normalized_box(word.box, width, height) for word in words], answer_document.window_tokens(loaded))
        features = [on_device(window, loaded) for window, _ in windows]
        return lambda: [model(**window) for window in features]
    inputs = on_device(processor(TEXT, return_tensors="pt"), loaded)  # MMS-TTS
    return lambda: model(**inputs)


def on_device(inputs: Mapping[str, Any], loaded: models.LoadedModel) -> dict[str, Any]:
    """Prepared inputs on the model's device, floating-point tensors in its dtype (nested mappings too), as the
    backend's task functions hand them over; on a GPU the model would otherwise refuse CPU float32 tensors."""
    def move(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            if value.is_floating_point():
                return value.to(device=loaded.device, dtype=loaded.dtype)
            return value.to(device=loaded.device)
        if isinstance(value, Mapping):
            return {key: move(item) for key, item in value.items()}
        return value

    return move(dict(inputs))


def backend_call(model_id: str, labels: Callable[[], list[str]] = lambda: LABELS) -> Callable[[], object]:
    """Our task function, as a request runs it (the model already loaded), on the input files."""
    photo, speech, clip = str(PHOTO_FILE), str(SPEECH_30S_FILE), str(CLIP_FILE)
    if model_id in OCR_IDS:
        return without_ocr(lambda: answer_document.answer_document(str(DOCUMENT_FILE), QUESTION, model=model_id))
    calls: dict[str, Callable[[], object]] = {
        "openai/clip-vit-large-patch14": lambda: classify_image.classify_image(photo, labels(), model=model_id),
        "google/vit-base-patch16-224": lambda: classify_image.classify_image(photo, "", model=model_id),
        "facebook/detr-resnet-50": lambda: detect_objects.detect_objects(photo, model=model_id),
        "google/owlvit-base-patch32": lambda: detect_objects.detect_objects(photo, LABELS, model=model_id),
        "nvidia/segformer-b0-finetuned-ade-512-512": lambda: segment_image.segment_image(photo, model=model_id),
        "vinvino02/glpn-nyu": lambda: estimate_depth.estimate_depth(photo, model=model_id),
        "Intel/dpt-large": lambda: estimate_depth.estimate_depth(photo, model=model_id),
        "depth-anything/Depth-Anything-V2-Small-hf": lambda: estimate_depth.estimate_depth(photo, model=model_id),
        "microsoft/git-base-coco": lambda: caption_image.caption_image(photo, model=model_id),
        "MCG-NJU/videomae-base-finetuned-kinetics": lambda: classify_video.classify_video(clip, model=model_id),
        "facebook/m2m100_418M": lambda: translate.translate(TEXT, "en", "fr", model=model_id),
        "FacebookAI/xlm-roberta-base": lambda: fill_mask.fill_mask(MASKED_TEXT, model=model_id),
        "openai/whisper-base": lambda: transcribe.transcribe(speech, model=model_id, language="en"),
        "openai/whisper-small": lambda: transcribe.transcribe(speech, model=model_id, language="en"),
        "facebook/wav2vec2-base-960h": lambda: transcribe.transcribe(speech, model=model_id),
        "facebook/mms-1b-all": lambda: transcribe.transcribe(speech, model=model_id, language="eng"),
        "facebook/wav2vec2-xls-r-300m-21-to-en": lambda: transcribe.transcribe(speech, model=model_id,
                                                                                task="translate"),
        "facebook/mms-tts-eng": lambda: synthesize_speech.synthesize_speech(TEXT, model=model_id),
        "suno/bark-small": lambda: synthesize_speech.synthesize_speech(TEXT, model=model_id),
    }
    return calls[model_id]


def without_ocr(call: Callable[[], object]) -> Callable[[], object]:
    """The call with the backend's OCR answering from the words read once (see OCR_IDS)."""
    def call_with_words_read() -> object:
        words, _ = document_words()
        read_words = ocr.read_words
        ocr.read_words = lambda page, engine=None: words
        try:
            return call()
        finally:
            ocr.read_words = read_words

    return call_with_words_read


def adapter_switch(language: str) -> Callable[[], object]:
    """MMS-1b-all switched to `language` and back to English, under the device lock as a request does it."""
    from backend import compute

    loaded = models.get("facebook/mms-1b-all")

    def switch() -> object:
        with compute.DEVICE_LOCK:
            ctc.use_adapter(loaded, language)
            ctc.use_adapter(loaded, "eng")
        return loaded

    return switch


def naive_call(model_id: str) -> Callable[[], object]:
    """The naive app: a pipeline (or from_pretrained + generate) built inside every request."""
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSeq2SeqLM,
        AutoProcessor,
        AutoTokenizer,
        BarkModel,
        pipeline,
    )

    folder = str(real_size.CACHE / model_id)
    device = models.CACHE.device  # the naive app uses the same device as ours
    options = {"model_kwargs": {"use_safetensors": True}, "device": device}
    fixed = {"min_new_tokens": NEW_TOKENS, "max_new_tokens": NEW_TOKENS}
    if model_id == "openai/clip-vit-large-patch14":
        return lambda: pipeline("zero-shot-image-classification", model=folder, **options)(
            PHOTO, candidate_labels=LABELS)
    if model_id == "google/vit-base-patch16-224":
        return lambda: pipeline("image-classification", model=folder, **options)(PHOTO)
    if model_id == "facebook/detr-resnet-50":
        return lambda: pipeline("object-detection", model=folder, **options)(PHOTO)
    if model_id == "google/owlvit-base-patch32":
        return lambda: pipeline("zero-shot-object-detection", model=folder, **options)(PHOTO, candidate_labels=LABELS)
    if model_id == "nvidia/segformer-b0-finetuned-ade-512-512":
        return lambda: pipeline("image-segmentation", model=folder, **options)(PHOTO, subtask="semantic")
    if model_id in ("vinvino02/glpn-nyu", "Intel/dpt-large", "depth-anything/Depth-Anything-V2-Small-hf"):
        return lambda: pipeline("depth-estimation", model=folder, **options)(PHOTO)
    if model_id == "microsoft/git-base-coco":  # transformers 5 has no image-to-text pipeline
        def caption_naively() -> object:
            processor = AutoProcessor.from_pretrained(folder)
            model = AutoModelForCausalLM.from_pretrained(folder, use_safetensors=True, dtype=torch.float32).to(device)
            pixel_values = processor(images=PHOTO, return_tensors="pt").pixel_values.to(device)
            return model.generate(pixel_values=pixel_values, **fixed)
        return caption_naively
    if model_id == "MCG-NJU/videomae-base-finetuned-kinetics":  # the pipeline decodes the first 16 frames only
        return lambda: pipeline("video-classification", model=folder, **options)(str(CLIP_FILE))
    if model_id == "facebook/m2m100_418M":  # transformers 5 has no translation pipeline
        def translate_naively() -> object:
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForSeq2SeqLM.from_pretrained(folder, use_safetensors=True, dtype=torch.float32).to(device)
            tokenizer.src_lang = "en"
            return model.generate(**tokenizer(TEXT, return_tensors="pt").to(device),
                                  forced_bos_token_id=tokenizer.get_lang_id("fr"), **fixed)
        return translate_naively
    if model_id == "FacebookAI/xlm-roberta-base":
        return lambda: pipeline("fill-mask", model=folder, **options)(MASKED_TEXT)
    if model_id.startswith("openai/whisper"):
        return lambda: pipeline("automatic-speech-recognition", model=folder, **options)(
            {"raw": SPEECH_30S, "sampling_rate": RATE}, generate_kwargs={"language": "en", **fixed})
    if model_id in ("facebook/wav2vec2-base-960h", "facebook/mms-1b-all"):  # MMS: the base weights' English
        return lambda: pipeline("automatic-speech-recognition", model=folder, **options)(
            {"raw": SPEECH_30S, "sampling_rate": RATE})
    if model_id == "facebook/wav2vec2-xls-r-300m-21-to-en":  # no combined processor: both parts named
        return lambda: pipeline("automatic-speech-recognition", model=folder, tokenizer=folder,
                                feature_extractor=folder, **options)(
            {"raw": SPEECH_30S, "sampling_rate": RATE}, generate_kwargs={"num_beams": 1, **fixed})
    if model_id == "suno/bark-small":  # from_pretrained + generate: the pipeline cannot fix the semantic length
        def speak_naively() -> object:
            processor = AutoProcessor.from_pretrained(folder)
            model = BarkModel.from_pretrained(folder, use_safetensors=True, dtype=torch.float32).to(device)
            inputs = processor(TEXT, voice_preset="v2/en_speaker_6", return_tensors="pt")
            inputs = {**inputs.to(device), "history_prompt": inputs["history_prompt"].to(device)}
            return model.generate(**inputs, do_sample=True, semantic_min_new_tokens=BARK_SEMANTIC_TOKENS,
                                  semantic_max_new_tokens=BARK_SEMANTIC_TOKENS)
        return speak_naively
    if model_id in OCR_IDS:  # the pipeline given the same OCR words (it would run Tesseract itself otherwise)
        words, (width, height) = document_words()
        word_boxes = [(word.text, ocr.normalized_box(word.box, width, height)) for word in words]

        def answer_naively() -> object:
            # As the checkpoint's usage loads it: add_prefix_space, so words tokenize as ours do (same windows).
            tokenizer = AutoTokenizer.from_pretrained(folder, add_prefix_space=True)
            return pipeline("document-question-answering", model=folder, tokenizer=tokenizer, **options)(
                image=str(DOCUMENT_FILE), question=QUESTION, word_boxes=word_boxes)
        return answer_naively
    return lambda: pipeline("text-to-speech", model=folder, **options)(TEXT)
