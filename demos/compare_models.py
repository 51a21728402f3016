"""Compare tab: one input, two to four models of a task, their outputs and seconds side by side."""

from typing import Any

import gradio as gr
from PIL import Image

from backend import inputs
from backend.catalog import models_for
from backend.tasks import compare_models as comparing
from backend.tasks import segment_image
from demos.common import (
    ASSETS,
    MODEL_CONCURRENCY,
    MODEL_QUEUE,
    ImageUpload,
    model_handler,
    user_errors,
    write_output,
)
from demos.detect_objects import draw_boxes

TASK_LABELS = {"classify_image": "Image classification", "detect_objects": "Object detection",
               "segment_image": "Segmentation", "estimate_depth": "Depth", "caption_image": "Captioning",
               "translate": "Translation", "fill_mask": "Masked words", "synthesize_speech": "Text to speech",
               "transcribe": "Speech recognition"}
DEFAULT_TASK = "classify_image"
# A starting value of `options` per task: the parameters a comparison of that task usually needs.
OPTION_EXAMPLES = {"classify_image": '{"labels": "cat, dog, car"}', "detect_objects": '{"queries": "a cat, a remote"}',
                   "translate": '{"source_language": "English", "target_language": "French"}',
                   "caption_image": "", "fill_mask": "", "transcribe": "", "segment_image": "",
                   "estimate_depth": "", "synthesize_speech": ""}
EXAMPLE_TEXT = {"translate": "The weather is lovely today.", "fill_mask": "Paris is the <mask> of France.",
                "synthesize_speech": "Hello, how are you today?"}
# Image and options of the default task (classification), the tab's examples.
EXAMPLES = [[str(ASSETS / "images" / "chelsea.jpg"), OPTION_EXAMPLES[DEFAULT_TASK]],
            [str(ASSETS / "images" / "coffee.jpg"), '{"labels": "a cup of coffee, a cup of tea"}']]
SLOTS = comparing.MAX_MODELS  # result columns on the page


def first_models(task_name: str) -> list[str]:
    """The first two catalog models of a task, the starting choice."""
    return [spec.id for spec in models_for(task_name)][:2]


@model_handler
def compare_models(
    task: str = DEFAULT_TASK,
    models: str = ", ".join(first_models(DEFAULT_TASK)),
    image: Any = None,
    text: str = "",
    audio: Any = None,
    options: str = "",
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[Any, dict[str, Any]]:
    """Run two to four models of one task on the same input, one after another, and return each model's result and
    seconds side by side (load time apart). A model that fails gives its error in its own entry. A local file is
    sent by POSTing it to <app>/gradio_api/upload and passing <app>/gradio_api/file=<returned path>.

    Args:
        task: The task: classify_image, detect_objects, segment_image, estimate_depth, caption_image (an
            image); translate, fill_mask, synthesize_speech (a text); transcribe (an audio).
        models: Two to four catalog ids of that task, comma separated (see the catalog://models resource).
        image: The image, for image tasks, as a URL: this app's file URL, a data: URI or an http(s) URL.
        text: The text, for text tasks (for fill_mask with one <mask>).
        audio: The audio, for transcribe, as a URL like image.
        options: A JSON object of the task's other parameters, e.g. {"labels": "cat, dog"} or
            {"source_language": "English", "target_language": "French"}; empty for none.

    Returns:
        JSON {"task", "results": [{"model", "seconds", "load_seconds", "result" | "error"}...], "note"}: each result
        is the task's own JSON; note says where scores are not comparable across the models.
    """
    comparison = comparing.compare_models(task, models, image=image, text=text, audio=audio, options=options)
    shown = {"task": comparison.task, "runs": comparison.results,
             "picture": inputs.load_image(image) if comparing.TASK_FUNCTIONS[comparison.task][1] == "image" else None}
    return shown, comparison.to_json()


def column(run: comparing.ModelRun, task_name: str, picture: Image.Image | None) -> list[Any]:
    """One column's components: title, image, label, text, audio (each shown only where the task has it)."""
    hidden = gr.update(visible=False, value=None)
    timing = f"{run.seconds:.2f} s" + (f" (+ {run.load_seconds:.1f} s loading)" if run.load_seconds else "")
    title = f"### {run.model}\n{timing}"
    if run.error is not None:
        return [gr.Column(visible=True), f"{title}\n\n**Failed:** {run.error}", hidden, hidden, hidden, hidden]
    output = run.output
    image = label = text = audio = hidden
    if task_name == "classify_image":
        label = gr.update(visible=True, value={item.label: item.score for item in output.labels})
    elif task_name == "detect_objects":
        image = gr.update(visible=True, value=draw_boxes(picture, output.to_json()["detections"]))
        text = gr.update(visible=True, value=f"{len(output.detections)} boxes ({output.score_kind})")
    elif task_name == "segment_image":
        labels = segment_image.palette_image(output.labels, len(output.names))
        image = gr.update(visible=True, value=segment_image.overlay(picture, labels, 0.5))
        text = gr.update(visible=True, value=", ".join(f"{item.label} {item.share:.0%}" for item in output.classes[:5]))
    elif task_name == "estimate_depth":
        summary = output.to_json()
        unit = "m" if summary["metric"] else "(relative)"
        image = gr.update(visible=True, value=output.image)
        text = gr.update(visible=True, value=f"{summary['min']:.3g} to {summary['max']:.3g} {unit}")
    elif task_name == "synthesize_speech":
        audio = gr.update(visible=True, value=write_output(wav_bytes(output), "speech.wav"))
    else:  # caption, translation, masked words, transcript: text
        text = gr.update(visible=True, value=result_text(task_name, output))
    return [gr.Column(visible=True), title, image, label, text, audio]


def result_text(task_name: str, output: Any) -> str:
    """The text a text-output task gave."""
    if task_name == "fill_mask":
        return "\n".join(f"{rank}. {item.sequence} ({item.score:.1%})"
                         for rank, item in enumerate(output.predictions, start=1))
    if task_name == "translate":
        return output.translation
    return output.text


def wav_bytes(output: Any) -> bytes:
    """A synthesized result as WAV bytes."""
    import io

    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, output.audio, output.sampling_rate, format="WAV")
    return buffer.getvalue()


