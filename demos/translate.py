"""Translation tab: text between any two of 100 languages."""

from collections.abc import Iterator
from typing import Any

import gradio as gr

from backend.catalog import default_model
from backend.languages import LANGUAGE_NAMES
from backend.limits import MAX_TEXT_CHARS
from backend.tasks import translate as task
from demos.common import (
    ASSETS,
    model_dropdown,
    model_handler,
    model_notes,
    show_loading,
)

TASK = "translate"
DEFAULT_MODEL = default_model(TASK)
BATCHED_QUEUE = "translate"
# Menu entries (English name, code), sorted by name; the API also accepts names and codes typed freely.
LANGUAGE_CHOICES = sorted(((LANGUAGE_NAMES[code], code) for code in DEFAULT_MODEL.languages), key=lambda c: c[0])
# The source menu starts with detection (py3langid, backend/language_id.py); the default stays English (the API's).
SOURCE_CHOICES = [("Auto-detect", "auto"), *LANGUAGE_CHOICES]
EXAMPLES = [
    [(ASSETS / "texts" / f"{source}.txt").read_text(encoding="utf-8").strip(), source, target]
    for source, target in [("en", "fr"), ("fr", "en"), ("zh", "en"), ("de", "es")]
]


@model_handler
def translate(
    text: str,
    source_language: str = "en",
    target_language: str = "fr",
    model: str = DEFAULT_MODEL.id,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> Iterator[tuple[str, Any]]:
    """Translate text between any two of 100 languages (M2M100). Long texts are translated paragraph by paragraph.

    Args:
        text: The text to translate, up to 5,000 characters.
        source_language: Language of the text, an English name ("French") or a code ("fr"), or "auto" to detect it
            (the JSON then has "detected_language" and "detected_probability"); default English.
        target_language: Language to translate into, an English name ("German") or a code ("de"); default French.
        model: Catalog id of the translation model (see the catalog://models resource).

    Returns:
        JSON {"model", "source_language", "target_language", "translation", "detected_language",
        "detected_probability"} with the languages as codes; detected_* are null unless the source was "auto".
    """
    show_loading(model, TASK, progress)
    # Long texts show their finished paragraphs as they are done; the JSON comes with the whole translation.
    for step in task.stream_translation(text, source_language, target_language, model=model):
        progress((step.done, step.total), desc="Translating", unit="paragraphs")
        if step.done < step.total:
            yield step.result.translation, gr.skip()
    result = step.result.to_json()
    yield result["translation"], result


def describe_detection(result: dict | None) -> Any:
    """"Detected: French (97 %)" under the menus after an auto-detected translation; hidden otherwise."""
    code = (result or {}).get("detected_language")
    if not code:
        return gr.update(value="", visible=False)
    return gr.update(value=f"Detected: {LANGUAGE_NAMES.get(code, code)} ({result['detected_probability']:.0%})",
                     visible=True)


def swap(source: str, target: str, text: str, translation: str, result: dict | None) -> tuple[str, str, str, str]:
    """Swap the languages, and move the translation into the input when there is one; "auto" becomes the language
    it detected (English if none yet), since a translation needs a target."""
    if source == "auto":
        source = (result or {}).get("detected_language") or "en"
    return target, source, (translation or text), (text if translation else translation)


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("Translate between any two of 100 languages. Long texts are translated paragraph by paragraph.")
    with gr.Row():
        source = gr.Dropdown(choices=SOURCE_CHOICES, value="en", label="From", filterable=True,
                             allow_custom_value=True)
        swap_button = gr.Button("⇄ Swap", scale=0, min_width=90)
        target = gr.Dropdown(choices=LANGUAGE_CHOICES, value="fr", label="To", filterable=True,
                             allow_custom_value=True)
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label="Text", lines=8, max_length=MAX_TEXT_CHARS,
                              placeholder=f"Up to {MAX_TEXT_CHARS:,} characters")
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_MODEL.id))
            run = gr.Button("Translate", variant="primary")
        with gr.Column():
            translation = gr.Textbox(label="Translation", lines=8, buttons=["copy"], interactive=False)
            detected = gr.Markdown(visible=False)
            result = gr.JSON(label="Result (JSON)", open=False)
    gr.Examples(examples=EXAMPLES, inputs=[text, source, target])

    event = run.click(
        translate,
        inputs=[text, source, target, model],
        outputs=[translation, result],
        api_name="translate",
        # Its own group, so that requests waiting for the device reach the backend, which translates them
        # together (backend/compute.py); the backend's device lock still runs one model at a time.
        concurrency_id=BATCHED_QUEUE,
        concurrency_limit=task.MAX_REQUESTS_TOGETHER,
    )
    # A follow-up helper event, so that the public endpoint's outputs stay as they were.
    event.success(describe_detection, inputs=result, outputs=detected, api_visibility="private", queue=False)
    swap_button.click(swap, inputs=[source, target, text, translation, result],
                      outputs=[source, target, text, translation], api_visibility="private", queue=False)
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
