"""Depth estimation tab: an image -> a colour depth map, a before/after slider, the raw depth to download, a 3D
point cloud, and depths (metres for metric models) and distances read off by clicking the depth map."""

import os
from typing import Any

import gradio as gr
import numpy as np

from backend import inputs
from backend.catalog import default_model
from backend.tasks import estimate_depth as task
from backend.vision import point_cloud
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
    """The depth range in words: metres for metric models, else a note that values are relative; and the 3D view."""
    if summary["metric"]:
        text = (f"Nearest point **{summary['min']:.2f} m**, farthest **{summary['max']:.2f} m** "
                f"({summary['width']}x{summary['height']} px). Bright is near.")
    else:
        text = (f"Relative depth from {summary['min']:.3g} to {summary['max']:.3g} (larger is nearer; no unit). "
                f"{summary['width']}x{summary['height']} px. Bright is near.")
    return text + "\n\n" + describe_3d(summary.get("mesh"), summary["width"], summary["height"])


def describe_3d(mesh: dict[str, Any] | None, width: int, height: int) -> str:
    """What the 3D view shows: its scale, the assumed field of view, and whether the image was reduced."""
    if not mesh:
        return "No 3D view was asked for."
    if mesh["scale"] == "metres":
        text = (f"**3D view in metres**, assuming a {mesh['field_of_view_deg']:g}° horizontal field of view (the "
                "photo's true one is unknown).")
    else:
        text = "**3D view is relative**: the image plane raised by nearness, with no unit and no true shape."
    grid_width, grid_height = mesh["grid"]
    if (grid_width, grid_height) != (width, height):
        text += (f" The image was reduced to {grid_width}x{grid_height} = {mesh['vertices']:,} points "
                 f"(at most {point_cloud.MAX_POINTS:,}).")
    return text


