"""The interactive transcript of the Speech recognition tab: the words as spans in a gr.HTML, the one being spoken
highlighted while the player plays, a click on a word seeks the player to it, words under a confidence threshold
marked. Pure functions build the data the template shows; the page's own script (js_on_load) does the rest.

The player is the tab's video when it shows one (#asr-video-out), else its audio (#asr-audio, a native <audio>:
WaveSurfer's waveform player plays from an element outside the page, see round3-feasibility.md section 2).
"""

from collections.abc import Sequence
from typing import Any

import gradio as gr

DEFAULT_THRESHOLD = 0.5  # words below this probability (0-1) are marked as unsure
AUDIO_ID = "asr-audio"
VIDEO_ID = "asr-video-out"
TRANSCRIPT_ID = "asr-transcript"

# Handlebars `{{...}}` escapes HTML, so the words (model output) are shown as text, never as markup.
TEMPLATE = """
<div class="transcript" data-count="{{value.count}}">{{#each value.words}}<span class="{{this.kind}}"
 data-s="{{this.start}}" data-e="{{this.end}}" title="{{this.title}}">{{this.word}}</span> {{/each}}</div>
<p class="note">{{value.note}}</p>
"""

CSS = """
.transcript { line-height: 2; font-size: 1.05em; }
.transcript span { cursor: pointer; border-radius: 4px; padding: 1px 2px; }
.transcript span:hover { background: var(--color-accent-soft); }
.transcript span.low { text-decoration: underline wavy #d97706; color: #b45309; }
.transcript span.now { background: var(--color-accent); color: white; }
.note { color: var(--body-text-color-subdued); font-size: 0.9em; margin: 4px 0 0; }
"""

# Runs once in the page. Media events do not bubble, so the time listener is a capture listener on the document;
# it follows whichever player the transcript belongs to. The highlighted word is the last one that started (no
# flicker in the gaps between words).
SCRIPT = f"""
const player = () => {{
  const video = document.querySelector('#{VIDEO_ID} video');
  if (video && video.currentSrc && video.offsetParent !== null) return video;
  return document.querySelector('#{AUDIO_ID} audio');
}};
const mark = (seconds) => {{
  let now = null;
  for (const word of element.querySelectorAll('[data-s]')) {{
    if (Number(word.dataset.s) <= seconds + 0.001) now = word; else break;
  }}
  for (const word of element.querySelectorAll('.now')) if (word !== now) word.classList.remove('now');
  if (now) now.classList.add('now');
}};
element.addEventListener('click', (event) => {{
  const word = event.target.closest('[data-s]');
  if (!word) return;
  const media = player();
  if (media) media.currentTime = Number(word.dataset.s);
  mark(Number(word.dataset.s));
  trigger('select', {{start: Number(word.dataset.s), word: word.textContent}});
}});
const follow = (event) => {{ if (event.target === player()) mark(event.target.currentTime); }};
document.addEventListener('timeupdate', follow, true);
document.addEventListener('seeked', follow, true);
"""


def transcript_data(words: Sequence[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD,
                    note: str = "") -> dict[str, Any]:
    """The template's value from the result's words [{"word", "start", "end", "probability"}] (seconds, 0-1):
    each word with its times, its class ("w", or "w low" under `threshold`) and a tooltip."""
    shown = []
    for word in words:
        text = str(word.get("word", "")).strip()
        if not text:
            continue
        probability = word.get("probability")
        unsure = probability is not None and probability < threshold
        sure = "" if probability is None else f", {probability:.0%} sure"
        shown.append({"word": text, "start": round(float(word["start"]), 3), "end": round(float(word["end"]), 3),
                      "kind": "w low" if unsure else "w",
                      "title": f"{float(word['start']):.2f}-{float(word['end']):.2f} s{sure}"})
    if not note:
        unsure_count = sum(item["kind"] == "w low" for item in shown)
        plural = "" if len(shown) == 1 else "s"
        note = (f"{len(shown)} word{plural}; {unsure_count} under {threshold:.0%} confidence (underlined). Click a "
                "word to play from it." if shown else "")
    return {"words": shown, "count": len(shown), "note": note}


def transcript_view() -> gr.HTML:
    """The empty interactive transcript, made in the caller's Blocks."""
    return gr.HTML(transcript_data([], note="Transcribe with word timestamps on to see the words here."),
                   html_template=TEMPLATE, css_template=CSS, js_on_load=SCRIPT, elem_id=TRANSCRIPT_ID,
                   label="Words", show_label=True, container=True, padding=True)


def language_chart(candidates: Sequence[dict[str, Any]], name_of: Any) -> dict[str, float] | None:
    """gr.Label's value: each candidate language's English name -> its probability (0-1); None when there are none.

    `name_of` turns a code into a name (backend.tasks.transcribe.language_name)."""
    if not candidates:
        return None
    return {f"{name_of(guess['language'])} ({guess['language']})": float(guess["probability"])
            for guess in candidates}
