"""Video classification tab: a clip (upload or webcam) -> its top-5 actions, and the frames the model saw."""

from typing import Any

import gradio as gr
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from backend.catalog import default_model
from backend.tasks import classify_video as task
from demos.common import (
    ASSETS,
    MODEL_CONCURRENCY,
    MODEL_QUEUE,
    model_dropdown,
    model_handler,
    model_notes,
    show_loading,
)

TASK = "classify_video"
DEFAULT_MODEL = default_model(TASK).id
EXAMPLES = [[str(ASSETS / "video" / "juggling.mp4")]]
STRIP_COLUMNS = 8  # thumbnails per row of the frame strip (16 frames: two rows)
THUMBNAIL_HEIGHT = 96  # pixels; widths follow the clip's aspect ratio
LABEL_FONT = ImageFont.load_default(size=14)  # Pillow's bundled font, for each thumbnail's frame number


def frame_strip(images: list[np.ndarray], indices: list[int]) -> Image.Image:
    """The sampled frames as one picture: rows of STRIP_COLUMNS thumbnails, each marked with its frame number."""
    height, width = images[0].shape[:2]
    thumb_width = max(1, round(width * THUMBNAIL_HEIGHT / height))
    columns = min(STRIP_COLUMNS, len(images))
    rows = -(-len(images) // columns)  # ceiling division
    gap = 2  # pixels between thumbnails
    strip = Image.new("RGB", (columns * (thumb_width + gap) - gap, rows * (THUMBNAIL_HEIGHT + gap) - gap), "white")
    draw = ImageDraw.Draw(strip)
    for number, (image, index) in enumerate(zip(images, indices, strict=True)):
        left = (number % columns) * (thumb_width + gap)
        top = (number // columns) * (THUMBNAIL_HEIGHT + gap)
        strip.paste(Image.fromarray(image).resize((thumb_width, THUMBNAIL_HEIGHT), Image.Resampling.BILINEAR),
                    (left, top))
        draw.text((left + 4, top + 2), f"#{index}", fill="white", font=LABEL_FONT, stroke_width=2, stroke_fill="black")
    return strip


@model_handler
def classify_video(
    video: str,
    model: str = DEFAULT_MODEL,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[dict[str, float], Image.Image, dict[str, Any]]:
    """Recognise the action in a short video clip with VideoMAE and return its five most likely labels.

    The clip is checked from its header (size, length, frame size), then 16 frames spread evenly over it (as many
    as the model takes) are classified together. The Kinetics-400 models know 400 human actions (sports, music,
    cooking, daily life); the Something-Something v2 model knows 174 motions of hands and objects.

    Args:
        video: The clip, as a file (MP4, MOV, WebM, MKV, AVI or OGG; default limits 2 minutes, 50 MB, 4K frames).
        model: The model's Hub id: "MCG-NJU/videomae-base-finetuned-kinetics" (default),
            "MCG-NJU/videomae-small-finetuned-kinetics" (faster) or "MCG-NJU/videomae-base-finetuned-ssv2".

    Returns:
        The top-5 labels with their probabilities, a picture of the frames the model saw, and the JSON
        {"model", "frames" (in the clip), "duration_s", "sampled_frames" (indices), "labels": [{"label", "score"}]}.
    """
    if not video:
        raise gr.Error("Upload a video, record one with the webcam, or pick the example below.")
    show_loading(model, TASK, progress)
    result = task.classify_video(video, model=model)
    scores = {item.label: item.score for item in result.labels}
    return scores, frame_strip(result.images, result.sampled_frames), result.to_json()


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("What is happening in the clip? The model looks at 16 frames spread over the whole video.")
    with gr.Row():
        with gr.Column():
            # include_audio=True keeps gradio from re-encoding the upload (which needs the ffmpeg program); the
            # backend decodes and checks the file itself.
            video = gr.Video(label="Video", sources=["upload", "webcam"], include_audio=True)
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_MODEL))
            run = gr.Button("Classify video", variant="primary")
        with gr.Column():
            labels = gr.Label(label="Top 5 actions", num_top_classes=task.TOP_K)
            strip = gr.Image(label="The frames the model saw", type="pil", interactive=False, format="jpeg")
            result = gr.JSON(label="Result (JSON)", open=False)
    gr.Examples(examples=EXAMPLES, inputs=[video])

    run.click(
        classify_video,
        inputs=[video, model],
        outputs=[labels, strip, result],
        api_name="classify_video",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