@model_handler
def estimate_depth(
    image: Any,
    model: str = DEFAULT_MODEL,
    colormap: str = task.DEFAULT_COLORMAP,
    view_3d: bool = True,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[Any, str, str, str, str | None, dict[str, Any], dict[str, Any]]:
    """Estimate how far each pixel of an image is: metric models answer in metres, relative ones only say what is
    nearer. Gives a coloured depth map image, a 16-bit PNG (millimetres for metric models), a float32 .npy file and
    a 3D point cloud (.ply) in the photo's colours. A local file is sent by POSTing it to <app>/gradio_api/upload
    and passing <app>/gradio_api/file=<returned path>.

    Args:
        image: The image (JPEG, PNG, WebP, GIF, BMP, TIFF) as a URL: this app's file URL, a data: URI or an http(s) URL.
        model: Catalog id of the depth model (see the catalog://models resource); default GLPN, metric, indoor.
        colormap: Colours of the depth map image: inferno, magma, viridis, plasma, turbo, Spectral_r or gray.
        view_3d: Also build the 3D point cloud (binary PLY; at most 120,000 points, larger images are sampled).

    Returns:
        JSON {"model", "width", "height", "min", "max", "metric", "mesh": {"format", "vertices", "scale",
        "field_of_view_deg", "grid"}} ("mesh" null without view_3d; scale "metres" for metric models, with the assumed
        horizontal field of view, else "relative"), then the depth map image, its files and the .ply point cloud.
    """
    if image is None:
        raise gr.Error("Upload an image, take one with the webcam, or pick an example below.")
    show_loading(model, TASK, progress)
    picture = inputs.load_image(image)
    result = task.estimate_depth(picture, model=model, colormap=colormap)
    summary = result.to_json()
    png = write_output(task.depth_png16(result), "depth_16bit.png")
    npy = write_output(task.depth_npy(result), "depth.npy")
    ply = None
    summary["mesh"] = None
    if view_3d:
        cloud = task.depth_point_cloud(result, picture)
        ply = write_output(cloud.ply, "depth_points.ply")
        summary["mesh"] = cloud.to_json()
    last_run = {"image": image, "npy": npy, "metric": result.metric}
    return (picture, result.image), png, npy, describe(summary), ply, last_run, summary


@user_errors
def show_depth_map(last_run: dict[str, Any] | None, colormap: str) -> tuple[Any, str, None]:
    """The last depth map in its colours to click on, the reading cleared (a private step after each run)."""
    if not last_run:
        return gr.skip(), "", None
    if colormap not in task.COLORMAPS:
        colormap = task.DEFAULT_COLORMAP
    return task.colorize(load_depth(last_run), colormap, near_is_large=not last_run["metric"]), "", None


def load_depth(last_run: dict[str, Any]) -> np.ndarray:
    """The last run's depth map (height, width), from its .npy download."""
    if not os.path.exists(last_run["npy"]):
        raise gr.Error("That depth map has expired; press Estimate depth again.")
    return np.load(last_run["npy"], allow_pickle=False)


@user_errors
def measure(last_run: dict[str, Any] | None, previous: list[int] | None,
            event: gr.SelectData) -> tuple[str, list[int] | None]:
    """The depth at the clicked pixel and, for metric depth, the distance in 3D from the previous click."""
    if not last_run:
        return "Estimate the depth first, then click the depth map.", None
    depth = load_depth(last_run)
    height, width = depth.shape
    x, y = (min(max(int(value), 0), limit - 1) for value, limit in zip(event.index, (width, height), strict=True))
    value = float(depth[y, x])
    if not last_run["metric"]:
        return (f"Pixel ({x}, {y}): relative depth **{value:.3g}** (larger is nearer; no unit, so no distances). "
                "A metric model (GLPN NYUv2) gives metres."), [x, y]
    text = f"Pixel ({x}, {y}): **{value:.2f} m** from the camera (along its axis)."
    on_map = previous and all(0 <= p < s for p, s in zip(previous, (width, height), strict=True))
    if on_map and tuple(previous) != (x, y):
        here = point_cloud.point_at(depth, x, y)
        there = point_cloud.point_at(depth, *previous)
        distance = float(np.linalg.norm(here - there))
        text += (f" Distance from the previous click ({previous[0]}, {previous[1]}): **{distance:.2f} m** "
                 f"(assuming a {point_cloud.FIELD_OF_VIEW_DEG:g}° field of view).")
    else:
        text += " Click another point for the distance between the two."
    return text, [x, y]


@user_errors
def recolor(last_run: dict[str, Any] | None, colormap: str) -> Any:
    """Render the last depth map with another colormap, without running the model."""
    if not last_run:
        return gr.skip(), gr.skip()
    if colormap not in task.COLORMAPS:
        raise gr.Error(f"Choose a colormap from the list: {', '.join(task.COLORMAPS)}.")
    depth = load_depth(last_run)
    coloured = task.colorize(depth, colormap, near_is_large=not last_run["metric"])
    return (inputs.load_image(last_run["image"]), coloured), coloured


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
            view_3d = gr.Checkbox(value=True, label="3D view (a .ply point cloud)")
            run = gr.Button("Estimate depth", variant="primary")
        with gr.Column():
            # JPEG: gradio's default WebP takes 27 ms per 640x480 image to encode, JPEG 1 ms.
            comparison = gr.ImageSlider(label="Image / depth (drag the slider)", type="pil", format="jpeg")
            summary_text = gr.Markdown()
            cloud = gr.Model3D(label="3D point cloud (drag to turn, scroll to zoom; .ply download)",
                               display_mode="point_cloud", clear_color=(0.1, 0.1, 0.12, 1.0), elem_id="depth-3d")
            depth_map = gr.Image(label="Depth map: click a point for its depth, a second for the distance",
                                 type="pil", format="jpeg", interactive=False, elem_id="depth-map")
            reading = gr.Markdown(elem_id="depth-reading")
            with gr.Row():
                png = gr.File(label="Depth, 16-bit PNG (mm for metric models)")
                npy = gr.File(label="Raw depth, float32 .npy")
            result = gr.JSON(label="Result (JSON)", open=False)
    last_run = gr.State(None)
    last_click = gr.State(None)
    gr.Examples(examples=EXAMPLES, inputs=[image])

    run.click(
        estimate_depth,
        inputs=[image, model, colormap, view_3d],
        outputs=[comparison, png, npy, summary_text, cloud, last_run, result],
        api_name="estimate_depth",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    ).then(show_depth_map, inputs=[last_run, colormap], outputs=[depth_map, reading, last_click],
           api_visibility="private", queue=False, show_progress="hidden")
    depth_map.select(measure, inputs=[last_run, last_click], outputs=[reading, last_click], api_visibility="private",
                     queue=False, show_progress="hidden")
    colormap.change(recolor, inputs=[last_run, colormap], outputs=[comparison, depth_map], api_visibility="private")
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
