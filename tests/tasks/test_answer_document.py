"""Document question answering on every catalog model, both OCR engines for real, PDF limits, the pipeline's spans."""

import io
import json
import os
from pathlib import Path

import pypdfium2 as pdfium
import pytesseract
import pytest
from PIL import Image, ImageDraw, ImageFont

from backend import inputs, models
from backend.documents import ocr, rapidocr, tesseract
from backend.errors import InputError, ModelUnavailableError
from backend.limits import DOCUMENT_PAGES_READ, MAX_IMAGE_PIXELS, MAX_PDF_PAGES
from backend.tasks.answer_document import answer_document, answer_from_words, prefix_space_tokenizer
from tests.conftest import ids_for

ASSETS = Path(__file__).resolve().parents[2] / "assets"
INVOICE_PNG = ASSETS / "documents" / "invoice.png"
INVOICE_PDF = ASSETS / "documents" / "invoice.pdf"
LAYOUTLM = "impira/layoutlm-document-qa"
DONUT = "naver-clova-ix/donut-base-finetuned-docvqa"
# Words drawn at known places on a white page: (text, top-left corner in pixels).
KNOWN_WORDS = [("Invoice", (80, 60)), ("Total", (80, 200)), ("42.50", (420, 200)), ("Paid", (80, 340))]
# Tesseract is a system program: its tests skip on a machine without it, except in CI, where they must run.
needs_tesseract = pytest.mark.skipif(tesseract.program() is None and os.environ.get("CI") != "true",
                                     reason="no tesseract program (apt-get install tesseract-ocr; .ci/run does)")
# Words of the example invoice that both engines must read, each in one piece.
INVOICE_WORDS = ["INVOICE", "INV-2026-0417", "Northwind", "Total", "27.68", "166.08"]


def page_with_words(words: list[tuple[str, tuple[int, int]]], size: tuple[int, int] = (800, 480)) -> tuple[
        Image.Image, list[tuple[int, int, int, int]]]:
    """A white page with black words in Pillow's bundled font, and each word's ink box in pixels."""
    page = Image.new("L", size, 255)
    font = ImageFont.load_default(size=64)
    boxes = []
    for text, corner in words:
        ink = Image.new("L", size, 0)  # the word alone, white on black: its bounding box is where the ink is
        ImageDraw.Draw(ink).text(corner, text, font=font, fill=255)
        boxes.append(ink.getbbox())
        ImageDraw.Draw(page).text(corner, text, font=font, fill=0)
    return page.convert("RGB"), boxes


def pdf_of(pages: list[Image.Image]) -> bytes:
    """A PDF with one page per image (Pillow's writer, 100 DPI)."""
    buffer = io.BytesIO()
    pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=100)
    return buffer.getvalue()


def blank_pdf(pages: int, width_pt: float = 612, height_pt: float = 792) -> bytes:
    """A PDF of empty pages of a given size in points (pypdfium2's writer)."""
    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.new_page(width_pt, height_pt)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def check_invoice_answer(found, model_id: str, document: Path) -> dict:
    """The checks every model's answer about the invoice passes; its JSON."""
    result = found.to_json()
    json.dumps(result)
    assert result["model"] == model_id
    assert result["page_count"] == (2 if document.suffix == ".pdf" else 1)
    assert result["pages_read"] == result["page_count"]
    assert result["page"] in range(1, result["page_count"] + 1)
    assert 0.0 < result["score"] <= 1.0
    if model_id == DONUT:
        assert result["box"] is None and result["ocr"] is None
        return result
    # LayoutLM's answer is a span of the words the named OCR read, and its box lies on the page it names.
    xmin, ymin, xmax, ymax = result["box"]
    assert 0 <= xmin < xmax <= found.image.width and 0 <= ymin < ymax <= found.image.height
    words = ocr.read_words(found.image, result["ocr"])
    inside = [word.text for word in words if word.box[0] >= xmin and word.box[2] <= xmax
              and word.box[1] >= ymin and word.box[3] <= ymax]
    assert result["answer"] and set(result["answer"].split()) <= set(inside)
    return result


