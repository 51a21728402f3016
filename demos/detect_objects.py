"""Object detection tab: boxes for the COCO classes, or for whatever your text queries describe."""

from typing import Any

import gradio as gr

from backend import detect_objects as task
from backend import inputs
from backend.catalog import default_model, find_model, models_for
from demos.common import (
    ASSETS,
    MODEL_CONCURRENCY,
    MODEL_QUEUE,
    ImageUpload,
    model_dropdown,
    model_handler,
    model_notes,
    show_loading,
    user_errors,
)

TASK = "detect_objects"
DEFAULT_MODEL = default_model(TASK).id
OPEN_VOCABULARY_MODEL = next(spec.id for spec in models_for(TASK) if spec.open_vocabulary)
# The model runs once at this score floor; moving the slider above it re-filters without running the model again.
SCORE_FLOOR = 0.05
# gr.AnnotatedImage encodes and sends one full-size PNG mask per box: a low threshold on a busy image gave 539
# boxes (bench/, random OWL-ViT), seconds of encoding and hundreds of downloads for an unreadable picture.
MAX_DRAWN_BOXES = 50
TABLE_HEADERS = ["label", "score", "xmin", "ymin", "xmax", "ymax"]
EXAMPLES = [
    [str(ASSETS / "images" / "astronaut.jpg"), ""],
    [str(ASSETS / "images" / "rocket.jpg"), ""],
    [str(ASSETS / "images" / "chelsea.jpg"), "a cat's ear, a cat's eye, a nose"],
    [str(ASSETS / "images" / "coffee.jpg"), "a spoon, a saucer, coffee"],
]


def default_threshold(model_id: str | None) -> float:
    """The score threshold that suits a model's scores (DETR is confident, OWL scores are low)."""
    spec = find_model(model_id or "") or default_model(TASK)
    return task.DEFAULT_THRESHOLD[spec.family]


def shown(detections: list[dict[str, Any]], threshold: float) -> list[dict[str, Any]]:
    """The detections at or above the threshold."""
    return [item for item in detections if item["score"] >= threshold]


def render(picture: Any, detections: list[dict[str, Any]]) -> tuple[Any, list[list[Any]]]:
    """The annotated image value and the table rows for some detections."""
    # Detections come highest score first; only the first MAX_DRAWN_BOXES are drawn (the table and JSON keep all).
    boxes = [(tuple(item["box"]), f"{item['label']} {item['score']:.0%}") for item in detections[:MAX_DRAWN_BOXES]]
    rows = [[item["label"], round(item["score"], 3), *item["box"]] for item in detections]
    return (picture, boxes), rows


@model_handler
def detect_objects(
    image: Any,
    queries: str = "",
    model: str = DEFAULT_MODEL,
    threshold: float = default_threshold(DEFAULT_MODEL),
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[Any, list[list[Any]], dict[str, Any], dict[str, Any]]:
    """Find objects in an image and their boxes: with empty queries the 80 COCO classes (DETR), with text queries
    whatever they describe (open-vocabulary OWL-ViT / OWLv2). Boxes are in pixels of the input image. A local file
    is sent by POSTing it to <app>/gradio_api/upload and passing <app>/gradio_api/file=<returned path>.

    Args:
        image: The image (JPEG, PNG, WebP, GIF, BMP, TIFF) as a URL: this app's file URL, a data: URI or an http(s) URL.
        queries: What to look for, comma separated, e.g. "a cat's ear, a red car"; empty for the COCO classes.
        model: Catalog id of the detector (see the catalog://models resource); text queries need an OWL model.
        threshold: Lowest score a box may have, 0 to 1; DETR scores are high (0.5 suits), OWL scores low (0.1).

    Returns:
        JSON {"model", "detections": [{"label", "score", "box": [xmin, ymin, xmax, ymax]}...]}, best first.
    """
    if image is None:
        raise gr.Error("Upload an image, take one with the webcam, or pick an example below.")
    threshold = task.check_threshold(threshold)
    show_loading(model, TASK, progress)
    picture = inputs.load_image(image)
    run = task.detect_objects(picture, queries, model=model, threshold=min(threshold, SCORE_FLOOR)).to_json()
    result = {**run, "detections": shown(run["detections"], threshold)}
    annotated, rows = render(picture, result["detections"])
    return annotated, rows, {"image": image, **run}, result


@user_errors
def refilter(last_run: dict[str, Any] | None, threshold: float) -> tuple[Any, list[list[Any]], dict[str, Any]]:
    """Show the last run's detections at a new threshold, without running the model."""
    if not last_run:
        return gr.skip(), gr.skip(), gr.skip()
    result = {"model": last_run["model"], "detections": shown(last_run["detections"], threshold)}
    annotated, rows = render(inputs.load_image(last_run["image"]), result["detections"])
    return annotated, rows, result


def follow_queries(queries: str, model: str) -> Any:
    """Switch to an open-vocabulary model when queries are typed, and back to DETR when they are cleared."""
    spec = find_model(model) or default_model(TASK)
    if queries.strip() and not spec.open_vocabulary:
        return gr.update(value=OPEN_VOCABULARY_MODEL)
    if not queries.strip() and spec.open_vocabulary:
        return gr.update(value=DEFAULT_MODEL)
    return gr.skip()


with gr.Blocks() as demo:
    gr.Markdown("Leave the queries empty to find the 80 everyday COCO classes, or describe what to look for.")
    with gr.Row():
        with gr.Column():
            image = ImageUpload(label="Image", type="filepath", sources=["upload", "webcam", "clipboard"])
            queries = gr.Textbox(label="Text queries (optional)", value="",
                                 placeholder="a red car, a person on a bike (empty: COCO classes)")
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_MODEL))
            threshold = gr.Slider(0.0, 1.0, value=default_threshold(DEFAULT_MODEL), step=0.01,
                                  label="Score threshold (moving it re-filters the last result)")
            run = gr.Button("Detect", variant="primary")
        with gr.Column():
            annotated = gr.AnnotatedImage(label="Detections")
            table = gr.Dataframe(headers=TABLE_HEADERS, label="Boxes (pixels)", interactive=False)
            result = gr.JSON(label="Result (JSON)", open=False)
    last_run = gr.State(None)
    gr.Examples(examples=EXAMPLES, inputs=[image, queries])

    gr.on(
        triggers=[run.click, queries.submit],
        fn=detect_objects,
        inputs=[image, queries, model, threshold],
        outputs=[annotated, table, last_run, result],
        api_name="detect_objects",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )
    threshold.release(refilter, inputs=[last_run, threshold], outputs=[annotated, table, result],
                      api_visibility="private")
    queries.change(follow_queries, inputs=[queries, model], outputs=model, api_visibility="private", queue=False)
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)
    model.change(default_threshold, inputs=model, outputs=threshold, api_visibility="private", queue=False)

if __name__ == "__main__":
    demo.launch()
