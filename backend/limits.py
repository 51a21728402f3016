"""Every input and generation limit of the app, in one place.

Each limit has a default and an environment variable that overrides it (read once, at import). The server
enforces all of them: limits in the browser (e.g. a textbox's max_length) are conveniences, not protection,
because the HTTP API bypasses them.
"""

import os


def _int_from_env(name: str, default: int) -> int:
    """An integer from the environment variable `name`, or `default` when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(float(value))  # accept "4e7" as well as "40000000"
    except ValueError as error:
        raise ValueError(f"Environment variable {name} must be a number, got {value!r}.") from error


def _float_from_env(name: str, default: float) -> float:
    """A float from the environment variable `name`, or `default` when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError as error:
        raise ValueError(f"Environment variable {name} must be a number, got {value!r}.") from error


MB = 1024 * 1024

# --- images ---------------------------------------------------------------------------------------
MAX_IMAGE_BYTES = _int_from_env("APP_MAX_IMAGE_BYTES", 25 * MB)  # encoded file size
MAX_IMAGE_PIXELS = _int_from_env("APP_MAX_IMAGE_PIXELS", 40_000_000)  # width*height, checked before decoding
MIN_IMAGE_SIDE = _int_from_env("APP_MIN_IMAGE_SIDE", 16)  # pixels; smaller images carry nothing to recognise
MAX_IMAGE_ASPECT = _float_from_env("APP_MAX_IMAGE_ASPECT", 20.0)  # long side / short side
# Formats Pillow may decode; everything else (SVG, PSD, EPS, ...) is refused before decoding.
IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")  # JPEG covers MPO (phone photos)

# --- audio ----------------------------------------------------------------------------------------
MAX_AUDIO_BYTES = _int_from_env("APP_MAX_AUDIO_BYTES", 50 * MB)  # encoded file size
MAX_AUDIO_SECONDS = _float_from_env("APP_MAX_AUDIO_SECONDS", 30 * 60)  # read from the header, before decoding
MIN_AUDIO_SECONDS = _float_from_env("APP_MIN_AUDIO_SECONDS", 0.1)  # shorter clips hold no word

# --- video ----------------------------------------------------------------------------------------
MAX_VIDEO_BYTES = _int_from_env("APP_MAX_VIDEO_BYTES", 50 * MB)  # encoded file size (a minute of phone video)
MAX_VIDEO_SECONDS = _float_from_env("APP_MAX_VIDEO_SECONDS", 120.0)  # from the header, else counted before decoding
MAX_VIDEO_FRAMES = _int_from_env("APP_MAX_VIDEO_FRAMES", 7_200)  # frames in the clip (2 minutes at 60 fps)
MAX_VIDEO_PIXELS = _int_from_env("APP_MAX_VIDEO_PIXELS", 3840 * 2160)  # width*height of one frame (4K UHD)

# --- text -----------------------------------------------------------------------------------------
MAX_TEXT_CHARS = _int_from_env("APP_MAX_TEXT_CHARS", 5_000)  # translation, masked words, speech synthesis input
MAX_ITEMS = _int_from_env("APP_MAX_ITEMS", 50)  # zero-shot labels or detection queries per request
MAX_ITEM_CHARS = _int_from_env("APP_MAX_ITEM_CHARS", 100)  # characters per label or query
MAX_QUESTION_CHARS = _int_from_env("APP_MAX_QUESTION_CHARS", 300)  # a question about an image or a document

# --- documents ------------------------------------------------------------------------------------
MAX_DOCUMENT_BYTES = _int_from_env("APP_MAX_DOCUMENT_BYTES", 25 * MB)  # encoded PDF or page image
MAX_PDF_PAGES = _int_from_env("APP_MAX_PDF_PAGES", 200)  # pages in a PDF, from its page tree, before rendering
DOCUMENT_PAGES_READ = _int_from_env("APP_DOCUMENT_PAGES_READ", 3)  # the first pages of a PDF that are answered
PDF_RENDER_DPI = _int_from_env("APP_PDF_RENDER_DPI", 200)  # dots per inch; lowered so pages stay under the pixels
OCR_TIMEOUT_SECONDS = _float_from_env("APP_OCR_TIMEOUT_SECONDS", 60)  # Tesseract, per page
MAX_DOCUMENT_ANSWER_TOKENS = _int_from_env("APP_MAX_DOCUMENT_ANSWER_TOKENS", 64)  # Donut's generated tokens

# --- model work -----------------------------------------------------------------------------------
MAX_DEPTH_INPUT_SIDE = _int_from_env("APP_MAX_DEPTH_INPUT_SIDE", 640)  # long side fed to depth models, pixels
# Long side handed to segmentation processors, pixels (they resize to the model's square: 512 or 1024 px).
MAX_SEGMENT_INPUT_SIDE = _int_from_env("APP_MAX_SEGMENT_INPUT_SIDE", 1024)
MAX_TRANSLATION_NEW_TOKENS = _int_from_env("APP_MAX_TRANSLATION_NEW_TOKENS", 256)  # per translated piece
MAX_TRANSCRIPTION_NEW_TOKENS = _int_from_env("APP_MAX_TRANSCRIPTION_NEW_TOKENS", 440)  # per 30 s window
MAX_SPEECH_SEMANTIC_TOKENS = _int_from_env("APP_MAX_SPEECH_SEMANTIC_TOKENS", 768)  # Bark, per sentence (~15 s)
MAX_CAPTION_NEW_TOKENS = _int_from_env("APP_MAX_CAPTION_NEW_TOKENS", 50)  # a caption or an answer (COCO's are ~12)
