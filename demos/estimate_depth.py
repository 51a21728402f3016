"""Depth estimation tab: an image -> a colour depth map, a before/after slider, and the raw depth to download."""

import os
from typing import Any

import gradio as gr
import numpy as np

from backend import inputs
from backend.catalog import default_model
from backend.tasks import estimate_depth as task
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

TASK = "estimate_depth"
DEFAULT_MODEL = default_model(TASK).id
EXAMPLES = [[str(ASSETS / "images" / name)] for name in ("astronaut.jpg", "rocket.jpg", "coffee.jpg")]


def describe(summary: dict[str, Any]) -> str:
    """The depth range in words: metres for metric models, else a note that values are relative."""
    if summary["metric"]:
        return (f"Nearest point **{summary['min']:.2f} m**, farthest **{summary['max']:.2f} m** "
                f"({summary['width']}x{summary['height']} px). Bright is near.")
    return (f"Relative depth from {summary['min']:.3g} to {summary['max']:.3g} (larger is nearer; no unit). "
            f"{summary['width']}x{summary['height']} px. Bright is near.")


@model_handler
def estimate_depth(
    image: Any,
    model: str = DEFAULT_MODEL,
    colormap: str = task.DEFAULT_COLORMAP,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[Any, str, str, str, dict[str, Any], dict[str, Any]]:
    """Estimate how far each pixel of an image is: metric models answer in metres, relative ones only say what is
    nearer. Gives a coloured depth map image, a 16-bit PNG (millimetres for metric models) and a float32 .npy file.
    A local file is sent by POSTing it to <app>/gradio_api/upload and passing <app>/gradio_api/file=<returned path>.

    Args:
        image: The image (JPEG, PNG, WebP, GIF, BMP, TIFF) as a URL: this app's file URL, a data: URI or an http(s) URL.
        model: Catalog id of the depth model (see the catalog://models resource); default GLPN, metric, indoor.
        colormap: Colours of the depth map image: inferno, magma, viridis, plasma, turbo, Spectral_r or gray.

    Returns:
        JSON {"model", "width", "height", "min", "max", "metric"} (metres when metric), then the depth map image.
    """
    if image is None:
        raise gr.Error("Upload an image, take one with the webcam, or pick an example below.")
    show_loading(model, TASK, progress)
    picture = inputs.load_image(image)
    result = task.estimate_depth(picture, model=model, colormap=colormap)
    summary = result.to_json()
    png = write_output(task.depth_png16(result), "depth_16bit.png")
    npy = write_output(task.depth_npy(result), "depth.npy")
    last_run = {"image": image, "npy": npy, "metric": result.metric}
    return (picture, result.image), png, npy, describe(summary), last_run, summary


@user_errors
def recolor(last_run: dict[str, Any] | None, colormap: str) -> Any:
    """Render the last depth map with another colormap, without running the model."""
    if not last_run:
        return gr.skip()
    if colormap not in task.COLORMAPS:
        raise gr.Error(f"Choose a colormap from the list: {', '.join(task.COLORMAPS)}.")
    if not os.path.exists(last_run["npy"]):
        raise gr.Error("That depth map has expired; press Estimate depth again.")
    depth = np.load(last_run["npy"], allow_pickle=False)
    return inputs.load_image(last_run["image"]), task.colorize(depth, colormap, near_is_large=not last_run["metric"])


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("How far is each pixel? Metric models answer in metres; relative models only say what is nearer.")
    with gr.Row():
        with gr.Column():
            image = ImageUpload(label="Image", type="filepath", sources=["upload", "webcam", "clipboard"])
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_MODEL))
            colormap = gr.Dropdown(choices=list(task.COLORMAPS), value=task.DEFAULT_COLORMAP, label="Colormap")
            run = gr.Button("Estimate depth", variant="primary")
        with gr.Column():
            # JPEG: gradio's default WebP takes 27 ms per 640x480 image to encode, JPEG 1 ms.
            comparison = gr.ImageSlider(label="Image / depth (drag the slider)", type="pil", format="jpeg")
            summary_text = gr.Markdown()
            with gr.Row():
                png = gr.File(label="Depth, 16-bit PNG (mm for metric models)")
                npy = gr.File(label="Raw depth, float32 .npy")
            result = gr.JSON(label="Result (JSON)", open=False)
    last_run = gr.State(None)
    gr.Examples(examples=EXAMPLES, inputs=[image])

    run.click(
        estimate_depth,
        inputs=[image, model, colormap],
        outputs=[comparison, png, npy, summary_text, last_run, result],
        api_name="estimate_depth",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )
    colormap.change(recolor, inputs=[last_run, colormap], outputs=comparison, api_visibility="private")
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
