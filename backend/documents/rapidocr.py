"""RapidOCR: PP-OCR text detection and recognition on ONNX Runtime, with the models inside its wheel.

The OCR that needs no system program: `pip install -r requirements.txt` brings it, its models and OpenCV's headless
build. Lines are detected, recognised, and split into words with a box each (`return_word_box`). On a CPU it takes
a few times longer than Tesseract per page; its recognition model was trained on Chinese and English text.
"""

import threading
from typing import Any

import numpy as np
from PIL import Image

from backend import compute
from backend.documents.words import Word

NAME = "rapidocr"
_engine: Any = None
_lock = threading.Lock()  # one page at a time: the engine keeps per-call settings as state, and uses every core


def engine() -> Any:
    """The RapidOCR engine, made on first use (a couple of seconds: OpenCV, ONNX Runtime and three models)."""
    global _engine
    if _engine is None:
        from rapidocr import RapidOCR  # imported here: the app starts without paying for OpenCV

        _engine = RapidOCR(params={
            "Global.log_level": "error",  # not a warning per blank page
            # Pages are upright: the 180-degree line classifier would cost time and change nothing.
            "Global.use_cls": False,
            "EngineConfig.onnxruntime.intra_op_num_threads": compute.torch_threads(),
        })
    return _engine


def read_words(page: Image.Image) -> list[Word]:
    """The words on a page, line by line from the top (RapidOCR's reading order); empty when it finds no text."""
    with _lock:
        result = engine()(page.convert("RGB"), return_word_box=True)
    if result.boxes is None:  # no text line detected (word_results then holds one empty placeholder)
        return []
    words = []
    for line in result.word_results:  # per line: (text, score, corners) per word
        for text, _score, corners in line:
            if not text.strip():
                continue
            corners = np.asarray(corners, dtype=float)  # (4, 2): the word's quadrilateral, x then y
            xmin, ymin = np.floor(corners.min(axis=0)).astype(int)
            xmax, ymax = np.ceil(corners.max(axis=0)).astype(int)
            box = (max(int(xmin), 0), max(int(ymin), 0), min(int(xmax), page.width), min(int(ymax), page.height))
            words.append(Word(text=text.strip(), box=box))
    return words
