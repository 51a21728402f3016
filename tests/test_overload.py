"""Overload and concurrency through the HTTP API: one model queue, a bounded queue, a soak, a client that leaves."""

import contextlib
import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import soundfile
from gradio_client import Client, handle_file
from PIL import Image

import app
from backend import compute, models
from backend.tasks import detect_objects, translate
from demos.common import OUTPUT_DIR

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PHOTO = ASSETS / "images" / "chelsea.jpg"
SPEECH = ASSETS / "audio" / "en.wav"
# One fast request per tab, by keyword.
SIX_REQUESTS: list[dict] = [
    {"image": PHOTO, "labels": "cat, dog", "model": "openai/clip-vit-base-patch32", "api_name": "/classify_image"},
    {"image": PHOTO, "api_name": "/detect_objects"},
    {"image": PHOTO, "api_name": "/estimate_depth"},
    {"text": "Good morning.", "source_language": "en", "target_language": "fr", "api_name": "/translate"},
    {"audio": SPEECH, "model": "facebook/wav2vec2-base-960h", "api_name": "/transcribe"},
    {"text": "Hello.", "model": "facebook/mms-tts-eng", "api_name": "/synthesize_speech"},
]


def call(client: Client, request: dict) -> object:
    """One request; file inputs uploaded."""
    arguments = {key: handle_file(value) if isinstance(value, Path) else value for key, value in request.items()}
    return client.predict(**arguments)


class Gauge:
    """Counts model computations (the backend's `compute.model_work` sections) running at the same time."""

    def __init__(self, model_work: Callable[[], contextlib.AbstractContextManager]) -> None:
        self.model_work = model_work
        self.entered = 0
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def counted(self) -> Iterator[None]:
        """The real model_work, counted while it runs."""
        with self.model_work():
            with self.lock:
                self.entered += 1
                self.running += 1
                self.most = max(self.most, self.running)
            try:
                time.sleep(0.05)  # widen the window in which overlapping computations would be seen
                yield
            finally:
                with self.lock:
                    self.running -= 1


@pytest.fixture
def gauge(monkeypatch: pytest.MonkeyPatch) -> Gauge:
    """Every model computation of every task counted by one gauge."""
    counter = Gauge(compute.model_work)
    monkeypatch.setattr(compute, "model_work", counter.counted)
    return counter


def test_six_tabs_at_once_all_succeed_one_model_computation_at_a_time(client: Client, gauge: Gauge) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda request: call(client, request), SIX_REQUESTS))
    assert len(results) == 6 and all(result[-1]["model"] for result in results)
    assert gauge.entered >= 6  # every task computed inside model_work...
    assert gauge.most == 1  # ...and never two at once, although translation runs in its own gradio group


def test_concurrent_translations_through_the_app_are_batched_and_equal_single_ones(client: Client) -> None:
    texts = ["Good morning.", "The museum opens at nine.", "Where is the station?"]
    alone = [client.predict(text=text, source_language="en", target_language="fr", api_name="/translate")[0]
             for text in texts]
    before = translate.BATCHER.batch_sizes.copy()
    with compute.DEVICE_LOCK:  # the device is busy, so the three requests queue up in the backend together
        jobs = [client.submit(text=text, source_language="en", target_language="fr", api_name="/translate")
                for text in texts]
        pause = threading.Event()
        while translate.BATCHER.waiting() < len(texts) and not any(job.done() for job in jobs):
            pause.wait(0.01)
    together = [job.result(timeout=60)[0] for job in jobs]
    assert together == alone
    assert translate.BATCHER.batch_sizes - before == {3: 1}


def test_two_first_requests_for_one_model_load_it_once(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    model_id = "openai/clip-vit-base-patch32"
    models.CACHE.unload(model_id)
    loads = []
    real_loader = models.CACHE.loader
    monkeypatch.setattr(models.CACHE, "loader", lambda spec, *rest: loads.append(spec.id) or real_loader(spec, *rest))
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: call(client, SIX_REQUESTS[0]), range(2)))
    assert loads == [model_id]


