"""Benchmarks through the launched app's HTTP API: round-trip overhead, and 4 concurrent clients vs sequential."""

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
from gradio_client import Client

from backend.tasks import synthesize_speech
from bench import calls
from bench.timing import Figure, figure, seconds_of

SMALL_MODEL = "facebook/mms-tts-eng"  # 36M parameters, about 1 s a call here: text in, a WAV file out
ROUND_TRIP_RUNS = 5
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


def speech_by_client(client: Client) -> Callable[[], object]:
    """One text-to-speech request through gradio_client (queue, result, WAV download)."""
    return lambda: client.predict(text=calls.TEXT, model=SMALL_MODEL, api_name="/synthesize_speech")


def speech_by_rest(url: str) -> Callable[[], object]:
    """The same request over plain HTTP: start the call, read its event stream, download the WAV file."""
    def call() -> Any:
        with httpx.Client(timeout=120) as http:
            # Every input is sent; the voice menu's default, which single-voice models ignore.
            audio, _, summary = rest_outputs(http, url, "synthesize_speech",
                                             [calls.TEXT, SMALL_MODEL, "v2/en_speaker_6"])  # WAV, stream, JSON
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


def round_trip(url: str) -> tuple[Figure, Figure, Figure]:
    """Seconds of the direct backend call, through gradio_client, and over REST; timed in turns."""
    client = Client(url, verbose=False)
    by_client, by_rest = speech_by_client(client), speech_by_rest(url)
    direct = lambda: synthesize_speech.synthesize_speech(calls.TEXT, model=SMALL_MODEL)  # noqa: E731
    for call in (direct, by_client, by_rest):  # warm-up: model loaded, connections open
        call()
    times: dict[str, list[float]] = {"direct": [], "client": [], "rest": []}
    for _ in range(ROUND_TRIP_RUNS):
        times["direct"].append(seconds_of(direct))
        times["client"].append(seconds_of(by_client))
        times["rest"].append(seconds_of(by_rest))
    return figure(times["direct"]), figure(times["client"]), figure(times["rest"])


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
