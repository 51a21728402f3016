"""The Ray Serve backend on a real local Ray cluster: every task, routing, overload, timeouts, dead replicas.

One cluster for the module (on 127.0.0.1 only), deployed from serve_config.yaml with smaller replicas and queues.
Skipped where Ray is not installed, except in CI (CI=true), which installs requirements-ray.txt.
"""

import copy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# Read when Ray is imported: keep a node address of 127.0.0.1 as given instead of the machine's interface address.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
if os.environ.get("CI", "").lower() != "true":
    pytest.importorskip("ray")
import ray
from gradio_client import Client

from backend import dispatch
from backend.errors import BusyError, InputError, ServiceUnavailableError
from backend.tasks import (
    classify_image,
    detect_objects,
    estimate_depth,
    synthesize_speech,
    transcribe,
    translate,
)

ROOT = Path(__file__).resolve().parent.parent
# The test cluster: serve_config.yaml's general applications with fixed, small replica counts, one torch thread
# each, plus "narrow", a copy of the speech application that takes one request at a time and one waiting.
ONE_THREAD = {"env_vars": {"APP_TORCH_THREADS": "1", "APP_MEMORY_BUDGET": "1GB", "APP_MAX_MODELS_PER_REPLICA": "8"}}
OVERRIDES: dict[str, dict[str, Any]] = {
    "vision": {"num_replicas": 1, "ray_actor_options": {"num_cpus": 1, "runtime_env": ONE_THREAD}},
    "text": {"num_replicas": 2, "ray_actor_options": {"num_cpus": 1, "runtime_env": ONE_THREAD}},
    "speech": {"num_replicas": 1, "ray_actor_options": {"num_cpus": 1, "runtime_env": ONE_THREAD}},
    "narrow": {"num_replicas": 1, "max_ongoing_requests": 1, "max_queued_requests": 1,
               "ray_actor_options": {"num_cpus": 1, "runtime_env": ONE_THREAD}},
}
# What a user-facing message must never contain: Ray's task prefix, process ids, addresses, tracebacks.
LEAKS = re.compile(r"ray::|pid=|\b\d{1,3}(\.\d{1,3}){3}\b|Traceback|RayTaskError|ActorDiedError")
# The default Whisper (large-v3-turbo) has its own GPU application, not deployed here; this one is "speech"'s.
WHISPER = "openai/whisper-base"
TEXT = "The weather is nice today. We are going to the park."


@pytest.fixture(scope="module")
def cluster(models_dir: Path) -> Iterator[Any]:
    """A local Ray cluster on 127.0.0.1 with the test applications deployed, and this process as a front end."""
    from ray import serve

    from backend.serving import client, config, registry, run

    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    ray.init(address="local", num_cpus=8, include_dashboard=False, _node_ip_address="127.0.0.1",
             namespace=registry.NAMESPACE, log_to_driver=False)
    try:
        raw = config.load_config()
        narrow = copy.deepcopy(next(entry for entry in raw["applications"] if entry["name"] == "speech"))
        raw["applications"].append({**narrow, "name": "narrow", "route_prefix": "/narrow"})
        run.deploy(run.with_overrides(raw, OVERRIDES), only=list(OVERRIDES))
        remote = client.connect("auto")
        yield remote
    finally:
        dispatch.use_ray(None)
        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="module")
