"""Object detection tab: boxes for the COCO classes, for whatever your text queries describe, or for things like an
example (a query image, or a box clicked on the image)."""

import zlib
from typing import Any

import gradio as gr
from PIL import Image, ImageDraw, ImageFont

from backend import inputs
from backend.catalog import default_model, find_model, models_for
from backend.tasks import detect_objects as task
from backend.tasks.segment_image import palette
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
# Boxes are drawn into one JPEG (gr.AnnotatedImage would encode and send one full-size PNG mask per box: 0.5 s of
# encoding and 50 downloads for OWL-ViT's 50 boxes, more than its forward pass). A low threshold on a busy image
# gave 539 boxes (bench/, random OWL-ViT): only the best MAX_DRAWN_BOXES are drawn, the table and JSON keep all.
MAX_DRAWN_BOXES = 50
COLOURS = palette(32)  # box colours, one per label (by a hash of its text, so a label keeps its colour)
TABLE_HEADERS = ["label", "score", "xmin", "ymin", "xmax", "ymax"]
TABLE_LABELS = {"confidence": "Boxes (pixels; select a row to show its box alone)",
                "similarity": "Boxes by example: score = similarity to the best match (always 1.0), not a "
                              "probability (select a row to show its box alone)"}
QUERY_BOX_COLOUR = (255, 255, 255)
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


def label_colour(label: str) -> tuple[int, int, int]:
    """The RGB colour of a label's boxes."""
    return tuple(int(channel) for channel in COLOURS[zlib.crc32(label.encode()) % len(COLOURS)])


def draw_boxes(picture: Image.Image, detections: list[dict[str, Any]], highlight: int | None = None) -> Image.Image:
    """A copy of the picture with the first MAX_DRAWN_BOXES detections drawn (outline and "label 87%" tag), best
    on top; with `highlight` (an index into detections) only that one is drawn, thicker."""
    drawn = picture.convert("RGB")  # a copy, also for palette or greyscale inputs
    draw = ImageDraw.Draw(drawn)
    side = min(drawn.size)
    width = max(2, round(side / 250))  # px: visible on a phone photo and on a small image
    font = ImageFont.load_default(size=max(11, round(side / 40)))
    chosen = [detections[highlight]] if highlight is not None else detections[:MAX_DRAWN_BOXES]
    for item in reversed(chosen):  # the best box last, so on top
        colour = label_colour(item["label"])
        x_one, y_one, x_two, y_two = item["box"]
        xmin, ymin, xmax, ymax = min(x_one, x_two), min(y_one, y_two), max(x_one, x_two), max(y_one, y_two)
        draw.rectangle((xmin, ymin, xmax, ymax), outline=colour, width=2 * width if highlight is not None else width)
        tag = f"{item['label']} {item['score']:.0%}"
        left, top, right, bottom = draw.textbbox((xmin, ymin), tag, font=font)
        lift = min(bottom - top + 2 * width, ymin)  # above the box, or inside it at the image's top edge
        draw.rectangle((left, top - lift, right + 2 * width, bottom - lift + width), fill=colour)
        draw.text((xmin + width, ymin - lift), tag, fill=(255, 255, 255), font=font)
    return drawn


def render(picture: Any, detections: list[dict[str, Any]]) -> tuple[Image.Image, list[list[Any]]]:
    """The picture with boxes drawn and the table rows for some detections (highest score first)."""
    rows = [[item["label"], round(item["score"], 3), *item["box"]] for item in detections]
    return draw_boxes(picture, detections), rows