@user_errors
def show_columns(shown: dict[str, Any] | None) -> list[Any]:
    """Lay the last comparison out in columns (a private step after each run); unused columns hidden."""
    if not shown:
        return [gr.skip()] * (SLOTS * 6 + 1)
    updates: list[Any] = []
    for index in range(SLOTS):
        if index < len(shown["runs"]):
            updates += column(shown["runs"][index], shown["task"], shown["picture"])
        else:
            updates += [gr.Column(visible=False), "", *([gr.update(visible=False, value=None)] * 4)]
    note = comparing.SCORE_NOTES.get(shown["task"], "")
    return [*updates, f"*{note}*" if note else ""]


def follow_task(task_name: str) -> tuple[Any, ...]:
    """The inputs, models and options a task takes, when the task changes."""
    kind = comparing.TASK_FUNCTIONS[task_name][1]
    ids = [spec.id for spec in models_for(task_name)]
    return (gr.update(visible=kind == "image"),
            gr.update(visible=kind == "text", value=EXAMPLE_TEXT.get(task_name, "")),
            gr.update(visible=kind == "audio"), gr.update(choices=ids, value=ids[:2]), ", ".join(ids[:2]),
            gr.update(value=OPTION_EXAMPLES[task_name], placeholder=OPTION_EXAMPLES[task_name] or "{}"))


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("Run two to four models of one task on your input and see their answers and times side by side. "
                "The models run one after another; a model loaded for the comparison shows its load time apart.")
    with gr.Row():
        with gr.Column():
            task_name = gr.Dropdown(choices=[(label, name) for name, label in TASK_LABELS.items()],
                                    value=DEFAULT_TASK, label="Task", elem_id="compare-task")
            picks = gr.Dropdown(choices=[spec.id for spec in models_for(DEFAULT_TASK)], multiselect=True,
                                max_choices=comparing.MAX_MODELS, value=first_models(DEFAULT_TASK),
                                label="Models (pick 2 to 4)")
            models = gr.Textbox(value=", ".join(first_models(DEFAULT_TASK)), label="Model ids (comma separated)",
                                elem_id="compare-models")
        with gr.Column():
            image = ImageUpload(label="Image", type="filepath", sources=["upload", "webcam", "clipboard"], height=240)
            text = gr.Textbox(label="Text", value="", visible=False)
            audio = gr.Audio(label="Audio", sources=["microphone", "upload"], type="filepath", visible=False)
            options = gr.Textbox(label="Options (a JSON object of the task's other parameters)", value="",
                                 placeholder=OPTION_EXAMPLES[DEFAULT_TASK], elem_id="compare-options")
            run = gr.Button("Compare", variant="primary")
    note = gr.Markdown()
    slots = []
    with gr.Row():
        for index in range(SLOTS):
            with gr.Column(visible=False, elem_classes="compare-column") as slot:
                slots += [slot, gr.Markdown(elem_id=f"compare-title-{index}"),
                          gr.Image(type="pil", format="jpeg", interactive=False, visible=False, show_label=False),
                          gr.Label(num_top_classes=5, visible=False, show_label=False),
                          gr.Markdown(visible=False), gr.Audio(type="filepath", interactive=False, visible=False)]
    result = gr.JSON(label="Result (JSON)", open=False)
    shown = gr.State(None)
    gr.Examples(examples=EXAMPLES, inputs=[image, options])

    run.click(
        compare_models,
        inputs=[task_name, models, image, text, audio, options],
        outputs=[shown, result],
        api_name="compare_models",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    ).then(show_columns, inputs=shown, outputs=[*slots, note], api_visibility="private", queue=False,
           show_progress="hidden")
    task_name.change(follow_task, inputs=task_name, outputs=[image, text, audio, picks, models, options],
                     api_visibility="private", queue=False, show_progress="hidden")
    picks.input(lambda chosen: ", ".join(chosen or []), inputs=picks, outputs=models, api_visibility="private",
                queue=False, show_progress="hidden")

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
