"""Segmentation tab: a class for every pixel, shown as a coloured overlay with a legend of each class's share."""

from typing import Any

import gradio as gr
import pandas as pd
from PIL import Image

from backend import inputs
from backend.catalog import default_model
from backend.tasks import segment_image as task
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
    write_output,
)

TASK = "segment_image"
DEFAULT_MODEL = default_model(TASK).id
DEFAULT_OPACITY = 0.5
ALL_CLASSES = "All classes"
# The overlay is shown at most this many pixels on its long side (the label-map PNG keeps the input resolution):
# a 12-megapixel overlay costs a second to encode and megabytes to send, and no screen shows it whole.
DISPLAY_SIDE = 1600
TABLE_HEADERS = ["colour", "class", "share %", "pixels"]
EXAMPLES = [[str(ASSETS / "images" / name)] for name in ("rocket.jpg", "astronaut.jpg", "coffee.jpg", "chelsea.jpg")]


def for_display(picture: Image.Image, label_image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The photo and its label image scaled down together so the long side is at most DISPLAY_SIDE."""
    scale = DISPLAY_SIDE / max(picture.size)
    if scale >= 1:
        return picture, label_image
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return (picture.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0),
            label_image.resize(size, Image.Resampling.NEAREST))  # class indices must not be blended


def legend(summary: dict[str, Any], names: list[str]) -> Any:
    """The classes found, largest first, as a table whose colour column is painted in each class's colour."""
    colours = task.palette(len(names))
    rows = [[task.hex_colour(colours[names.index(item["label"])]), item["label"], round(100 * item["share"], 2),
             item["pixels"]] for item in summary["classes"]]
    table = pd.DataFrame(rows, columns=TABLE_HEADERS)
    styled = table.style.map(lambda colour: f"background-color: {colour}; color: {colour}", subset=["colour"])
    return styled.format({"share %": "{:.2f}"})


def render(last_run: dict[str, Any], opacity: float, highlight: str) -> Image.Image:
    """The overlay of the last run at an opacity, with one class highlighted (or all classes shown)."""
    names = last_run["names"]
    index = names.index(highlight) if highlight in names else None
    return task.overlay(last_run["photo"], last_run["labels"], min(max(float(opacity), 0.0), 1.0), index)


@model_handler
def segment_image(
    image: Any,
    model: str = DEFAULT_MODEL,
    opacity: float = DEFAULT_OPACITY,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[Image.Image, Any, str, dict[str, Any], dict[str, Any]]:
    """Label every pixel of a photo with a class (semantic segmentation) and report how much of the image each
    class covers.

    The ADE20k models know 150 everyday indoor and outdoor classes (wall, sky, tree, person, car...); the Cityscapes
    model knows 19 street-scene classes. The label map has the input image's resolution.

    Args:
        image: The photo to segment (JPEG, PNG, WebP, GIF, BMP or TIFF; a URL or an uploaded file).
        model: Catalog id of the segmentation model: nvidia/segformer-b0-finetuned-ade-512-512 (default, fast),
            nvidia/segformer-b2-finetuned-ade-512-512 (more accurate) or
            nvidia/segformer-b1-finetuned-cityscapes-1024-1024 (street scenes).
        opacity: Opacity of the class colours over the photo in the overlay image, from 0 (photo only) to 1.

    Returns:
        The photo with a colour per class laid over it, a table of the classes found (colour, class, share in
        percent, pixels), the label map as an 8-bit palette PNG (pixel value = class index, palette = the overlay
        colours, class names in its "classes" text chunk), and the JSON result {"model", "width", "height",
        "classes": [{"label", "pixels", "share"}...]} with classes sorted by share, largest first.
    """
    if image is None:
        raise gr.Error("Upload an image, take one with the webcam, or pick an example below.")
    show_loading(model, TASK, progress)
    picture = inputs.load_image(image)
    result = task.segment_image(picture, model=model)
    summary = result.to_json()
    names = list(result.names)
    label_image = task.palette_image(result.labels, len(names))
    png = write_output(task.label_map_png(result), "label_map.png")
    photo, labels = for_display(picture, label_image)
    last_run = {"photo": photo, "labels": labels, "names": names,
                "found": [item["label"] for item in summary["classes"]]}
    return render(last_run, opacity, ALL_CLASSES), legend(summary, names), png, last_run, summary


def list_classes(last_run: dict[str, Any] | None) -> Any:
    """The highlight menu for a new result: every class found, largest first, and nothing highlighted."""
    if not last_run:
        return gr.skip()
    return gr.update(choices=[ALL_CLASSES, *last_run["found"]], value=ALL_CLASSES)


@user_errors
def rerender(last_run: dict[str, Any] | None, opacity: float, highlight: str) -> Any:
    """The last result at a new opacity or highlight, without running the model."""
    if not last_run:
        return gr.skip()
    return render(last_run, opacity, highlight)


@user_errors
def pick_row(last_run: dict[str, Any] | None, opacity: float, event: gr.SelectData) -> tuple[Any, Any]:
    """Highlight the class of the table row the user clicked."""
    if not last_run or not event.row_value:
        return gr.skip(), gr.skip()
    label = str(event.row_value[TABLE_HEADERS.index("class")])
    return gr.update(value=label), render(last_run, opacity, label)


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("Which class is each pixel? ADE20k models know 150 everyday classes, the Cityscapes model 19 street "
                "classes. Click a row of the table to highlight its class.")
    with gr.Row():
        with gr.Column():
            image = ImageUpload(label="Image", type="filepath", sources=["upload", "webcam", "clipboard"])
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_MODEL))
            opacity = gr.Slider(0.0, 1.0, value=DEFAULT_OPACITY, step=0.05,
                                label="Overlay opacity (moving it re-renders the last result)")
            run = gr.Button("Segment", variant="primary")
        with gr.Column():
            overlay = gr.Image(label="Classes", type="pil", format="jpeg", interactive=False, elem_id="segment-overlay")
            highlight = gr.Dropdown(choices=[ALL_CLASSES], value=ALL_CLASSES, label="Highlight a class",
                                    elem_id="segment-highlight")
            table = gr.Dataframe(headers=TABLE_HEADERS, label="Classes found (click a row to highlight it)",
                                 interactive=False, elem_id="segment-classes")
            png = gr.File(label="Label map, palette PNG (pixel value = class index)")
            result = gr.JSON(label="Result (JSON)", open=False)
    last_run = gr.State(None)
    gr.Examples(examples=EXAMPLES, inputs=[image])

    run.click(
        segment_image,
        inputs=[image, model, opacity],
        outputs=[overlay, table, png, last_run, result],
        api_name="segment_image",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    ).success(list_classes, inputs=last_run, outputs=highlight, api_visibility="private", queue=False)
    opacity.release(rerender, inputs=[last_run, opacity, highlight], outputs=overlay, api_visibility="private")
    highlight.input(rerender, inputs=[last_run, opacity, highlight], outputs=overlay, api_visibility="private")
    table.select(pick_row, inputs=[last_run, opacity], outputs=[highlight, overlay], api_visibility="private")
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
