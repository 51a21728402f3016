"""Document questions tab: a page image or a PDF + a question -> the answer, marked on its page."""

from typing import Any

import gradio as gr

from backend.catalog import default_model
from backend.limits import DOCUMENT_PAGES_READ
from backend.tasks import answer_document as task
from demos.common import (
    ASSETS,
    MODEL_CONCURRENCY,
    MODEL_QUEUE,
    model_dropdown,
    model_handler,
    model_notes,
    show_loading,
)

TASK = "answer_document"
DEFAULT_MODEL = default_model(TASK).id
# What the answer line says about the OCR that read the page (the JSON's "ocr" field).
OCR_NOTES = {"tesseract": "Words read by Tesseract OCR.",
             "rapidocr": "Words read by RapidOCR (Tesseract is not installed on this server)."}
DOCUMENT_TYPES = [".pdf", ".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"]
EXAMPLES = [
    [str(ASSETS / "documents" / "invoice.png"), "What is the total?"],
    [str(ASSETS / "documents" / "invoice.pdf"), "What is the invoice number?"],
    [str(ASSETS / "documents" / "invoice.png"), "When is the payment due?"],
]


def describe(result: dict[str, Any]) -> str:
    """The answer in one line of Markdown: what, how sure, where, or the note when there is no answer; then the OCR."""
    read_by = f" *{OCR_NOTES[result['ocr']]}*" if result.get("ocr") in OCR_NOTES else ""
    if not result["answer"]:
        return (result["note"] or "No answer found.") + read_by
    where = f"page {result['page']} of {result['page_count']}" if result["page_count"] > 1 else "the page"
    text = f"**{result['answer']}** ({result['score']:.0%} sure, on {where})"
    return (f"{text}. {result['note']}" if result["note"] else text) + read_by


@model_handler
def answer_document(
    document: str | None,
    question: str,
    model: str = DEFAULT_MODEL,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[Any, str, dict[str, Any]]:
    """Answer a question about a scanned or digital document (an invoice, a form, a letter, a receipt).

    The default model, LayoutLM, reads the page's words with OCR (Tesseract where the server has it, else
    RapidOCR) and answers with a span of them, marking where it is on the page; Donut reads the page image itself
    (no OCR, no box). For a PDF, the first pages (3 unless the server sets APP_DOCUMENT_PAGES_READ) are each asked
    and the best answer wins.

    Args:
        document: The document, a PDF or a page image (PNG, JPEG, WebP, TIFF, BMP), at most 25 MB.
        question: A question in English about the document, e.g. "What is the total?" (at most 500 characters).
        model: "impira/layoutlm-document-qa" (default; OCR words and boxes) or
            "naver-clova-ix/donut-base-finetuned-docvqa" (OCR-free).

    Returns:
        The answer's page with the answer's box drawn (LayoutLM), the answer in words, and the JSON result
        {"model", "answer", "score" (0-1), "page" (1-based, or null), "box" ([xmin, ymin, xmax, ymax] in the
        page image's pixels, or null), "pages_read", "page_count", "note" (why there is no answer, or that later
        pages were not read), "ocr" ("tesseract" or "rapidocr": which OCR read the words; null for Donut)}.
    """
    if document is None:
        raise gr.Error("Upload a PDF or a page image, or pick an example below.")
    show_loading(model, TASK, progress)
    found = task.answer_document(document, question, model=model)
    result = found.to_json()
    boxes = [(tuple(found.box), found.answer)] if found.box else []
    return (found.image, boxes), describe(result), result


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown(f"Ask a question about an invoice, a form or a letter. PDFs: the first {DOCUMENT_PAGES_READ} pages "
                "are read.")
    with gr.Row():
        with gr.Column():
            document = gr.File(label="Document (PDF or page image)", file_types=DOCUMENT_TYPES, type="filepath")
            question = gr.Textbox(label="Question", placeholder="What is the total?")
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_MODEL))
            run = gr.Button("Answer", variant="primary")
        with gr.Column():
            answer = gr.Markdown(label="Answer")
            page = gr.AnnotatedImage(label="Where the answer is")
            result = gr.JSON(label="Result (JSON)", open=False)
    gr.Examples(examples=EXAMPLES, inputs=[document, question])

    gr.on(
        triggers=[run.click, question.submit],
        fn=answer_document,
        inputs=[document, question, model],
        outputs=[page, answer, result],
        api_name="answer_document",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