@model_handler
def detect_objects(
    image: Any,
    queries: str = "",
    model: str = DEFAULT_MODEL,
    threshold: float = default_threshold(DEFAULT_MODEL),
    query_image: Any = None,
    query_box: str = "",
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[Any, list[list[Any]], dict[str, Any], dict[str, Any]]:
    """Find objects in an image and their boxes: with empty queries the 80 COCO classes (DETR), with text queries
    whatever they describe, with a query image (or a box on the image) things that look like it (open-vocabulary
    OWL-ViT / OWLv2). Boxes are in pixels of the input image. A local file is sent by POSTing it to
    <app>/gradio_api/upload and passing <app>/gradio_api/file=<returned path>.

    Args:
        image: The image (JPEG, PNG, WebP, GIF, BMP, TIFF) as a URL: this app's file URL, a data: URI or an http(s) URL.
        queries: What to look for, comma separated, e.g. "a cat's ear, a red car"; empty for the COCO classes.
        model: Catalog id of the detector (see the catalog://models resource); text queries need an OWL model.
        threshold: Lowest score a box may have, 0 to 1; DETR scores are high (0.5 suits), OWL scores low (0.1).
        query_image: Optional image of the thing to find (a URL, as for image); then queries must be empty.
        query_box: Optional "xmin, ymin, xmax, ymax" in pixels of the image: find things like what this box holds.

    Returns:
        JSON {"model", "detections": [{"label", "score", "box": [xmin, ymin, xmax, ymax]}...], "score_kind"}, best
        first; by example score_kind is "similarity" (rescaled so the best box is 1.0, not a probability).
    """
    if image is None:
        raise gr.Error("Upload an image, take one with the webcam, or pick an example below.")
    threshold = task.check_threshold(threshold)
    show_loading(model, TASK, progress)
    picture = inputs.load_image(image)
    run = task.detect_objects(picture, queries, model=model, threshold=min(threshold, SCORE_FLOOR),
                              query_image=query_image, query_box=query_box or None).to_json()
    result = {**run, "detections": shown(run["detections"], threshold)}
    annotated, rows = render(picture, result["detections"])
    return annotated, rows, {"image": image, **run}, result


def label_table(last_run: dict[str, Any] | None) -> Any:
    """Name what the table's scores are: confidence, or similarity when found by example (a private step)."""
    kind = (last_run or {}).get("score_kind", "confidence")
    return gr.Dataframe(label=TABLE_LABELS.get(kind, TABLE_LABELS["confidence"]))


@user_errors
def pick_corner(corner: list[int] | None, event: gr.SelectData) -> tuple[Any, Any, list[int] | None]:
    """A click on the image: the first click is one corner of the query box, the second the opposite corner."""
    x, y = (int(value) for value in event.index)
    if not corner:
        return gr.skip(), f"First corner at ({x}, {y}); now click the opposite corner.", [x, y]
    box = f"{min(corner[0], x)}, {min(corner[1], y)}, {max(corner[0], x)}, {max(corner[1], y)}"
    return box, f"Query box {box}: press Detect to find things like it.", None


@user_errors
def highlight_row(last_run: dict[str, Any] | None, threshold: float, event: gr.SelectData) -> Any:
    """Draw only the box of the table row the user selected (deselecting it shows every box again)."""
    if not last_run:
        return gr.skip()
    detections = shown(last_run["detections"], threshold)
    row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
    chosen = row if event.selected and 0 <= row < len(detections) else None
    return draw_boxes(inputs.load_image(last_run["image"]), detections, chosen)


@user_errors
def refilter(last_run: dict[str, Any] | None, threshold: float) -> tuple[Any, list[list[Any]], dict[str, Any]]:
    """Show the last run's detections at a new threshold, without running the model."""
    if not last_run:
        return gr.skip(), gr.skip(), gr.skip()
    result = {"model": last_run["model"], "detections": shown(last_run["detections"], threshold)}
    annotated, rows = render(inputs.load_image(last_run["image"]), result["detections"])
    return annotated, rows, result


def follow_queries(queries: str, model: str, query_image: Any = None, query_box: str = "") -> Any:
    """Switch to an open-vocabulary model when queries are typed or an example given, and back to DETR when they
    are all cleared."""
    spec = find_model(model) or default_model(TASK)
    wanted = bool(queries.strip()) or query_image is not None or bool((query_box or "").strip())
    if wanted and not spec.open_vocabulary:
        return gr.update(value=OPEN_VOCABULARY_MODEL)
    if not wanted and spec.open_vocabulary:
        return gr.update(value=DEFAULT_MODEL)
    return gr.skip()


def follow_example(query_image: Any, query_box: str, model: str, queries: str) -> tuple[Any, Any]:
    """With an example: an OWL model and the similarity threshold; without one, the model's own threshold."""
    menu = follow_queries(queries, model, query_image, query_box)
    chosen = menu.get("value", model) if isinstance(menu, dict) else model
    return menu, threshold_for(chosen, query_image, query_box)


def threshold_for(model: str | None, query_image: Any = None, query_box: str = "") -> float:
    """The threshold slider's value for a model, or for scores by example when an example is given."""
    if query_image is not None or (query_box or "").strip():
        return task.EXAMPLE_THRESHOLD
    return default_threshold(model)


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("Leave the queries empty to find the 80 everyday COCO classes, or describe what to look for.")
    with gr.Row():
        with gr.Column():
            image = ImageUpload(label="Image", type="filepath", sources=["upload", "webcam", "clipboard"])
            queries = gr.Textbox(label="Text queries (optional)", value="",
                                 placeholder="a red car, a person on a bike (empty: COCO classes)")
            with gr.Accordion("Find by example (OWL models): a query image, or a box on the image", open=False):
                query_image = ImageUpload(label="Query image: find things like it", type="filepath",
                                          sources=["upload", "clipboard"], height=160, elem_id="detect-query-image")
                query_box = gr.Textbox(label="Or a query box (click two opposite corners on the image above)",
                                       value="", placeholder="xmin, ymin, xmax, ymax", elem_id="detect-query-box")
                box_hint = gr.Markdown("Scores by example are similarity to the best match (the best box is always "
                                       "1.0), not probabilities.")
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_MODEL))
            threshold = gr.Slider(0.0, 1.0, value=default_threshold(DEFAULT_MODEL), step=0.01,
                                  label="Score threshold (moving it re-filters the last result)",
                                  elem_id="detect-threshold")
            run = gr.Button("Detect", variant="primary")
        with gr.Column():
            # JPEG: gradio's default WebP costs 27 ms for 640x480 and 150 ms for 1600x1200, JPEG 1 ms and 5 ms.
            annotated = gr.Image(label="Detections", type="pil", format="jpeg", interactive=False,
                                 elem_id="detect-image")
            table = gr.Dataframe(headers=TABLE_HEADERS, label=TABLE_LABELS["confidence"],
                                 interactive=False, elem_id="detect-boxes")
            result = gr.JSON(label="Result (JSON)", open=False)
    last_run = gr.State(None)
    corner = gr.State(None)
    gr.Examples(examples=EXAMPLES, inputs=[image, queries])

    gr.on(
        triggers=[run.click, queries.submit],
        fn=detect_objects,
        inputs=[image, queries, model, threshold, query_image, query_box],
        outputs=[annotated, table, last_run, result],
        api_name="detect_objects",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    ).then(label_table, inputs=last_run, outputs=table, api_visibility="private", queue=False, show_progress="hidden")
    table.select(highlight_row, inputs=[last_run, threshold], outputs=annotated, api_visibility="private")
    threshold.release(refilter, inputs=[last_run, threshold], outputs=[annotated, table, result],
                      api_visibility="private")
    queries.change(follow_queries, inputs=[queries, model, query_image, query_box], outputs=model,
                   api_visibility="private", queue=False)
    image.select(pick_corner, inputs=corner, outputs=[query_box, box_hint, corner], api_visibility="private",
                 queue=False, show_progress="hidden")
    image.change(lambda: ("", None), outputs=[query_box, corner], api_visibility="private", queue=False,
                 show_progress="hidden")  # a box belongs to the image it was drawn on
    gr.on(triggers=[query_image.change, query_box.change], fn=follow_example,
          inputs=[query_image, query_box, model, queries], outputs=[model, threshold], api_visibility="private",
          queue=False, show_progress="hidden")
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)
    model.change(threshold_for, inputs=[model, query_image, query_box], outputs=threshold, api_visibility="private",
                 queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
