"""Optical character recognition with Tesseract (through pytesseract): a page image -> words and their boxes.

The `tesseract` program is a system package (Debian: tesseract-ocr; on Spaces it is listed in packages.txt).
When it is missing, the request gets a message naming the package, and Donut, which needs no OCR, still works.
"""

from dataclasses import dataclass

import pytesseract
from PIL import Image

from backend.errors import InputError, ModelUnavailableError
from backend.limits import OCR_TIMEOUT_SECONDS

OCR_LANGUAGE = "eng"  # Tesseract's language data; Debian's tesseract-ocr package ships English
TESSERACT_MISSING = ("Tesseract OCR is not installed on this server, and LayoutLM needs it to read the page. "
                     "Install the tesseract-ocr package (apt-get install tesseract-ocr; on Spaces, list it in "
                     "packages.txt), or choose Donut, which reads pages without OCR.")


@dataclass(frozen=True)
class Word:
    """One word Tesseract read, with its box in page-image pixels."""

    text: str
    box: tuple[int, int, int, int]  # xmin, ymin, xmax, ymax


def read_words(page: Image.Image) -> list[Word]:
    """The words on a page in Tesseract's reading order (blocks, lines, words); empty when it finds no text."""
    try:
        data = pytesseract.image_to_data(page, lang=OCR_LANGUAGE, output_type=pytesseract.Output.DICT,
                                         timeout=OCR_TIMEOUT_SECONDS)
    except pytesseract.TesseractNotFoundError as error:
        raise ModelUnavailableError(TESSERACT_MISSING) from error
    except RuntimeError as error:  # pytesseract kills tesseract at the timeout and raises a plain RuntimeError
        if "timeout" not in str(error).lower():
            raise
        raise InputError(f"Reading the page's text took longer than {OCR_TIMEOUT_SECONDS:g} s. Upload a smaller "
                         "scan (about 200 dots per inch is enough) or fewer pages.") from error
    words = []
    for text, left, top, width, height in zip(data["text"], data["left"], data["top"], data["width"],
                                              data["height"], strict=True):
        if text.strip():  # Tesseract also reports blocks, paragraphs and lines, with empty text
            words.append(Word(text=text.strip(), box=(left, top, left + width, top + height)))
    return words


def normalized_box(box: tuple[int, int, int, int], width: int, height: int) -> list[int]:
    """A pixel box on a width x height page in LayoutLM's 0-1000 coordinates (as the transformers pipeline does)."""
    xmin, ymin, xmax, ymax = box
    scaled = [1000 * xmin / width, 1000 * ymin / height, 1000 * xmax / width, 1000 * ymax / height]
    return [min(max(int(value), 0), 1000) for value in scaled]
