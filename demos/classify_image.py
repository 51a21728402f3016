"""Image classification tab: an image and your own labels -> ranked scores (zero-shot), or no labels -> the top 5
of the 1,000 ImageNet classes (ViT)."""

from typing import Any

import gradio as gr

from backend.catalog import default_model, find_model, models_for
from backend.tasks import classify_image as task
from demos.common import (
    ASSETS,
    MODEL_CONCURRENCY,
    MODEL_QUEUE,
    ImageUpload,
    model_dropdown,
    model_handler,
    model_notes,
    show_loading,
)

TASK = "classify_image"
DEFAULT_MODEL = default_model(TASK).id
CLOSED_SET_MODEL = next(spec.id for spec in models_for(TASK) if task.is_closed_set(spec))
EXAMPLES = [
    [str(ASSETS / "images" / "chelsea.jpg"), "cat, dog, tiger, a stuffed animal"],
    [str(ASSETS / "images" / "coffee.jpg"), ""],  # empty labels: the ImageNet classes
    [str(ASSETS / "images" / "astronaut.jpg"), "astronaut, pilot, doctor, chef, flag"],
    [str(ASSETS / "images" / "coffee.jpg"), "coffee, tea, soup, a cup of hot chocolate"],
    [str(ASSETS / "images" / "chelsea.jpg"), "猫, 狗, 老虎"],
]


@model_handler
def classify_image(
    image: Any,
    labels: str = "",
    model: str = DEFAULT_MODEL,
    template: str = task.DEFAULT_TEMPLATE,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[dict[str, float], dict[str, Any]]:
    """Classify an image: rank your own labels (zero-shot), or leave labels empty for the 1,000 ImageNet classes.

    With labels, a zero-shot model (CLIP, ALIGN, AltCLIP) scores exactly those labels; the scores sum to 1. With
    empty labels, the ImageNet-1k classifier google/vit-base-patch16-224 returns its 5 most probable classes,
    whichever zero-shot model is named; naming that classifier together with labels is an error. A local file is
    sent by POSTing it to <app>/gradio_api/upload and passing <app>/gradio_api/file=<returned path>.

    Args:
        image: The image (JPEG, PNG, WebP, GIF, BMP, TIFF) as a URL: this app's file URL, a data: URI or an http(s) URL.
        labels: Labels separated by commas or newlines, e.g. "cat, dog, car" (at most 50); "" for ImageNet classes.
        model: Catalog id (see the catalog://models resource); default openai/clip-vit-large-patch14.
        template: The zero-shot prompt, {} where each label goes (default "a photo of {}."); unused without labels.

    Returns:
        JSON {"model", "labels": [{"label", "score"}...]} sorted by score, highest first.
    """
    if image is None:
        raise gr.Error("Upload an image, take one with the webcam, or pick an example below.")
    labels = labels or ""  # an API call may send null
    show_loading(model if labels.strip() else CLOSED_SET_MODEL, TASK, progress)
    result = task.classify_image(image, labels, model=model, template=template).to_json()
    return {item["label"]: item["score"] for item in result["labels"]}, result


def follow_labels(labels: str, model: str) -> Any:
    """Switch to the ImageNet classifier when the labels are cleared, and back to a zero-shot model when typed."""
    spec = find_model(model) or default_model(TASK)
    labels = labels or ""
    if labels.strip() and task.is_closed_set(spec):
        return gr.update(value=DEFAULT_MODEL)
    if not labels.strip() and not task.is_closed_set(spec):
        return gr.update(value=CLOSED_SET_MODEL)
    return gr.skip()


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("Type your own labels to choose from (zero-shot: the model has never seen them as classes), or leave "
                "them empty for the 1,000 ImageNet classes.")
    with gr.Row():
        with gr.Column():
            image = ImageUpload(label="Image", type="filepath", sources=["upload", "webcam", "clipboard"])
            labels = gr.Textbox(label="Labels", value="", lines=2, max_lines=10,
                                placeholder="cat, dog, car (comma or newline); empty: the 1,000 ImageNet classes")
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_MODEL))
            with gr.Accordion("Advanced", open=False):
                template = gr.Textbox(label="Prompt template ({} is replaced by each label)",
                                      value=task.DEFAULT_TEMPLATE)
            run = gr.Button("Classify", variant="primary")
        with gr.Column():
            scores = gr.Label(label="Scores", num_top_classes=10)
            result = gr.JSON(label="Result (JSON)", open=False)
    gr.Examples(examples=EXAMPLES, inputs=[image, labels])

    gr.on(
        triggers=[run.click, labels.submit],
        fn=classify_image,
        inputs=[image, labels, model, template],
        outputs=[scores, result],
        api_name="classify_image",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )
    labels.change(follow_labels, inputs=[labels, model], outputs=model, api_visibility="private", queue=False)
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