@pytest.fixture
def small_queue() -> Iterator[int]:
    """The app's queue bounded at 2 waiting jobs for one test."""
    queue = app.demo._queue
    original = queue.max_size
    queue.max_size = 2
    yield 2
    queue.max_size = original


def test_a_full_queue_turns_requests_away_and_admitted_jobs_finish(client: Client, small_queue: int,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    slow_detect = detect_objects.detect_objects

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(0.5)
        return slow_detect(*args, **kwargs)

    monkeypatch.setattr(detect_objects, "detect_objects", slow)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: try_call(client, SIX_REQUESTS[1]), range(8)))
    finished = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert finished and refused
    assert all("Queue is full" in str(error) for error in refused)
    assert all(result[-1]["model"] == "facebook/detr-resnet-50" for result in finished)


def try_call(client: Client, request: dict) -> object:
    """The result of a request, or the exception it raised."""
    try:
        return call(client, request)
    except Exception as error:  # the test sorts outcomes into results and refusals
        return error


def open_files() -> int:
    """File descriptors this process (which serves the app) holds."""
    return len(os.listdir("/proc/self/fd"))


def temp_files() -> int:
    """Files in gradio's upload and output cache (this run's own, tests/conftest.py) and in our downloads folder."""
    from demos.common import OUTPUT_DIR

    folders = [os.environ["GRADIO_TEMP_DIR"], str(OUTPUT_DIR)]
    return sum(len(files) for folder in folders for _, _, files in os.walk(folder))


def test_a_soak_of_100_mixed_requests_leaks_nothing(client: Client, tmp_path: Path) -> None:
    bad_image = tmp_path / "bad.png"
    bad_image.write_bytes(b"not an image" * 50)
    mixed = [*SIX_REQUESTS, {"image": bad_image, "labels": "cat", "api_name": "/classify_image"},
             {"text": "", "api_name": "/synthesize_speech"}]
    clients = [client] + [Client(client.src, verbose=False, download_files=str(tmp_path)) for _ in range(3)]

    def half() -> None:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda n: try_call(clients[n % 4], mixed[n % len(mixed)]), range(50)))

    half()
    files, temps = open_files(), temp_files()
    half()
    assert open_files() <= files + 4  # sockets come and go; no steady growth
    assert temp_files() <= temps + 8  # identical uploads are stored once; our downloads are swept hourly
    assert len(app.demo._queue) == 0  # no job left waiting
    assert all(queue.current_concurrency == 0 for queue in app.demo._queue.event_queue_per_concurrency_id.values())
    assert OUTPUT_DIR.is_dir()


def test_a_client_that_leaves_mid_request_leaves_the_server_healthy(client: Client, app_url: str) -> None:
    leaver = Client(app_url, verbose=False)
    job = leaver.submit(text="A long text to speak. " * 20, model="facebook/mms-tts-eng",
                        api_name="/synthesize_speech")
    time.sleep(0.1)
    job.cancel()
    leaver.close()
    *_, result = call(client, SIX_REQUESTS[5])
    assert result["model"] == "facebook/mms-tts-eng"


def test_identical_requests_at_once_all_get_whole_files(client: Client, tmp_path: Path) -> None:
    # Identical outputs share one cached file in gradio; a rewrite during another client's download cut it short.
    requests = [SIX_REQUESTS[1], SIX_REQUESTS[5]] * 4  # detection overlays and speech, four of each
    clients = [Client(client.src, verbose=False, download_files=str(tmp_path / str(number))) for number in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, clients, requests))
    detections = [result for result in results if "detections" in result[-1]]
    speeches = [result for result in results if "sampling_rate" in result[-1]]
    assert len(detections) == len(speeches) == 4
    for annotated, *_ in detections:
        Image.open(annotated).load()  # the whole image decodes
    wavs = {Path(speech[0]).read_bytes() for speech in speeches}  # (whole WAV, stream, JSON)
    assert len(wavs) == 1  # seeded: the same request gives the same audio, downloaded whole
    samples, rate = soundfile.read(io.BytesIO(wavs.pop()))
    assert rate == speeches[0][-1]["sampling_rate"] and len(samples) / rate == pytest.approx(
        speeches[0][-1]["duration_s"], abs=0.01)


