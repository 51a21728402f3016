"""Turn what users give (files, arrays, text) into what models take, safely.

Every refusal is an InputError whose message says what to change. Sizes are checked before anything is
decoded: an image's pixel count from its header, an audio file's duration from its header.
"""

import io
import math
import os
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import soundfile
import soxr
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from backend.errors import InputError
from backend.limits import (
    IMAGE_FORMATS,
    MAX_AUDIO_BYTES,
    MAX_AUDIO_SECONDS,
    MAX_DOCUMENT_BYTES,
    MAX_IMAGE_ASPECT,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_ITEM_CHARS,
    MAX_ITEMS,
    MAX_PDF_PAGES,
    MIN_AUDIO_SECONDS,
    MIN_IMAGE_SIDE,
    PDF_RENDER_DPI,
)

# Our own pixel check runs first with a clear message; Pillow's bomb check stays on as a second guard.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, never a half-grey image

AUDIO_FORMATS = "WAV, FLAC, OGG or MP3"
AUDIO_BLOCK_FRAMES = 65_536  # frames decoded at a time, so memory follows the output, not the input
_IMAGE_HINT = "upload a JPEG, PNG or WebP photo"
_CONTROL_KEEP = {"\n", "\t"}

ImageInput = str | os.PathLike | bytes | Image.Image | np.ndarray


def megabytes(size: int) -> str:
    """A byte count as "12.3 MB"."""
    return f"{size / 1024 / 1024:.1f} MB"


# --- images ---------------------------------------------------------------------------------------------------


def load_image(image: ImageInput | None) -> Image.Image:
    """A fully decoded RGB image, EXIF rotation applied, after the size, format and shape checks."""
    if image is None:
        raise InputError("Upload an image first.")
    if isinstance(image, Image.Image):
        check_image_size(image.width, image.height)
        return to_rgb(image)
    if isinstance(image, np.ndarray):
        return to_rgb(image_from_array(image))
    data = read_limited(image, MAX_IMAGE_BYTES, "image")
    if not data:
        raise InputError(f"The image file is empty; {_IMAGE_HINT}.")
    try:
        picture = Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InputError(f"The file could not be read as an image; {_IMAGE_HINT}.") from error
    except Image.DecompressionBombError as error:  # only when the header is wildly beyond the limit
        raise InputError(pixel_message()) from error
    check_image_size(picture.width, picture.height)  # from the header: nothing decoded yet
    try:
        picture.seek(0)  # the first frame of an animation
        picture.load()
        picture = ImageOps.exif_transpose(picture)
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise InputError(f"The image is damaged or incomplete; {_IMAGE_HINT}.") from error
    return to_rgb(picture)


def read_limited(source: str | os.PathLike | bytes, limit: int, what: str) -> bytes:
    """The bytes of a file or buffer, refusing anything over `limit` bytes before reading it."""
    if isinstance(source, bytes | bytearray):
        size = len(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"The {what} did not arrive; upload it again.")
        size = path.stat().st_size
    if size > limit:
        raise InputError(f"The {what} file is {megabytes(size)}; the limit is {megabytes(limit)}. "
                         f"Use a smaller or more compressed file.")
    return bytes(source) if isinstance(source, bytes | bytearray) else Path(source).read_bytes()


def pixel_message() -> str:
    """The refusal for images with too many pixels."""
    return (f"The image has more than {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels; resize it (e.g. to 4000 px on the "
            f"long side) and upload it again.")


def check_image_size(width: int, height: int) -> None:
    """Refuse too many pixels, too small sides and extreme aspect ratios."""
    if width * height > MAX_IMAGE_PIXELS:
        raise InputError(pixel_message())
    if min(width, height) < MIN_IMAGE_SIDE:
        raise InputError(f"The image is {width}x{height} pixels; use one at least {MIN_IMAGE_SIDE} pixels on "
                         f"each side.")
    if max(width, height) / min(width, height) > MAX_IMAGE_ASPECT:
        raise InputError(f"The image is {width}x{height} pixels, too long and thin; crop it to at most "
                         f"{MAX_IMAGE_ASPECT:g}:1.")


def image_from_array(array: np.ndarray) -> Image.Image:
    """An image from an (H, W), (H, W, 3) or (H, W, 4) array, uint8 or float in [0, 1]."""
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise InputError("The image array must have shape (height, width) or (height, width, 3 or 4).")
    check_image_size(array.shape[1], array.shape[0])
    if array.dtype != np.uint8:
        array = (np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0) * 255).round().astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    return Image.fromarray(array)


def to_rgb(picture: Image.Image) -> Image.Image:
    """The image in RGB: 16-bit and float greys scaled to 8 bits, transparency composited on white."""
    if picture.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(picture, dtype=np.float32)
        top = 65535.0 if picture.mode.startswith("I") and values.max() > 255 else 255.0
        if picture.mode == "F":
            top = max(float(values.max()), 1.0)
        grey = np.clip(values / top * 255.0, 0, 255).round().astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if picture.mode == "P" and "transparency" in picture.info:
        picture = picture.convert("RGBA")
    if picture.mode in ("RGBA", "LA", "PA"):
        rgba = picture.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return picture.convert("RGB")


