"""Zero-shot image classification tab: an image and your own labels -> ranked scores."""

from typing import Any

import gradio as gr

from backend import classify_image as task
from backend.catalog import default_model
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
EXAMPLES = [
    [str(ASSETS / "images" / "chelsea.jpg"), "cat, dog, tiger, a stuffed animal"],
    [str(ASSETS / "images" / "astronaut.jpg"), "astronaut, pilot, doctor, chef, flag"],
    [str(ASSETS / "images" / "coffee.jpg"), "coffee, tea, soup, a cup of hot chocolate"],
    [str(ASSETS / "images" / "chelsea.jpg"), "猫, 狗, 老虎"],
]


@model_handler
def classify_image(
    image: Any,
    labels: str,
    model: str = DEFAULT_MODEL,
    template: str = task.DEFAULT_TEMPLATE,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[dict[str, float], dict[str, Any]]:
    """Classify an image: score how well each of your labels describes it (zero-shot), or with no labels name it
    among the 1,000 ImageNet classes. Scores sum to 1 over the labels given. A local file is sent by POSTing it to
    <app>/gradio_api/upload and passing <app>/gradio_api/file=<returned path>.

    Args:
        image: The image (JPEG, PNG, WebP, GIF, BMP, TIFF) as a URL: this app's file URL, a data: URI or an http(s) URL.
        labels: Candidate labels, comma or newline separated, e.g. "cat, dog, a red car"; empty for ImageNet classes.
        model: Catalog id of the classifier (see the catalog://models resource); default the task's default model.
        template: Prompt each label is put into, "{}" standing for the label; default "a photo of {}.".

    Returns:
        JSON {"model", "labels": [{"label", "score"}...]} sorted by score, highest first.
    """
    if image is None:
        raise gr.Error("Upload an image, take one with the webcam, or pick an example below.")
    show_loading(model, TASK, progress)
    result = task.classify_image(image, labels, model=model, template=template).to_json()
    return {item["label"]: item["score"] for item in result["labels"]}, result


with gr.Blocks() as demo:
    gr.Markdown("Upload a picture and type the labels to choose from; the model has never seen them as classes.")
    with gr.Row():
        with gr.Column():
            image = ImageUpload(label="Image", type="filepath", sources=["upload", "webcam", "clipboard"])
            labels = gr.Textbox(label="Labels", placeholder="cat, dog, car (comma or newline)",
                                lines=2, max_lines=10)
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
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":
    demo.launch()
