"""Every vision model through the launched app's HTTP API against its forward pass alone.

A request here is what an API user pays: the 640x480 JPEG (or the 5 s clip) is uploaded, the event runs in
gradio's queue, and every output file the endpoint returns is downloaded. Two clients: plain HTTP keeping one
connection (upload, `POST /gradio_api/call/<name>`, its event stream, the downloads), the row the target applies
to, and gradio_client, which opens a new HTTP client (TLS context included) for each upload and download. The
target of these rows: app call <= 1.10 x forward-only + 0.1 s.
"""

from collections.abc import Callable, Iterator
from typing import Any

import httpx
from gradio_client import Client, handle_file

from bench import calls, serving
from bench.timing import Figure, interleaved, timed

RUNS = 5  # one run in three of DETR's app calls took 0.5 s longer in some runs: five keep the median
TARGET_RATIO = 1.10
TARGET_SLACK_SECONDS = 0.1  # HTTP, upload and download may add this much on top of the ratio

# The six models of the first tasks; the others are the vision systems added after them.
FIRST_SIX_TASKS_IDS = ["openai/clip-vit-large-patch14", "facebook/detr-resnet-50", "google/owlvit-base-patch32",
                       "vinvino02/glpn-nyu", "Intel/dpt-large", "depth-anything/Depth-Anything-V2-Small-hf"]
# Per model: the endpoint and its arguments besides the image (or video), as a user of that tab sends them.
REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "openai/clip-vit-large-patch14": ("/classify_image", {"labels": ", ".join(calls.LABELS)}),
    "google/vit-base-patch16-224": ("/classify_image", {"labels": ""}),
    "facebook/detr-resnet-50": ("/detect_objects", {"queries": ""}),
    "google/owlvit-base-patch32": ("/detect_objects", {"queries": ", ".join(calls.LABELS)}),
    "nvidia/segformer-b0-finetuned-ade-512-512": ("/segment_image", {}),
    "vinvino02/glpn-nyu": ("/estimate_depth", {}),
    "Intel/dpt-large": ("/estimate_depth", {}),
    "depth-anything/Depth-Anything-V2-Small-hf": ("/estimate_depth", {}),
    "microsoft/git-base-coco": ("/caption_image", {}),
    "MCG-NJU/videomae-base-finetuned-kinetics": ("/classify_video", {}),
}


def http_call(client: Client, model_id: str) -> Callable[[], object]:
    """One request for `model_id` through gradio_client, upload and downloads included."""
    api_name, arguments = REQUESTS[model_id]
    if api_name == "/classify_video":
        media = {"video": handle_file(str(calls.CLIP_FILE))}
    else:
        media = {"image": handle_file(str(calls.PHOTO_FILE))}
    return lambda: client.predict(**media, **arguments, model=model_id, api_name=api_name)


def rest_call(http: httpx.Client, url: str, parameters: list[dict[str, Any]], model_id: str) -> Callable[[], object]:
    """The same request over plain HTTP on one kept connection: upload, call, event stream, every output file.

    `parameters` are the endpoint's, as its /gradio_api/info lists them: those not sent take their defaults.
    """
    api_name, arguments = REQUESTS[model_id]
    base = url.rstrip("/") + "/gradio_api"
    media = calls.CLIP_FILE if api_name == "/classify_video" else calls.PHOTO_FILE

    def call() -> Any:
        with media.open("rb") as file:
            (uploaded,) = http.post(f"{base}/upload", files={"files": (media.name, file)}).json()
        given = {**arguments, "model": model_id,
                 parameters[0]["parameter_name"]: {"path": uploaded, "meta": {"_type": "gradio.FileData"}}}
        data = [given.get(item["parameter_name"], item.get("parameter_default")) for item in parameters]
        outputs = serving.rest_outputs(http, url, api_name.lstrip("/"), data)
        return outputs, [http.get(file_url).content for file_url in file_urls(outputs)]

    return call


def file_urls(value: Any) -> Iterator[str]:
    """The URLs of every file in an endpoint's outputs (FileData dicts, at any depth)."""
    if isinstance(value, dict):
        if isinstance(value.get("url"), str) and "path" in value:
            yield value["url"]
        else:
            for item in value.values():
                yield from file_urls(item)
    elif isinstance(value, list):
        for item in value:
            yield from file_urls(item)


def meets_target(forward: Figure, app: Figure) -> bool:
    """Whether an app call's median is within the target of its forward pass's median."""
    return app.median <= TARGET_RATIO * forward.median + TARGET_SLACK_SECONDS


def vision_http() -> list[dict[str, Any]]:
    """Per vision model: forward-only against the plain-HTTP app call, in turns; then gradio_client's call."""
    from backend import models

    url = serving.launch_app()
    rows = []
    try:
        client = Client(url, verbose=False)
        endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        with httpx.Client(timeout=300) as http:
            for model_id in [model_id for model_id in calls.IDS if model_id in calls.VISION_IDS]:  # --models
                parameters = endpoints[REQUESTS[model_id][0]]["parameters"]
                forward, app = interleaved(calls.forward_only(model_id), rest_call(http, url, parameters, model_id),
                                           RUNS)
                by_client = timed(http_call(client, model_id), RUNS)
                rows.append({"model": model_id, "forward": forward, "app": app, "client": by_client})
                print(model_id, forward, app, by_client, flush=True)
                models.unload(model_id)
    finally:
        serving.close_app()
    return rows
