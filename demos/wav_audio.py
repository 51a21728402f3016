"""An audio output for the WAV files the app writes itself, served without gradio's per-file probe.

gradio 6's `gr.Audio` runs the `ffprobe` program on every output file, where it is installed, to check that a
browser can play it: about 100 ms a request here, more than the rest of an API call's overhead. The app's own
outputs are 16-bit PCM WAV written by `soundfile` (`wav_bytes`, then `write_output`), which every browser plays,
so the probe can only ever say yes. Any other value goes through gr.Audio's own checks.
"""

from pathlib import Path
from typing import Any

import gradio as gr
from gradio.data_classes import FileData
from gradio.utils import is_in_or_equal

from demos.common import OUTPUT_DIR


class WavAudio(gr.Audio):
    """gr.Audio for the app's own WAV outputs; shown and described (API: "Audio") as gr.Audio.

    No __init__ of its own: gradio sends the browser the props named in the class's __init__ signature, which must
    stay gr.Audio's.
    """

    is_template = True  # gradio renders and names a template by its parent class, as it does gr.Microphone

    def postprocess(self, value: Any) -> FileData | bytes | None:
        """Our WAV files as they are; anything else as gr.Audio serves it."""
        if isinstance(value, str | Path) and Path(value).suffix == ".wav" and is_in_or_equal(value, OUTPUT_DIR):
            return FileData(path=str(value), orig_name=Path(value).name)
        return super().postprocess(value)