@pytest.mark.parametrize("document", [INVOICE_PNG, INVOICE_PDF], ids=["png", "pdf"])
@pytest.mark.parametrize("model_id", ids_for("answer_document"))
def test_every_model_answers_the_invoice(models_dir: Path, model_id: str, document: Path) -> None:
    result = check_invoice_answer(answer_document(document, "What is the total?", model=model_id), model_id, document)
    assert result["ocr"] == (None if model_id == DONUT else ocr.engine())  # Tesseract where installed


@pytest.mark.parametrize("engine", [pytest.param("tesseract", marks=needs_tesseract), "rapidocr"])
def test_layoutlm_answers_the_invoice_with_each_ocr(models_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                   engine: str) -> None:
    monkeypatch.setenv("APP_OCR", engine)
    result = check_invoice_answer(answer_document(INVOICE_PNG, "What is the total?", model=LAYOUTLM), LAYOUTLM,
                                  INVOICE_PNG)
    assert result["ocr"] == engine


@needs_tesseract
def test_tesseract_reads_known_words_with_their_boxes() -> None:
    page, drawn = page_with_words(KNOWN_WORDS)
    words = tesseract.read_words(page)
    assert [word.text for word in words] == [text for text, _ in KNOWN_WORDS]
    for word, box in zip(words, drawn, strict=True):
        # Tesseract's box is the ink's, within a fifth of the 64-pixel text size (it snaps words to their line).
        assert word.box == pytest.approx(box, abs=12)


def test_rapidocr_reads_known_words_with_their_boxes() -> None:
    page, drawn = page_with_words(KNOWN_WORDS)
    words = rapidocr.read_words(page)
    assert [word.text for word in words] == [text for text, _ in KNOWN_WORDS]
    for word, box in zip(words, drawn, strict=True):
        # RapidOCR's box is its text line's, cut at the word: within a quarter of the 64-pixel text size of the ink.
        assert word.box == pytest.approx(box, abs=16)


def test_both_engines_find_the_invoice_words_in_the_same_places() -> None:
    page = Image.open(INVOICE_PNG).convert("RGB")
    read = {name: {word.text: word.box for word in ocr.read_words(page, name)}
            for name in ocr.ENGINES if name != "tesseract" or tesseract.program()}
    for words in read.values():
        assert set(INVOICE_WORDS) <= set(words)
    if "tesseract" in read:  # the two engines agree on where each word is, within half a 40-pixel line
        for text in INVOICE_WORDS:
            assert read["rapidocr"][text] == pytest.approx(read["tesseract"][text], abs=20), text


