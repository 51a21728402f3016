"""Ray Serve backend: throughput with 2 replicas vs 1, the front end's added latency, cold start from zero.

    python -m bench.run --only ray

On a local Ray cluster bound to 127.0.0.1, with the real-size random-weight MMS-TTS (36M parameters, about 1 s
a call on this machine: compute-bound, so replicas matter) from bench/real_size.py. Every replica has one torch
thread. The bench process is the front end (a Ray driver calling deployment handles, as app.py does in Ray mode).
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import calls
from bench.timing import figure, seconds_of

MODEL = "facebook/mms-tts-eng"
CLIENTS = 4
REQUESTS_PER_CLIENT = 3
LATENCY_RUNS = 5
SHORT_TEXT = "Hello."  # the added-latency rows: a short call, so the hop is a visible part of it
ONE_THREAD = {"env_vars": {"APP_TORCH_THREADS": "1", "APP_MEMORY_BUDGET": "2GB"}}


def throughput(remote: Any) -> float:
    """Requests per second of CLIENTS clients each sending REQUESTS_PER_CLIENT calls back to back."""
    from backend.tasks import synthesize_speech

    def client(_: int) -> None:
        for _ in range(REQUESTS_PER_CLIENT):
            synthesize_speech.synthesize_speech(calls.TEXT, model=MODEL)

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    return CLIENTS * REQUESTS_PER_CLIENT / (time.perf_counter() - started)


def speech_app(replicas: int) -> dict[str, Any]:
    """serve_config.yaml's speech application with a fixed number of one-thread replicas."""
    from backend.serving import config, run

    return run.with_overrides(config.load_config(), {"speech": {
        "num_replicas": replicas, "max_ongoing_requests": 4,
        "ray_actor_options": {"num_cpus": 1, "runtime_env": ONE_THREAD}}})


def warm_every_replica(replicas: int) -> None:
    """Enough concurrent calls that every replica has loaded the model (Serve spreads them when one is busy)."""
    from backend import dispatch
    from backend.tasks import synthesize_speech

    for _ in range(10):
        loaded = [replica for replica in dispatch.replica_status() or [] if replica["app"] == "speech"
                  and any(entry["id"] == MODEL for entry in replica["cache"]["models"])]
        if len(loaded) >= replicas:
            return
        with ThreadPoolExecutor(replicas * 2) as pool:
            list(pool.map(lambda _: synthesize_speech.synthesize_speech(calls.TEXT, model=MODEL), range(replicas * 2)))
        time.sleep(2.5)  # the registry view is cached for 2 s


def ray_serve() -> dict[str, Any]:
    """The section's figures: throughput 1 vs 2 replicas, latency local vs Ray, cold start from zero replicas."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # keep the node on 127.0.0.1 (read when Ray imports)
    import ray
    import torch
    from ray import serve

    from backend.serving import client, registry, run
    from backend.serving.client import RayRemote
    from backend.tasks import synthesize_speech

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    ray.init(address="local", num_cpus=4, include_dashboard=False, _node_ip_address="127.0.0.1",
             namespace=registry.NAMESPACE, log_to_driver=False)
    try:
        results: dict[str, Any] = {"model": MODEL}
        run.deploy(speech_app(1), only=["speech"])
        remote = client.connect("auto")
        warm_every_replica(1)
        results["one_replica_rps"] = throughput(remote)
        run.deploy(speech_app(2), only=["speech"])
        warm_every_replica(2)
        results["two_replicas_rps"] = throughput(remote)

        torch.set_num_threads(1)  # the local baseline gets what one replica gets
        local = lambda: synthesize_speech.synthesize_speech.local(SHORT_TEXT, model=MODEL)  # noqa: E731
        through_ray = lambda: synthesize_speech.synthesize_speech(SHORT_TEXT, model=MODEL)  # noqa: E731
        local()
        through_ray()
        local_s, ray_s = [], []
        for _ in range(LATENCY_RUNS):
            local_s.append(seconds_of(local))
            ray_s.append(seconds_of(through_ray))
        results["local_call"], results["ray_call"] = figure(local_s), figure(ray_s)

        cold = speech_app(1)
        entry = next(entry for entry in cold["applications"] if entry["name"] == "speech")
        entry["name"] = "speech-cold"  # its own application, starting with no replica
        deployment = entry["deployments"][0]
        deployment.pop("num_replicas")
        deployment["autoscaling_config"] = {"min_replicas": 0, "initial_replicas": 0, "max_replicas": 1,
                                            "upscale_delay_s": 0}
        run.deploy(cold, only=["speech-cold"])
        cold_remote = RayRemote({MODEL: "speech-cold"})
        arguments = {"text": SHORT_TEXT, "model": MODEL, "voice": None}
        results["cold_start_s"] = seconds_of(lambda: cold_remote.call("synthesize_speech", MODEL, arguments))
        results["cold_then_warm"] = figure([seconds_of(lambda: cold_remote.call("synthesize_speech", MODEL,
                                                                                arguments)) for _ in range(3)])
        return results
    finally:
        serve.shutdown()  # before leaving: serve.shutdown() would otherwise start a new local Ray to connect to
        client.disconnect()


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """The section's printed rows."""
    ratio = results["two_replicas_rps"] / results["one_replica_rps"]
    added = results["ray_call"].median - results["local_call"].median
    return [
        (f"{CLIENTS} clients, 2 replicas x 1 thread / 1 replica x 1 thread, throughput (target >= 1.6)",
         f"{ratio:.2f} ({results['two_replicas_rps']:.2f} vs {results['one_replica_rps']:.2f} requests/s)"),
        ("one call, local / through Ray (added latency)",
         f"{results['local_call']} / {results['ray_call']} ({added * 1000:+.0f} ms)"),
        ("cold start from 0 replicas (replica start, model load, call) / warm call",
         f"{results['cold_start_s']:.2f} s / {results['cold_then_warm']}"),
    ]