def speech_29min(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """29 minutes of speech-like audio at 8 kHz (28 MB WAV, under the limits): seconds of work even on tiny models."""
    import soundfile

    from tests.conftest import speech_like

    path = tmp_path_factory.mktemp("audio") / "speech_29min.wav"
    soundfile.write(path, speech_like(29 * 60, rate=8000), 8000, subtype="PCM_16")
    return path


def assert_clean(message: str) -> None:
    """A message a user may see: no Ray internals."""
    assert not LEAKS.search(message), message


def close(local: Any, remote: Any) -> None:
    """The same JSON, floats equal to 1e-4 (replicas use one torch thread, this process two)."""
    if isinstance(local, dict):
        assert local.keys() == remote.keys()
        for key in local:
            close(local[key], remote[key])
    elif isinstance(local, list):
        assert len(local) == len(remote)
        for left, right in zip(local, remote, strict=True):
            close(left, right)
    elif isinstance(local, float):
        assert remote == pytest.approx(local, rel=1e-4, abs=1e-5)
    else:
        assert local == remote


def replicas_holding(remote: Any, model_id: str) -> list[dict[str, Any]]:
    """The live replicas whose cache holds a model, each as {"replica", "hits", "load_seconds"}, fresh."""
    remote._status = (0.0, [])
    return [{"replica": replica["replica"], **entry} for replica in remote.status()
            for entry in replica["cache"]["models"] if entry["id"] == model_id]


CALLS: dict[str, Callable[[dict[str, Path]], Callable[..., Any]]] = {
    "classify_image": lambda files: lambda f: f(str(files["photo"]), "a cat, a dog, a car"),
    "detect_objects": lambda files: lambda f: f(str(files["photo"]), "a cat, a ball"),
    "estimate_depth": lambda files: lambda f: f(str(files["photo"])),
    "translate": lambda files: lambda f: f(TEXT, "en", "fr"),
    "transcribe": lambda files: lambda f: f(str(files["speech"]), model=WHISPER),
    "synthesize_speech": lambda files: lambda f: f("Hello world. How are you?"),
}
FUNCTIONS = {"classify_image": classify_image.classify_image, "detect_objects": detect_objects.detect_objects,
             "estimate_depth": estimate_depth.estimate_depth, "translate": translate.translate,
             "transcribe": transcribe.transcribe, "synthesize_speech": synthesize_speech.synthesize_speech}


def test_cluster_is_on_loopback(cluster: Any) -> None:
    """Every node of the test cluster has the address 127.0.0.1: no traffic leaves the machine."""
    assert {node["NodeManagerAddress"] for node in ray.nodes() if node["Alive"]} == {"127.0.0.1"}


def test_every_task_is_registered_once() -> None:
    """The dispatch table holds each task function, undecorated, under its task name."""
    from backend.catalog import TASKS

    assert set(TASKS) <= set(dispatch.TASKS)
    for name, function in FUNCTIONS.items():
        assert dispatch.TASKS[name] is function.local


@pytest.mark.parametrize("task", list(CALLS))
def test_task_through_ray_gives_the_local_json(cluster: Any, task: str, photo: Path, speech_3s: Path) -> None:
    """Each task on the cluster returns what the same function returns in this process, on the same tiny model."""
    call = CALLS[task]({"photo": photo, "speech": speech_3s})
    function = FUNCTIONS[task]
    local = call(function.local)
    remote = call(function)
    close(local.to_json(), remote.to_json())
    if task == "estimate_depth":
        np.testing.assert_allclose(remote.depth, local.depth, rtol=1e-3, atol=1e-4)
    if task == "synthesize_speech":
        np.testing.assert_allclose(remote.audio, local.audio, atol=1e-3)


def test_speech_translation_chain_runs_each_stage_on_the_cluster(cluster: Any, speech_3s: Path) -> None:
    """/translate_speech runs on the front end and sends each stage to its deployment: the same JSON and audio as
    the chain in local mode, and each stage's model loaded by a replica."""
    from backend.tasks.translate_speech import translate_speech

    arguments = {"source_language": "en", "recognition_model": WHISPER}
    remote = translate_speech(str(speech_3s), "French", **arguments)
    for model_id in remote.models.values():
        assert replicas_holding(cluster, model_id), model_id
    assert remote.models["speech"] == "facebook/mms-tts-fra"  # routed to the target language's voice
    dispatch.use_ray(None)
    try:
        local = translate_speech(str(speech_3s), "French", **arguments)
    finally:
        dispatch.use_ray(cluster)
    remote_json, local_json = remote.to_json(), local.to_json()
    del remote_json["seconds"], local_json["seconds"]
    close(local_json, remote_json)
    np.testing.assert_allclose(remote.audio, local.audio, atol=1e-3)


def test_bad_model_id_fails_before_the_cluster(cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown model id is our InputError from the front end; the cluster is never called."""
    monkeypatch.setattr(cluster, "call", lambda *args: pytest.fail("the call reached the cluster"))
    with pytest.raises(InputError, match="Unknown model") as raised:
        translate.translate(TEXT, "en", "fr", model="no/such-model")
    assert_clean(str(raised.value))


def test_oversized_upload_fails_before_the_cluster(cluster: Any, photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file over its byte limit is refused on the front end, with the limit in the message."""
    monkeypatch.setattr(cluster, "call", lambda *args: pytest.fail("the call reached the cluster"))
    monkeypatch.setitem(dispatch.FILE_LIMITS, "image", (1000, "image"))
    with pytest.raises(InputError, match="the limit is"):
        classify_image.classify_image(str(photo), "a cat, a dog")


def test_replica_errors_arrive_as_ours(cluster: Any) -> None:
    """Errors raised on a replica reach the caller as our type with our message, free of Ray's traceback."""
    with pytest.raises(InputError, match="could not be read as an image") as raised:
        classify_image.classify_image(b"not an image at all", "a cat, a dog")
    assert_clean(str(raised.value))
    with pytest.raises(InputError, match="Unknown source language") as raised:
        translate.translate(TEXT, "Klingonese", "fr")
    assert_clean(str(raised.value))


def test_undeployed_application_is_named(cluster: Any) -> None:
    """A model whose application is not on the cluster (Bark has its own GPU application) says so, by name."""
    with pytest.raises(ServiceUnavailableError, match="'bark' is not deployed") as raised:
        synthesize_speech.synthesize_speech("Hello.", model="suno/bark")
    assert_clean(str(raised.value))


def test_same_model_goes_to_the_replica_that_has_it(cluster: Any) -> None:
    """With two text replicas, sequential requests for one model all go to the one replica that loaded it."""
    translate.translate(TEXT, "en", "de")
    before = replicas_holding(cluster, "facebook/m2m100_418M")
    assert len(before) == 1
    for _ in range(6):
        translate.translate(TEXT, "en", "de")
    after = replicas_holding(cluster, "facebook/m2m100_418M")
    assert [entry["replica"] for entry in after] == [before[0]["replica"]]
    assert after[0]["hits"] >= before[0]["hits"] + 6


def test_overload_is_busy(cluster: Any, speech_29min: Path, speech_3s: Path) -> None:
    """While one request runs and one waits, further callers are told at once that the servers are busy."""
    from backend.serving.client import RayRemote

    narrow = RayRemote({WHISPER: "narrow"})
    short = {"audio": speech_3s.read_bytes(), "model": WHISPER, "language": None, "task": "transcribe"}
    narrow.call("transcribe", WHISPER, short)  # the replica has the model

    def call(arguments: dict[str, Any]) -> str:
        try:
            narrow.call("transcribe", WHISPER, arguments)
        except BusyError as error:
            return str(error)
        return "served"

    with ThreadPoolExecutor(7) as pool:
        running = pool.submit(call, {**short, "audio": speech_29min.read_bytes()})
        time.sleep(1.0)  # the long request is on the replica
        outcomes = list(pool.map(call, [short] * 6))
        assert running.result() == "served"
    assert "served" in outcomes  # the one that waited
    busy = [outcome for outcome in outcomes if outcome != "served"]
    assert len(busy) >= 4 and all("busy" in message for message in busy)
    for message in busy:
        assert_clean(message)
    assert narrow.call("transcribe", WHISPER, short).text is not None  # and it serves again


def test_timeout_cancels_and_says_so(cluster: Any, speech_29min: Path, speech_3s: Path) -> None:
    """A call past the front end's timeout is cancelled on the cluster and the user is told."""
    from backend.serving.client import RayRemote

    impatient = RayRemote(cluster.routes, timeout_s=0.05)
    arguments = {"audio": speech_29min.read_bytes(), "model": WHISPER, "language": None,
                 "task": "transcribe"}
    with pytest.raises(ServiceUnavailableError, match="longer than 0.05 s and was cancelled") as raised:
        impatient.call("transcribe", WHISPER, arguments)
    assert_clean(str(raised.value))
    assert transcribe.transcribe(str(speech_3s), model=WHISPER).text is not None


def test_replica_killed_mid_request(cluster: Any, speech_29min: Path, speech_3s: Path) -> None:
    """A replica killed during a request: that request is retried or told clearly, and the next one is served."""
    from backend.serving import registry

    transcribe.transcribe(str(speech_3s), model=WHISPER)  # the speech replica is up and has the model
    speech_actors = [name for name, entry in ray.get(registry.registry().snapshot.remote()).items()
                     if entry["app"] == "speech" and registry.alive(name)]
    assert len(speech_actors) == 1
    outcome: dict[str, Any] = {}

    def long_call() -> None:
        try:
            outcome["text"] = transcribe.transcribe(str(speech_29min), model=WHISPER).text
        except ServiceUnavailableError as error:
            outcome["error"] = str(error)

    caller = threading.Thread(target=long_call)
    caller.start()
    time.sleep(1.5)  # seconds into the long request
    assert caller.is_alive()  # still waiting for it: the kill lands mid-request
    ray.kill(ray.get_actor(speech_actors[0], namespace=registry.SERVE_NAMESPACE), no_restart=True)
    caller.join(timeout=180)
    assert not caller.is_alive()
    # Retried once on the replica Serve starts in its place, or told clearly.
    assert "text" in outcome or "stopped" in outcome["error"]
    if "error" in outcome:
        assert_clean(outcome["error"])
    assert transcribe.transcribe(str(speech_3s), model=WHISPER).text is not None  # Serve replaced the replica


def test_models_tab_shows_every_replica(cluster: Any) -> None:
    """In Ray mode the Models tab lists the models of each replica, naming the replica."""
    from demos import models as models_tab

    translate.translate(TEXT, "en", "fr")
    cluster._status = (0.0, [])
    rows = [row for row in models_tab.catalog_rows() if row[2] == "facebook/m2m100_418M" and row[3]]
    assert rows and all(" on text/" in row[4] for row in rows)
    assert "Ray Serve" in models_tab.summary()


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_front_end(port: int) -> subprocess.Popen:
    """`python app.py --backend ray` joining the test cluster, serving on 127.0.0.1:port, once it answers."""
    address = ray.get_runtime_context().gcs_address
    process = subprocess.Popen([sys.executable, "app.py", "--backend", "ray", "--ray-address", address,
                                "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"front end exited: {process.stderr.read()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.5)
    stop(process)
    raise RuntimeError("front end did not start")


def stop(process: subprocess.Popen) -> None:
    """End a front end started here (its own process group)."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_front_end_serves_8_clients_and_restarts_statelessly(cluster: Any, tmp_path: Path) -> None:
    """8 clients at once through `app.py --backend ray`; a new front end finds the models still loaded."""
    port = free_port()
    process = start_front_end(port)
    try:
        texts = [f"Sentence number {number} is here." for number in range(8)]
        expected = [translate.translate.local(text, "en", "fr").translation for text in texts]

        def call(text: str) -> dict[str, Any]:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path))
            return client.predict(text, "en", "fr", "facebook/m2m100_418M", api_name="/translate")[1]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, texts))
        assert [result["translation"] for result in results] == expected
    finally:
        stop(process)
    loaded = replicas_holding(cluster, "facebook/m2m100_418M")
    assert loaded  # the cluster kept the model after its front end stopped
    process = start_front_end(port)
    try:
        result = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            TEXT, "en", "fr", "facebook/m2m100_418M", api_name="/translate")[1]
        assert result["translation"] == translate.translate.local(TEXT, "en", "fr").translation
    finally:
        stop(process)
    after = {entry["replica"]: entry for entry in replicas_holding(cluster, "facebook/m2m100_418M")}
    for entry in loaded:  # served without loading again: same load, more hits
        assert after[entry["replica"]]["load_seconds"] == entry["load_seconds"]
    assert sum(entry["hits"] for entry in after.values()) > sum(entry["hits"] for entry in loaded)


def test_no_cluster_is_a_clear_error() -> None:
    """`app.py --backend ray` with no cluster at the address exits with a message naming it, no traceback."""
    finished = subprocess.run([sys.executable, "app.py", "--backend", "ray", "--ray-address", "127.0.0.1:9"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert finished.returncode != 0
    assert "Could not reach a Ray cluster at '127.0.0.1:9'" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_serve_config_is_valid_and_routes_every_model() -> None:
    """serve_config.yaml passes Serve's own schema; every catalog model has an application; heavy ones their GPU."""
    from ray.serve.schema import ServeDeploySchema

    from backend.catalog import CATALOG
    from backend.serving import config

    raw = config.load_config(config.DEFAULT_CONFIG)
    ServeDeploySchema.model_validate(raw)
    routes = config.routes(config.applications(raw))
    assert set(routes) == {spec.id for spec in CATALOG}
    by_name = {entry["name"]: entry for entry in raw["applications"]}
    for model_id in ("suno/bark", "facebook/m2m100_1.2B", "openai/whisper-large-v3-turbo"):
        deployment = by_name[routes[model_id]]["deployments"][0]
        assert deployment["ray_actor_options"]["num_gpus"] == 1
        assert deployment["autoscaling_config"]["min_replicas"] == 0


def test_actor_runtime_env_is_merged_over_the_application_one_as_ray_does() -> None:
    """An override's env_vars add to the application's (serve_config's MALLOC_* stay); other fields replace."""
    from backend.serving import config, run

    speech = next(entry for entry in config.load_config(config.DEFAULT_CONFIG)["applications"]
                  if entry["name"] == "speech")
    merged = run.merged_runtime_env(speech["runtime_env"], {**ONE_THREAD, "working_dir": "."})
    assert merged["env_vars"]["APP_TORCH_THREADS"] == "1"  # the override wins
    assert merged["env_vars"]["MALLOC_ARENA_MAX"] == "1"  # the application's setting stays
    assert merged["working_dir"] == "."
    assert run.merged_runtime_env({"working_dir": "a"}, {}) == {"working_dir": "a"}


def test_a_replica_no_node_can_hold_is_named_on_every_surface(cluster: Any, client: Client, app_url: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """serve_config.yaml's Bark application asks for a GPU; on this CPU-only cluster a request for Bark says so."""
    import httpx
    from gradio_client.exceptions import AppError
    from ray import serve

    from backend.serving import config, run
    from tests.clients import call_tool

    run.deploy(config.load_config(config.DEFAULT_CONFIG), only=["bark"])  # min_replicas 0: RUNNING, never placed
    # Were the request to wait for a replica, it would end in the timeout's message instead of ours.
    monkeypatch.setattr(cluster, "timeout_s", 30)  # seconds
    expected = re.compile(r"The model server 'bark' cannot start on this cluster: each of its replicas asks for "
                          r"4 CPUs and 1 GPU, and no node has a GPU\.")
    try:
        with pytest.raises(ServiceUnavailableError, match=expected) as raised:
            synthesize_speech.synthesize_speech("Hello.", model="suno/bark")
        assert_clean(str(raised.value))
        with pytest.raises(AppError, match=expected) as shown:  # the HTTP API (and the UI: the same gr.Error)
            client.predict(text="Hello.", model="suno/bark", api_name="/synthesize_speech")
        assert shown.value.title == "Model unavailable"
        result = call_tool(app_url, "synthesize_speech", {"text": "Hello.", "model": "suno/bark"})
        assert result.isError and expected.search(result.content[0].text), result.content
        response = httpx.post(app_url + "v1/audio/speech", json={"model": "suno/bark", "input": "Hello."}, timeout=60)
        assert response.status_code == 503, response.text
        assert expected.search(response.json()["error"]["message"])
        # The GPU-free config places the same application on this cluster.
        cpu_config = config.load_config(ROOT / "serve_config.cpu.yaml")
        bark = next(entry for entry in cpu_config["applications"] if entry["name"] == "bark")
        assert bark["deployments"][0]["ray_actor_options"]["num_gpus"] == 0
        cluster.placement._verdicts.clear()  # the cluster changed: do not wait CHECK_TTL_S for the next check
        run.deploy(cpu_config, only=["bark"])
        assert cluster.placement.problem("bark") is None
    finally:
        serve.delete("bark")  # test_undeployed_application_is_named expects Bark not deployed


def test_cpu_config_is_the_gpu_config_without_gpus() -> None:
    """serve_config.cpu.yaml passes Serve's schema and differs from serve_config.yaml only in num_gpus (all 0)."""
    from ray.serve.schema import ServeDeploySchema

    from backend.serving import config

    gpu = config.load_config(config.DEFAULT_CONFIG)
    cpu = config.load_config(ROOT / "serve_config.cpu.yaml")
    ServeDeploySchema.model_validate(cpu)
    for entry in gpu["applications"]:
        entry["deployments"][0]["ray_actor_options"]["num_gpus"] = 0
    assert cpu == gpu


def test_placement_shortfall_in_words() -> None:
    from backend.serving.placement import describe, shortfall

    assert shortfall({"CPU": 4.0, "GPU": 1.0}, [{"CPU": 8.0}]) == "no node has a GPU"
    assert shortfall({"CPU": 16.0}, [{"CPU": 8.0}, {"CPU": 6.0}]) == "the largest node has 8 CPUs"
    assert shortfall({"CPU": 4.0, "GPU": 1.0}, [{"CPU": 8.0}, {"CPU": 1.0, "GPU": 1.0}]) == (
        "no single node has all of them at once")
    assert shortfall({"CPU": 4.0, "GPU": 1.0}, [{"CPU": 8.0, "GPU": 2.0}]) is None
    assert describe({"GPU": 1.0, "CPU": 4.0}) == "4 CPUs and 1 GPU"
