"""Masked words tab: a sentence with one <mask> -> the five likeliest words for it, in about 100 languages."""

from typing import Any

import gradio as gr

from backend import inputs
from backend.catalog import default_model, find_model
from backend.languages import LANGUAGE_NAMES
from backend.limits import MAX_TEXT_CHARS
from backend.tasks import fill_mask as task
from demos.common import (
    MODEL_CONCURRENCY,
    MODEL_QUEUE,
    model_dropdown,
    model_handler,
    model_notes,
    show_loading,
)

TASK = "fill_mask"
DEFAULT_MODEL = default_model(TASK).id
AUTO = task.AUTO
# One sentence per language; the first is the browser test's.
EXAMPLES = [
    ["Paris is the <mask> of France."],
    ["Le chat dort toute la journée sur le <mask>."],
    ["Ich trinke jeden Morgen eine Tasse <mask>."],
    ["Mi hermano toca la <mask> en un grupo de rock."],
    ["北京是中国的<mask>。"],
    ["Москва — <mask> России."],
]


def language_choices(model_id: str | None) -> list[tuple[str, str]]:
    """"Auto-detect" then the model's languages by English name (empty for models that take no language)."""
    spec = find_model(model_id or "") or default_model(TASK)
    named = sorted((LANGUAGE_NAMES.get(code, code), code) for code in spec.languages)
    return [("Auto-detect", AUTO), *named] if named else [("Auto-detect", AUTO)]


def highlighted(predictions: list[dict[str, Any]], text: str) -> list[tuple[str, str | None]]:
    """The completed sentences, one per line, each fill marked with its probability."""
    before = text[: task.find_mask(text)[0]]
    spans: list[tuple[str, str | None]] = []
    for rank, prediction in enumerate(predictions, start=1):
        word, sequence = prediction["token"], prediction["sequence"]
        # A word piece that continues the word before the mask is joined to it (backend.tasks.fill_mask.completed).
        prefix = before if sequence.startswith(before + word) else before.rstrip()
        spans += [(f"{rank}. {prefix}", None), (word, f"{prediction['score']:.1%}"),
                  (f"{sequence[len(prefix) + len(word):]}\n", None)]
    return spans


@model_handler
def fill_mask(
    text: str,
    model: str = DEFAULT_MODEL,
    language: str = AUTO,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[list[tuple[str, str | None]], dict[str, Any]]:
    """Guess the word hidden behind the one mask in a sentence, in any of about 100 languages.

    Write the sentence with <mask> (or [MASK]) where one word is missing; the model returns its five likeliest
    words, each with its probability and the completed sentence. XLM-RoBERTa (the default) needs no language;
    the English-French XLM model also takes the sentence's language, detected when not given. Models:
    FacebookAI/xlm-roberta-base (default), FacebookAI/xlm-roberta-large, FacebookAI/xlm-mlm-enfr-1024 (English
    and French only), FacebookAI/xlm-mlm-100-1280.

    Args:
        text: The sentence (or a few) with exactly one <mask> or [MASK]; at most 5,000 characters.
        model: One of the model ids above (default FacebookAI/xlm-roberta-base).
        language: FacebookAI/xlm-mlm-enfr-1024 only: "auto" (default), "English"/"en" or "French"/"fr".

    Returns:
        The completed sentences with each fill highlighted, and the JSON
        {"model", "language", "predictions": [{"token", "score", "sequence"}, ...]}: five fills, best first.
    """
    show_loading(model, TASK, progress)
    result = task.fill_mask(text, model=model, language=language).to_json()
    return highlighted(result["predictions"], inputs.clean_text(text, max_chars=MAX_TEXT_CHARS)), result


def follow_model(model_id: str) -> Any:
    """Offer the chosen model's languages; show the menu only for a model that takes a language."""
    spec = find_model(model_id) or default_model(TASK)
    return gr.update(choices=language_choices(model_id), value=AUTO, visible=bool(spec.languages))


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("Write a sentence with `<mask>` where a word is missing: the model suggests the five likeliest "
                "words. XLM-RoBERTa knows 100 languages.")
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label="Sentence with one <mask>", lines=3, max_length=MAX_TEXT_CHARS,
                              placeholder="Paris is the <mask> of France.")
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_MODEL))
            # Custom values let API callers pass names ("French") as well as codes; the backend checks them.
            language = gr.Dropdown(choices=language_choices(DEFAULT_MODEL), value=AUTO, label="Language",
                                   filterable=True, allow_custom_value=True,
                                   visible=bool(default_model(TASK).languages))
            run = gr.Button("Fill in", variant="primary")
        with gr.Column():
            sentences = gr.HighlightedText(label="Top 5 fills", combine_adjacent=False, show_legend=False)
            result = gr.JSON(label="Result (JSON)", open=False)
    gr.Examples(examples=EXAMPLES, inputs=[text])

    gr.on(
        triggers=[run.click, text.submit],
        fn=fill_mask,
        inputs=[text, model, language],
        outputs=[sentences, result],
        api_name="fill_mask",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )
    model.change(follow_model, inputs=model, outputs=language, api_visibility="private", queue=False)
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