def test_gradio_image_cache_files_are_written_once(tmp_path: Path) -> None:
    from gradio import processing_utils

    picture = Image.new("RGB", (32, 32), "red")
    first = processing_utils.save_pil_to_cache(picture, str(tmp_path), format="png")
    written = os.stat(first).st_mtime_ns
    second = processing_utils.save_pil_to_cache(picture, str(tmp_path), format="png")
    assert second == first and os.stat(first).st_mtime_ns == written  # found, not rewritten
    assert Image.open(first).getpixel((0, 0)) == (255, 0, 0)


def openai_transcription(app_url: str) -> str:
    """One transcription through the OpenAI SDK at the app's /v1 routes."""
    import openai

    sdk = openai.OpenAI(base_url=app_url + "v1", api_key="unused", max_retries=0)
    with open(SPEECH, "rb") as audio:
        return sdk.audio.transcriptions.create(file=audio, model="facebook/wav2vec2-base-960h").text


def mcp_result(app_url: str, tool: str, arguments: dict) -> dict:
    """One MCP tool call (official SDK); its JSON result, or an exception carrying the tool error."""
    import json

    from tests.clients import call_tool, data_uri

    result = call_tool(app_url, tool, {key: data_uri(value) if isinstance(value, Path) else value
                                       for key, value in arguments.items()})
    if result.isError:
        raise RuntimeError(result.content[0].text)
    return json.loads(result.content[0].text)


def test_eight_clients_on_three_surfaces_share_the_one_model_queue(client: Client, app_url: str,
                                                                   gauge: Gauge) -> None:
    arguments = {key: value for key, value in SIX_REQUESTS[0].items() if key != "api_name"}
    work = [
        lambda: call(client, SIX_REQUESTS[0])[-1]["model"],
        lambda: call(client, SIX_REQUESTS[3])[-1]["model"],
        lambda: call(client, SIX_REQUESTS[5])[-1]["model"],
        lambda: mcp_result(app_url, "classify_image", arguments)["model"],
        lambda: mcp_result(app_url, "detect_objects", {"image": PHOTO})["model"],
        lambda: mcp_result(app_url, "translate", {"text": "Hi.", "source_language": "English",
                                                  "target_language": "German"})["model"],
        lambda: openai_transcription(app_url),
        lambda: openai_transcription(app_url),
    ]
    for job in work:  # each once alone first: eight cold model loads at once starve a small shared machine
        job()
    before = gauge.entered
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: job(), work))
    assert all(isinstance(result, str) for result in results)  # every call answered, none refused
    assert gauge.entered - before >= 8 and gauge.most == 1  # one model computation at a time, all surfaces


@pytest.mark.parametrize("surface", ["gradio_client", "mcp", "openai"])
def test_a_full_queue_is_busy_on_every_surface(client: Client, app_url: str, small_queue: int, surface: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import openai

    model_work = compute.model_work

    @contextlib.contextmanager
    def slow() -> Iterator[None]:
        with model_work():
            time.sleep(0.5)
            yield

    monkeypatch.setattr(compute, "model_work", slow)
    request = {"gradio_client": lambda: call(client, SIX_REQUESTS[4]),
               "mcp": lambda: mcp_result(app_url, "transcribe", {"audio": SPEECH,
                                                                 "model": "facebook/wav2vec2-base-960h"}),
               "openai": lambda: openai_transcription(app_url)}[surface]

    def attempt(_: int) -> object:
        try:
            return request()
        except Exception as error:  # sorted into refusals below
            return error

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert refused and len(refused) < len(outcomes)  # some turned away, the admitted ones answered
    for error in refused:
        if surface == "openai":
            assert isinstance(error, openai.RateLimitError) and error.status_code == 429, error
        else:
            assert ("busy" if surface == "mcp" else "Queue is full") in str(error), error
