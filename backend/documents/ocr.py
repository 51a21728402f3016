"""Optical character recognition for LayoutLM: a page image -> words and their boxes, by whichever engine is here.

Tesseract (backend/documents/tesseract.py) when the `tesseract` program is installed, else RapidOCR
(backend/documents/rapidocr.py), which comes with requirements.txt and its models. APP_OCR=tesseract or rapidocr
chooses one; auto (the default) prefers Tesseract: faster on a CPU, and the OCR that transformers'
document-question-answering pipeline runs for LayoutLM.
"""

import os

from PIL import Image

from backend.documents import rapidocr, tesseract
from backend.documents.words import Word
from backend.errors import ModelUnavailableError

__all__ = ["ENGINES", "Word", "engine", "normalized_box", "read_words"]

ENGINES = (tesseract.NAME, rapidocr.NAME)


def engine() -> str:
    """The OCR engine requests use now: APP_OCR if it names one, else Tesseract when installed, else RapidOCR."""
    chosen = os.environ.get("APP_OCR", "auto").strip().lower() or "auto"
    if chosen in ENGINES:
        return chosen
    if chosen != "auto":
        raise ModelUnavailableError(f"APP_OCR={chosen!r} is not an OCR engine here; use auto, "
                                    f"{' or '.join(ENGINES)}.")
    return tesseract.NAME if tesseract.program() else rapidocr.NAME


def read_words(page: Image.Image, name: str | None = None) -> list[Word]:
    """The words on a page in reading order, read by engine `name` (default: `engine()`); empty when none."""
    name = name or engine()
    if name == tesseract.NAME:
        return tesseract.read_words(page)
    return rapidocr.read_words(page)


def normalized_box(box: tuple[int, int, int, int], width: int, height: int) -> list[int]:
    """A pixel box on a width x height page in LayoutLM's 0-1000 coordinates (as the transformers pipeline does)."""
    xmin, ymin, xmax, ymax = box
    scaled = [1000 * xmin / width, 1000 * ymin / height, 1000 * xmax / width, 1000 * ymax / height]
    return [min(max(int(value), 0), 1000) for value in scaled]