def test_without_tesseract_layoutlm_reads_with_rapidocr(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    assert ocr.engine() == "rapidocr"
    result = answer_document(INVOICE_PNG, "What is the total?", model=LAYOUTLM).to_json()
    assert result["ocr"] == "rapidocr" and result["answer"]
    assert answer_document(INVOICE_PNG, "What is the total?", model=DONUT).to_json()["ocr"] is None  # no OCR


def test_tesseract_asked_for_but_missing_gets_our_message(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    monkeypatch.setenv("APP_OCR", "tesseract")
    with pytest.raises(ModelUnavailableError, match="Install the tesseract-ocr package"):
        answer_document(INVOICE_PNG, "What is the total?", model=LAYOUTLM)
    monkeypatch.setenv("APP_OCR", "easyocr")
    with pytest.raises(ModelUnavailableError, match="use auto, tesseract or rapidocr"):
        answer_document(INVOICE_PNG, "What is the total?", model=LAYOUTLM)


def test_a_page_without_text_gets_a_no_text_answer(models_dir: Path) -> None:
    result = answer_document(Image.new("RGB", (600, 800), "white"), "What is the total?", model=LAYOUTLM).to_json()
    assert result["answer"] == "" and result["box"] is None and result["page"] is None
    assert result["note"].startswith("No text found")


def test_the_page_with_the_words_is_the_answer_page(models_dir: Path, tmp_path: Path) -> None:
    text_page, _ = page_with_words(KNOWN_WORDS)
    path = tmp_path / "two.pdf"
    path.write_bytes(pdf_of([Image.new("RGB", text_page.size, "white"), text_page]))
    result = answer_document(path, "What is the total?", model=LAYOUTLM).to_json()
    assert result["page"] == 2 and result["page_count"] == 2 and result["answer"]


def test_only_the_first_pages_are_read(models_dir: Path) -> None:
    pages = DOCUMENT_PAGES_READ + 2
    result = answer_document(blank_pdf(pages), "What is the total?", model=DONUT).to_json()
    assert result["pages_read"] == DOCUMENT_PAGES_READ and result["page_count"] == pages
    assert f"Only the first {DOCUMENT_PAGES_READ} of {pages} pages were read." in result["note"]


def test_layoutlm_span_matches_the_pipeline(models_dir: Path) -> None:
    """Our windows and span scores against transformers' document-question-answering pipeline, same words/boxes."""
    from transformers import pipeline

    loaded = models.get(LAYOUTLM)
    tokenizer = prefix_space_tokenizer(loaded)
    # 120 words on a 1000 x 1000 pixel page (so pixel boxes are the normalized boxes): several 128-token windows.
    vocabulary = ["invoice", "total", "due", "12.50", "paid", "date", "May", "acme", "ltd", "tax", "net", "GBP"]
    words = [ocr.Word(vocabulary[index % len(vocabulary)], (8 * (index % 12) * 10, 8 * (index // 12) * 10,
                                                           8 * (index % 12) * 10 + 60, 8 * (index // 12) * 10 + 30))
             for index in range(120)]
    reference = pipeline("document-question-answering", model=loaded.model, tokenizer=tokenizer)
    expected = reference(image=Image.new("RGB", (1000, 1000), "white"), question="What is the total due?",
                         word_boxes=[(word.text, list(word.box)) for word in words])[0]
    ours = answer_from_words(loaded, "What is the total due?", words, (1000, 1000))
    assert ours.answer == expected["answer"]
    assert ours.score == pytest.approx(expected["score"], rel=1e-4)
    answer_words = words[expected["start"]:expected["end"] + 1]
    assert ours.box == [min(word.box[0] for word in answer_words), min(word.box[1] for word in answer_words),
                        max(word.box[2] for word in answer_words), max(word.box[3] for word in answer_words)]
    assert len(tokenizer(["What"], [word.text for word in words], is_split_into_words=True)["input_ids"]) > 128


def test_each_ocr_word_is_tokenized_as_a_new_word(models_dir: Path) -> None:
    loaded = models.get(LAYOUTLM)
    shipped = loaded.processor  # like impira's tokenizer: add_prefix_space off
    ours = prefix_space_tokenizer(loaded)
    text = ours.convert_ids_to_tokens(ours(["Total", "due"], is_split_into_words=True)["input_ids"])
    assert text.count("Ġ") == 2  # byte-level BPE's space marker before each word (one token per byte here)
    assert "Ġ" not in shipped.convert_ids_to_tokens(shipped(["Total", "due"], is_split_into_words=True)["input_ids"])


def test_a_huge_pdf_page_is_rendered_under_the_pixel_limit() -> None:
    document = inputs.load_document(blank_pdf(1, width_pt=14_400, height_pt=14_400), max_pages=1)  # 200 x 200 in
    page = document.pages[0]
    assert page.width * page.height <= MAX_IMAGE_PIXELS and page.width > 1000


@pytest.mark.parametrize(("make", "message"), [
    (lambda: blank_pdf(10_000), f"The PDF has 10,000 pages; the limit is {MAX_PDF_PAGES:,}."),
    (lambda: blank_pdf(3)[:400], "The PDF could not be opened"),
    (lambda: b"%PDF-1.7\n" + bytes(range(256)) * 40, "The PDF could not be opened"),
    (lambda: blank_pdf(1, width_pt=5, height_pt=5), "at least 16 pixels"),
    (lambda: b"just some text, not a document" * 20, "neither a PDF nor an image"),
    (lambda: b"", "empty"),
])
def test_bad_documents_are_refused_with_a_message(models_dir: Path, make, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        answer_document(make(), "What is the total?", model=DONUT)


@pytest.mark.parametrize(("question", "message"), [("", "Enter some question"), ("why? " * 200, "the limit is 300")])
def test_bad_questions_are_refused(models_dir: Path, question: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        answer_document(INVOICE_PNG, question)
