"""Time to first result through the launched app: the first streamed audio of a five-sentence text against the
whole request for its first sentence alone (MMS-TTS at real size, gradio_client)."""

import time
from collections.abc import Callable

from gradio_client import Client

from bench import serving
from bench.timing import Figure, figure

MODEL = "facebook/mms-tts-eng"
# Five sentences of ordinary length (62-86 characters): the app speaks the first alone, then the other four.
SENTENCES = [
    "The museum opens at nine in the morning and closes at six.",
    "Tickets can be bought at the door or online a day ahead.",
    "Guided tours in English leave from the main hall every hour.",
    "The cafe on the top floor serves lunch until three in the afternoon.",
    "Please leave large bags in the lockers near the entrance before you go in.",
]
RUNS = 5  # timed turns of each request
POLL_SECONDS = 0.005  # how often the job is looked at (gradio_client itself receives events as they come)


def first_output_seconds(client: Client, text: str) -> float:
    """Seconds from sending a speech request until its first output (a streamed chunk, or the final outputs)."""
    started = time.perf_counter()
    job = client.submit(text=text, model=MODEL, api_name="/synthesize_speech")
    while not job.outputs() and not job.done():
        time.sleep(POLL_SECONDS)
    first = time.perf_counter() - started
    job.result()  # the request runs to its end before the next one starts
    return first


def interleaved_first_outputs(first: Callable[[], float], second: Callable[[], float], runs: int
                              ) -> tuple[Figure, Figure]:
    """Both requests in turns (ABAB...) after one warm-up each: the figures of their time to first output."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        times[0].append(first())
        times[1].append(second())
    return figure(times[0]), figure(times[1])


def speech_first_audio() -> dict[str, Figure]:
    """First audio of the five-sentence text and the whole request for its first sentence alone, in turns."""
    url = serving.launch_app()
    try:
        # Files are not downloaded: the figure is when the app's answer arrives, not the client's downloads.
        client = Client(url, verbose=False, download_files=False)
        five = " ".join(SENTENCES)
        five_sentences, one_sentence = interleaved_first_outputs(
            lambda: first_output_seconds(client, five), lambda: first_output_seconds(client, SENTENCES[0]), RUNS)
    finally:
        serving.close_app()
    return {"five_sentences": five_sentences, "one_sentence": one_sentence}
