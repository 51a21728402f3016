"""A word an OCR engine read on a page, with its box: what LayoutLM answers from."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """One word on a page image, with its box in page-image pixels."""

    text: str
    box: tuple[int, int, int, int]  # xmin, ymin, xmax, ymax
