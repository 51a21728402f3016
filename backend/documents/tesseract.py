"""Tesseract OCR (the `tesseract` program, through pytesseract): a page image -> words and their boxes.

The program is a system package (Debian: tesseract-ocr; on Spaces it is listed in packages.txt). Without it the
app reads pages with RapidOCR instead (backend/documents/rapidocr.py).
"""

import shutil

import pytesseract
from PIL import Image

from backend.documents.words import Word
from backend.errors import InputError, ModelUnavailableError
from backend.limits import OCR_TIMEOUT_SECONDS

NAME = "tesseract"
LANGUAGE = "eng"  # Tesseract's language data; Debian's tesseract-ocr package ships English
MISSING = ("Tesseract OCR is not installed on this server. Install the tesseract-ocr package (apt-get install "
           "tesseract-ocr; on Spaces, list it in packages.txt), or set APP_OCR=auto to read pages with RapidOCR.")


def program() -> str | None:
    """The path of the tesseract program pytesseract would run, or None when there is none."""
    return shutil.which(pytesseract.pytesseract.tesseract_cmd)


def read_words(page: Image.Image) -> list[Word]:
    """The words on a page in Tesseract's reading order (blocks, lines, words); empty when it finds no text."""
    try:
        data = pytesseract.image_to_data(page, lang=LANGUAGE, output_type=pytesseract.Output.DICT,
                                         timeout=OCR_TIMEOUT_SECONDS)
    except pytesseract.TesseractNotFoundError as error:
        raise ModelUnavailableError(MISSING) from error
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