# --- documents ------------------------------------------------------------------------------------------------

_DOCUMENT_HINT = "upload a PDF or a page image (PNG, JPEG, TIFF)"
POINTS_PER_INCH = 72  # PDF page sizes are in points
# pdfium is not thread-safe: one document is opened, counted and rendered at a time, process-wide.
_PDFIUM_LOCK = threading.Lock()


@dataclass
class Document:
    """The first pages of a document as RGB images, and how many pages the file has."""

    pages: list[Image.Image]
    page_count: int  # pages in the file (1 for an image); may exceed len(pages)


def load_document(document: ImageInput | None, max_pages: int) -> Document:
    """A PDF's first `max_pages` pages rendered, or an image as one page, after the size and page-count checks."""
    if document is None:
        raise InputError(f"Upload a document first: {_DOCUMENT_HINT}.")
    if isinstance(document, Image.Image | np.ndarray):
        return Document(pages=[load_image(document)], page_count=1)
    data = read_limited(document, MAX_DOCUMENT_BYTES, "document")
    if not data:
        raise InputError(f"The document file is empty; {_DOCUMENT_HINT}.")
    if b"%PDF-" in data[:1024]:  # the PDF header may follow a little junk; readers look in the first 1 KB
        return render_pdf(data, max_pages)
    try:
        Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS))  # the header only, to tell "not a document"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InputError(f"The file is neither a PDF nor an image; {_DOCUMENT_HINT}.") from error
    except Image.DecompressionBombError as error:
        raise InputError(pixel_message()) from error
    return Document(pages=[load_image(data)], page_count=1)


def render_pdf(data: bytes, max_pages: int) -> Document:
    """The first `max_pages` pages of a PDF as images; the page count is checked before any page is rendered."""
    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            raise InputError("The PDF could not be opened: it is damaged, or protected by a password. Save it again "
                             "without a password (or as page images) and upload that.") from error
        try:
            count = len(pdf)  # from the document's page tree; no page is parsed
            if count == 0:
                raise InputError(f"The PDF has no pages; {_DOCUMENT_HINT}.")
            if count > MAX_PDF_PAGES:
                raise InputError(f"The PDF has {count:,} pages; the limit is {MAX_PDF_PAGES:,}. Save the pages you "
                                 "want to ask about as a shorter PDF and upload that.")
            pages = [render_page(pdf[index]) for index in range(min(count, max_pages))]
        except pdfium.PdfiumError as error:
            raise InputError("A page of the PDF could not be rendered: the file is damaged. Save it again (or as "
                             "page images) and upload that.") from error
        finally:
            pdf.close()
    return Document(pages=pages, page_count=count)


def render_scale(width_pt: float, height_pt: float) -> float:
    """Pixels per point: PDF_RENDER_DPI, lowered where needed so the page stays under MAX_IMAGE_PIXELS."""
    if not (width_pt > 0 and height_pt > 0):
        raise InputError("A page of the PDF has no size; the file is damaged. Save it again and upload that.")
    scale = PDF_RENDER_DPI / POINTS_PER_INCH
    if width_pt * height_pt * scale**2 > MAX_IMAGE_PIXELS:
        scale = math.sqrt(MAX_IMAGE_PIXELS / (width_pt * height_pt)) * 0.999  # rounding must not tip it over
    return scale


def render_page(page: pdfium.PdfPage) -> Image.Image:
    """One PDF page as an RGB image on white, at the bounded scale, after the side and aspect checks."""
    width_pt, height_pt = page.get_size()
    scale = render_scale(width_pt, height_pt)
    check_image_size(max(1, round(width_pt * scale)), max(1, round(height_pt * scale)))
    bitmap = page.render(scale=scale)  # white background; the page's /Rotate applied
    try:
        return bitmap.to_pil().convert("RGB")
    finally:
        bitmap.close()
        page.close()


# --- audio ----------------------------------------------------------------------------------------------------


def load_audio(audio: Any, sampling_rate: int) -> np.ndarray:
    """Mono float32 samples at `sampling_rate` Hz from a file path or a (rate, samples) pair."""
    if audio is None:
        raise InputError("Record or upload some audio first.")
    if isinstance(audio, tuple | list) and len(audio) == 2:
        rate, samples = audio
        return audio_from_array(int(rate), np.asarray(samples), sampling_rate)
    return audio_from_file(audio, sampling_rate)


