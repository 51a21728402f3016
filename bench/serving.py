"""Benchmarks through the launched app's HTTP API: the cost of an API call beyond the backend's work, and 4
concurrent clients vs sequential."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from gradio_client import Client

from backend.tasks import synthesize_speech
from bench import calls
from bench.timing import Figure, figure, seconds_of

SMALL_MODEL = "facebook/mms-tts-eng"  # 36M parameters, about 1 s a call here: text in, a WAV file out
ROUND_TRIP_RUNS = 8
CLIENTS = 4
REQUESTS_PER_CLIENT = 2
CONCURRENCY_ROUNDS = 2


def launch_app() -> str:
    """The app launched in this process as `python app.py` does, on a free localhost port; its URL."""
    import app

    app.demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True,
                    **app.launch_settings())
    return app.demo.local_url


def close_app() -> None:
    """Stop the app launched by launch_app."""
    import app

    app.demo.close()


def speech_by_client(client: Client, api_name: str = "/synthesize_speech") -> Callable[[], object]:
    """One text-to-speech request through gradio_client (queue, result, WAV download)."""
    return lambda: client.predict(text=calls.TEXT, model=SMALL_MODEL, api_name=api_name)


def speech_by_rest(http: httpx.Client, url: str, api_name: str = "synthesize_speech") -> Callable[[], object]:
    """The same request over plain HTTP on the caller's connection: start the call, read its event stream, download
    the WAV file."""
    def call() -> Any:
        # Every input is sent; the voice menu's default, which single-voice models ignore.
        outputs = rest_outputs(http, url, api_name, [calls.TEXT, SMALL_MODEL, "v2/en_speaker_6", ""])
        audio, summary = outputs[0], outputs[-1]  # /synthesize_speech: WAV, stream, JSON; the _wav one: WAV, JSON
        return http.get(audio["url"]).content, summary

    return call


def rest_outputs(http: httpx.Client, url: str, api_name: str, data: list[Any]) -> Any:
    """An endpoint's final outputs over plain HTTP: `POST /gradio_api/call/<name>`, then its event stream."""
    base = url.rstrip("/") + "/gradio_api"
    event_id = http.post(f"{base}/call/{api_name}", json={"data": data}).json()["event_id"]
    with http.stream("GET", f"{base}/call/{api_name}/{event_id}") as stream:
        event = ""
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                if event == "error":
                    raise RuntimeError(f"the app answered with an error: {line}")
                return json.loads(line.removeprefix("data:"))
    raise RuntimeError("the event stream ended without a result")


class BackendClock:
    """Seconds the backend spends speaking inside each request the app serves: `stream_speech` (which every
    text-to-speech endpoint runs, the whole-text one through `synthesize_speech`) timed where it runs, summing the
    time inside each step of the generator and not the time the endpoint spends between steps."""

    def __init__(self) -> None:
        self.spent: list[float] = []  # seconds, one entry per finished speech
        self.original = synthesize_speech.stream_speech

    def __enter__(self) -> "BackendClock":
        original, spent = self.original, self.spent

        def timed_stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
            parts = original(*args, **kwargs)
            total = 0.0
            while True:
                started = time.perf_counter()
                part = next(parts, None)
                total += time.perf_counter() - started
                if part is None:
                    break
                yield part
            spent.append(total)

        synthesize_speech.stream_speech = timed_stream  # looked up at call time by the tab and the task
        return self

    def __exit__(self, *exc: object) -> None:
        synthesize_speech.stream_speech = self.original

    def overhead(self, call: Callable[[], object]) -> float:
        """Seconds one request took beyond the backend's own work in it."""
        before = len(self.spent)
        wall = seconds_of(call)
        if len(self.spent) != before + 1:
            raise RuntimeError("the request did not run the backend's speech exactly once")
        return wall - self.spent[-1]


def round_trip(url: str) -> dict[str, Figure]:
    """What an API call of text to speech costs beyond the backend's work in the same request, each way of calling
    timed in turns: the streaming endpoint the page uses and the whole-WAV one for API clients, through gradio_client
    and over REST on one kept connection; and the backend called directly from here, for scale."""
    client = Client(url, verbose=False)
    http = httpx.Client(timeout=120)
    ways = {"client": speech_by_client(client), "rest": speech_by_rest(http, url),
            "client_wav": speech_by_client(client, "/synthesize_speech_wav"),
            "rest_wav": speech_by_rest(http, url, "synthesize_speech_wav")}
    direct = lambda: synthesize_speech.synthesize_speech(calls.TEXT, model=SMALL_MODEL)  # noqa: E731
    times: dict[str, list[float]] = {"direct": [], **{way: [] for way in ways}}
    with BackendClock() as clock, http:
        for call in (direct, *ways.values()):  # warm-up: model loaded, connections open
            call()
        for _ in range(ROUND_TRIP_RUNS):
            times["direct"].append(seconds_of(direct))
            for way, call in ways.items():
                times[way].append(clock.overhead(call))
    return {way: figure(seconds) for way, seconds in times.items()}


def translation_request(client: Client) -> object:
    """One short translation through the API."""
    return client.predict(text=calls.TEXT, source_language="en", target_language="fr", api_name="/translate")


def speech_request(client: Client) -> object:
    """One MMS-TTS request through the API."""
    return speech_by_client(client)()


def run_clients(url: str, request: Callable[[Client], object], clients: int, per_client: int) -> float:
    """Seconds for `clients` concurrent clients to each send `per_client` requests, one after another."""
    connected = [Client(url, verbose=False) for _ in range(clients)]
    failures: list[BaseException] = []

    def work(client: Client) -> None:
        try:
            for _ in range(per_client):
                request(client)
        except Exception as error:  # reported after the threads finish
            failures.append(error)

    threads = [threading.Thread(target=work, args=(client,)) for client in connected]

    def run() -> None:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    seconds = seconds_of(run)
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[0]!r}")
    return seconds


def concurrency(url: str, request: Callable[[Client], object]) -> tuple[Figure, Figure]:
    """Seconds for CLIENTS x REQUESTS_PER_CLIENT requests: all from one client in turn, then from CLIENTS at once;
    the two alternate for CONCURRENCY_ROUNDS rounds."""
    request(Client(url, verbose=False))  # warm-up: the model is loaded
    total = CLIENTS * REQUESTS_PER_CLIENT
    sequential, concurrent = [], []
    for _ in range(CONCURRENCY_ROUNDS):
        sequential.append(run_clients(url, request, clients=1, per_client=total))
        concurrent.append(run_clients(url, request, clients=CLIENTS, per_client=REQUESTS_PER_CLIENT))
    return figure(sequential), figure(concurrent)
