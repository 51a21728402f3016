"""Captioning tab: a sentence about an image, or the answer to a question about it (GIT)."""

from typing import Any

import gradio as gr

from backend.catalog import default_model, find_model, models_for
from backend.tasks import caption_image as task
from demos.common import (
    ASSETS,
    MODEL_CONCURRENCY,
    MODEL_QUEUE,
    ImageUpload,
    model_handler,
    model_notes,
    show_loading,
)

TASK = "caption_image"
# The menu's first entry and the API's default: no model named, so the backend picks the captioner or, for a
# question, the question-answering model.
AUTOMATIC = ""
CAPTION_MODEL = default_model(TASK)
QUESTION_MODEL = task.question_model()
AUTOMATIC_LABEL = f"Automatic: {CAPTION_MODEL.label}, or {QUESTION_MODEL.label} for a question"
EXAMPLES = [
    [str(ASSETS / "images" / "chelsea.jpg"), ""],
    [str(ASSETS / "images" / "astronaut.jpg"), ""],
    [str(ASSETS / "images" / "chelsea.jpg"), "what animal is this?"],
    [str(ASSETS / "images" / "coffee.jpg"), "what is in the cup?"],
    [str(ASSETS / "images" / "rocket.jpg"), "is it day or night?"],
]


@model_handler
def caption_image(
    image: Any,
    question: str = "",
    model: str = AUTOMATIC,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[str, dict[str, Any]]:
    """Describe an image in one English sentence, or answer a short question about it, with Microsoft's GIT models.

    Leave the question empty to get a caption; ask a question and the answer comes in a word or a few ("cat", "2",
    "yes"). Leave the model empty ("") to have it chosen: microsoft/git-base-coco captions, microsoft/git-base-vqav2
    answers questions. The other captioners are microsoft/git-large-coco (more accurate, slower) and the pre-trained
    microsoft/git-base; a captioner refuses a question and the VQA model needs one. Decoding is greedy: the same
    image and question give the same text. Questions and answers are in English.

    Args:
        image: The image to describe: a URL or file of a JPEG, PNG, WebP, GIF, BMP or TIFF picture.
        question: An English question about the image, e.g. "what color is the cat?"; empty for a caption.
        model: microsoft/git-base-coco, microsoft/git-large-coco, microsoft/git-base, microsoft/git-base-vqav2 or "".

    Returns:
        The caption or the answer as text, and the JSON result {"model", "question", "text"}.
    """
    if image is None:
        raise gr.Error("Upload an image, take one with the webcam, or pick an example below.")
    spec = task.pick_model(model, bool(task.clean_question(question)))
    show_loading(spec.id, TASK, progress)
    result = task.caption_image(image, question, model=model).to_json()
    return result["text"], result


def notes_for(model: str) -> str:
    """The notes under the menu: the chosen model's, or how the automatic choice works."""
    if not model:
        return "*A caption from the COCO captioner; type a question and the VQAv2 model answers it.*"
    return model_notes(model)


def follow_question(question: str, model: str) -> Any:
    """Switch a captioning model to the question-answering one when a question is typed, and back when cleared."""
    spec = find_model(model or "")
    if spec is None:  # automatic (or an unknown id, which the run reports)
        return gr.skip()
    if question.strip() and not spec.answers_questions:
        return gr.update(value=QUESTION_MODEL.id)
    if not question.strip() and spec.answers_questions:
        return gr.update(value=AUTOMATIC)
    return gr.skip()


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("Get a one-sentence caption of a picture, or type a question about it for a short answer.")
    with gr.Row():
        with gr.Column():
            image = ImageUpload(label="Image", type="filepath", sources=["upload", "webcam", "clipboard"])
            question = gr.Textbox(label="Question (optional)", value="",
                                  placeholder="what is the cat lying on? (empty: a caption)")
            choices = [(AUTOMATIC_LABEL, AUTOMATIC)] + [(spec.label, spec.id) for spec in models_for(TASK)]
            model = gr.Dropdown(choices=choices, value=AUTOMATIC, label="Model", allow_custom_value=True)
            notes = gr.Markdown(notes_for(AUTOMATIC))
            run = gr.Button("Caption", variant="primary")
        with gr.Column():
            text = gr.Textbox(label="Caption or answer", interactive=False, lines=2)
            result = gr.JSON(label="Result (JSON)", open=False)
    gr.Examples(examples=EXAMPLES, inputs=[image, question])

    gr.on(
        triggers=[run.click, question.submit],
        fn=caption_image,
        inputs=[image, question, model],
        outputs=[text, result],
        api_name="caption_image",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )
    question.change(follow_question, inputs=[question, model], outputs=model, api_visibility="private", queue=False)
    model.change(notes_for, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