def audio_from_array(rate: int, samples: np.ndarray, sampling_rate: int) -> np.ndarray:
    """Mono float32 at `sampling_rate` from integer or float samples shaped (n,) or (n, channels)."""
    if rate <= 0 or samples.ndim not in (1, 2) or samples.size == 0:
        raise InputError("The audio is empty or malformed; record or upload it again.")
    check_duration(samples.shape[0] / rate)
    if np.issubdtype(samples.dtype, np.integer):
        info = np.iinfo(samples.dtype)
        scale = max(abs(info.min), info.max)
        offset = 0 if info.min < 0 else (info.max + 1) / 2  # unsigned 8-bit audio is centred on 128
        samples = (samples.astype(np.float32) - offset) / scale
    samples = samples.astype(np.float32)
    if not np.isfinite(samples).all():
        raise InputError("The audio contains invalid samples (NaN or infinity); record or upload it again.")
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    if rate != sampling_rate:
        mono = soxr.resample(mono, rate, sampling_rate)
    return np.ascontiguousarray(mono, dtype=np.float32)


def audio_from_file(source: str | os.PathLike | bytes, sampling_rate: int) -> np.ndarray:
    """Decode an audio file block by block into mono float32 at `sampling_rate`, after the header checks."""
    data = read_limited(source, MAX_AUDIO_BYTES, "audio")
    if not data:
        raise InputError(f"The audio file is empty; upload a {AUDIO_FORMATS} file.")
    try:
        info = soundfile.info(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        raise InputError(f"The file could not be read as audio; upload a {AUDIO_FORMATS} file.") from error
    if info.samplerate <= 0 or info.channels <= 0:
        raise InputError(f"The audio file is malformed; upload a {AUDIO_FORMATS} file.")
    check_duration(info.frames / info.samplerate)  # from the header, before decoding
    resampler = soxr.ResampleStream(info.samplerate, sampling_rate, 1, dtype="float32")
    pieces: list[np.ndarray] = []
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as file:
            for block in file.blocks(blocksize=AUDIO_BLOCK_FRAMES, dtype="float32", always_2d=True):
                pieces.append(resampler.resample_chunk(block.mean(axis=1)))
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as error:
        raise InputError(f"The audio file is damaged; upload a {AUDIO_FORMATS} file.") from error
    pieces.append(resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    samples = np.concatenate(pieces).astype(np.float32)
    if len(samples) < MIN_AUDIO_SECONDS * sampling_rate:  # a header that promised more than the file holds
        raise InputError(f"The audio holds less than {MIN_AUDIO_SECONDS:g} s of sound; record or upload a longer "
                         "clip.")
    if not np.isfinite(samples).all():
        raise InputError("The audio contains invalid samples; record or upload it again.")
    return samples


def check_duration(seconds: float) -> None:
    """Refuse audio shorter than MIN_AUDIO_SECONDS or longer than MAX_AUDIO_SECONDS."""
    if seconds > MAX_AUDIO_SECONDS:
        raise InputError(f"The audio is {seconds / 60:.1f} minutes long; the limit is "
                         f"{MAX_AUDIO_SECONDS / 60:g} minutes. Cut it into shorter parts.")
    if seconds < MIN_AUDIO_SECONDS:
        raise InputError(f"The audio is {seconds:.2f} s long; record or upload at least {MIN_AUDIO_SECONDS:g} s.")


# --- text -----------------------------------------------------------------------------------------------------


def strip_controls(text: str) -> str:
    """The text without NUL and other control or format characters, except newlines and tabs; NFC normalised."""
    text = unicodedata.normalize("NFC", text)
    kept = (char for char in text if char in _CONTROL_KEEP or unicodedata.category(char) != "Cc")
    return "".join(kept)


def clean_text(text: str | None, *, max_chars: int, what: str = "text") -> str:
    """Stripped text without control characters, refused when empty or longer than `max_chars`."""
    cleaned = strip_controls(text or "").strip()
    if not cleaned:
        raise InputError(f"Enter some {what}.")
    if len(cleaned) > max_chars:
        raise InputError(f"The {what} is {len(cleaned):,} characters long; the limit is {max_chars:,}. "
                         "Shorten it or split it into parts.")
    return cleaned


def split_items(items: str | Sequence[str] | None, *, what: str = "labels") -> list[str]:
    """Labels or queries from a list or comma/newline separated text: cleaned, de-duplicated, 1..MAX_ITEMS."""
    if isinstance(items, str):
        items = items.replace("\n", ",").split(",")
    seen: set[str] = set()
    result: list[str] = []
    for item in items or []:
        cleaned = " ".join(strip_controls(str(item)).split())
        if cleaned and cleaned.casefold() not in seen:
            seen.add(cleaned.casefold())
            result.append(cleaned)
    if not result:
        raise InputError(f"Enter at least one of the {what}, separated by commas.")
    if len(result) > MAX_ITEMS:
        raise InputError(f"There are {len(result)} {what}; the limit is {MAX_ITEMS}. Remove some.")
    too_long = [item for item in result if len(item) > MAX_ITEM_CHARS]
    if too_long:
        raise InputError(f"Each of the {what} may have at most {MAX_ITEM_CHARS} characters; shorten the long ones.")
    return result
