"""The app: one tab per task plus a Models tab, all served by one shared model backend.

    python app.py [--host 0.0.0.0] [--port 7860] [--share] [--models-dir DIR] [--preload defaults] [--device cpu]
                  [--no-mcp]

Beside the UI the same server offers every task as an MCP tool (/gradio_api/mcp/) and OpenAI-compatible audio
routes (/v1/audio/*): see api/.
    python app.py --backend ray [--ray-address ADDRESS] [--serve-config serve_config.yaml]   # model work on Ray Serve

`demo` is module level so `gradio app.py` (reload mode) and Hugging Face Spaces find it.
"""

import argparse
import logging
import os
import threading

import gradio as gr

import api
from backend import dispatch, models, programs
from backend.catalog import CATALOG, TASKS, default_model
from backend.engines import ENGINES
from backend.limits import MAX_AUDIO_BYTES, MAX_IMAGE_BYTES, MAX_VIDEO_BYTES
from backend.versions import versions_line
from demos import (
    answer_document,
    caption_image,
    classify_image,
    classify_video,
    compare_models,
    detect_objects,
    estimate_depth,
    fill_mask,
    segment_image,
    synthesize_speech,
    transcribe,
    translate,
    translate_speech,
)
from demos import models as models_tab
from demos.common import guard_events, spaces

logger = logging.getLogger("app")

TITLE = "Multi-task model demo"
# Requests waiting for the model queue beyond this are turned away with "busy, try again" instead of piling up.
QUEUE_SIZE = int(os.environ.get("APP_QUEUE_SIZE", "32"))
# In Ray mode the cluster runs model calls side by side (replicas) and queues them (max_queued_requests), so one
# front end sends up to this many at once instead of one at a time.
RAY_CONCURRENCY = int(os.environ.get("APP_RAY_CONCURRENCY", "32"))
# Uploads larger than the largest input we accept are refused by gradio before they reach the disk.
MAX_FILE_SIZE = max(MAX_IMAGE_BYTES, MAX_AUDIO_BYTES, MAX_VIDEO_BYTES)
# gradio's cache of uploads and outputs: checked every 30 minutes, files older than an hour deleted.
DELETE_CACHE = (1800, 3600)
# Settings every launch uses, here and in the tests.
LAUNCH_SETTINGS = {
    "max_file_size": MAX_FILE_SIZE,
    "show_error": False,  # only gr.Error messages reach users; anything else is logged with a request id
    "enable_monitoring": False,  # gradio would otherwise serve a public /monitoring page
    # Every public event is also an MCP tool (api/mcp_tools.py); APP_MCP=0 or --no-mcp turns it off.
    "mcp_server": os.environ.get("APP_MCP", "1").strip() != "0",
}
# Tabs grouped by what the user brings: (group, [(tab label, task name, the function that builds the tab)]). The
# task name is the tab's id, so `?tab=<task>` in the URL opens that tab (e.g. /?tab=translate).
GROUPS = [
    ("Images", [
        ("Image classification", "classify_image", classify_image.build),
        ("Object detection", "detect_objects", detect_objects.build),
        ("Segmentation", "segment_image", segment_image.build),
        ("Depth", "estimate_depth", estimate_depth.build),
        ("Captioning", "caption_image", caption_image.build),
    ]),
    ("Video", [
        ("Video classification", "classify_video", classify_video.build),
    ]),
    ("Text", [
        ("Translation", "translate", translate.build),
        ("Masked words", "fill_mask", fill_mask.build),
    ]),
    ("Documents", [
        ("Document questions", "answer_document", answer_document.build),
    ]),
    ("Speech", [
        ("Speech recognition", "transcribe", transcribe.build),
        ("Text to speech", "synthesize_speech", synthesize_speech.build),
        ("Speech translation", "translate_speech", translate_speech.build),
    ]),
    ("Compare", [("Compare models", "compare_models", compare_models.build)]),
    ("Models", [("Models", "models", models_tab.build)]),
]
GROUP_OF_TAB = {tab_id: group for group, tabs in GROUPS for _, tab_id, _ in tabs}


# Groups with an inner row of tabs (all but Models, which is one page), whose inner gr.Tabs a deep link selects.
NESTED_GROUPS = [group for group, _ in GROUPS if group != "Models"]


def open_linked_tab(request: gr.Request) -> list[gr.Tabs]:
    """Select the group and tab named by the page's `?tab=<task>` query; no query or an unknown name changes nothing."""
    tab_id = request.query_params.get("tab", "") if request else ""
    group = GROUP_OF_TAB.get(tab_id)
    if group is None:
        return [gr.Tabs()] * (1 + len(NESTED_GROUPS))
    inner = [gr.Tabs(selected=tab_id) if name == group else gr.Tabs() for name in NESTED_GROUPS]
    return [gr.Tabs(selected=group), *inner]


def show_random_weights_notice() -> gr.Markdown:
    """A warning above the tabs when the models have random weights (the offline tiny-model demo)."""
    return gr.Markdown("**These models have random weights** (tiny test checkpoints): every output is random. "
                       "Use it to try the interface; run without --models-dir for the real models.",
                       visible=models.random_weights())


with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as demo:
    gr.Markdown(f"# {TITLE}\nState-of-the-art open models for images, video, text, documents and speech, one tab "
                "per task. Each model is loaded on its first use and kept for the next request.")
    random_weights_notice = gr.Markdown(visible=False)
    inner_tabs = {}
    with gr.Tabs() as group_tabs:
        for group, tabs in GROUPS:
            with gr.Tab(group, id=group):
                if group not in NESTED_GROUPS:
                    tabs[0][2]()
                    continue
                with gr.Tabs() as inner_tabs[group]:
                    for label, tab_id, build in tabs:
                        with gr.Tab(label, id=tab_id):
                            build()  # the tab's blocks are made here, so reload mode gives them fresh ids
    demo.load(show_random_weights_notice, outputs=random_weights_notice, api_visibility="private", queue=False,
              show_progress="hidden")
    demo.load(open_linked_tab, outputs=[group_tabs, *(inner_tabs[group] for group in NESTED_GROUPS)],
              api_visibility="private", queue=False, show_progress="hidden")
demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
guard_events(demo)  # any failure, in a handler or in gradio's processing around it, is our message with an id
api.mcp_tools.free_text_menus(demo)  # menus that take typed values ("French") are plain strings for API clients


def launch_settings(mcp_server: bool | None = None) -> dict:
    """LAUNCH_SETTINGS plus the API surfaces (MCP fitting, /v1 routes, API key), fresh for each launch."""
    settings = {**LAUNCH_SETTINGS, "app_kwargs": api.app_kwargs(demo)}
    if mcp_server is not None:
        settings["mcp_server"] = mcp_server
    return settings


def preload_models(which: str) -> None:
    """Load the default models (or all) in the background, so first requests do not wait."""
    ids = [default_model(task).id for task in TASKS] if which == "defaults" else [spec.id for spec in CATALOG]
    for model_id in ids:
        try:
            models.CACHE.get(model_id)
        except Exception:  # a missing model must not stop the others or the app
            logger.exception("Could not preload %s", model_id)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line flags."""
    parser = argparse.ArgumentParser(description=TITLE)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to listen on; 0.0.0.0 for every interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--share", action="store_true", help="also serve on a temporary public gradio.live link")
    parser.add_argument("--models-dir", help="folder of local checkpoints, <org>/<name>/ each (sets MODELS_DIR)")
    parser.add_argument("--preload", choices=["none", "defaults", "all"], default="none",
                        help="load models at start-up, in the background")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default=None,
                        help="force a device (default: APP_DEVICE or automatic)")
    parser.add_argument("--engine", choices=list(ENGINES), default=None,
                        help="inference engine for Whisper and M2M100: auto (CTranslate2 when installed), torch or "
                             "ctranslate2 (default: APP_ENGINE or auto)")
    parser.add_argument("--no-mcp", action="store_true", help="do not serve the tasks as MCP tools (APP_MCP=0)")
    parser.add_argument("--backend", choices=dispatch.BACKENDS, default=os.environ.get("APP_BACKEND") or "local",
                        help="where models run: in this process (local, the default) or on a Ray Serve cluster (ray)")
    parser.add_argument("--ray-address", default=os.environ.get("RAY_ADDRESS", "auto"),
                        help="the Ray cluster to join in Ray mode (default: RAY_ADDRESS or auto, the local one)")
    parser.add_argument("--serve-config", default=None,
                        help="the Serve config naming which application serves each model (default: serve_config.yaml)")
    return parser.parse_args(argv)


def use_ray_backend(address: str, serve_config: str | None) -> None:
    """Send model work to the Ray cluster at `address` and let model events run side by side; exit if unreachable."""
    from backend.errors import ServiceUnavailableError
    from backend.serving import client  # imports Ray: only in Ray mode

    try:
        client.connect(address, serve_config=serve_config)
    except ServiceUnavailableError as error:
        raise SystemExit(f"app.py: {error}") from None
    for function in demo.fns.values():
        if function.api_name in TASKS:
            function.concurrency_limit = RAY_CONCURRENCY
    logger.info("Model work goes to the Ray cluster at %s", address)


def main(argv: list[str] | None = None) -> None:
    """Parse flags, configure the backend, launch the server."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.models_dir:
        os.environ["MODELS_DIR"] = os.path.abspath(args.models_dir)
    if args.engine:
        os.environ["APP_ENGINE"] = args.engine
    if args.device:
        models.configure(args.device)
    if args.backend == "ray":
        use_ray_backend(args.ray_address, args.serve_config)
        if args.preload != "none":
            logger.info("--preload is for local mode; in Ray mode replicas load models on their first request")
            args.preload = "none"
    logger.info("Starting on %s with %s", models.CACHE.status()["device_name"], versions_line())
    programs.log_missing()  # each optional system program this machine lacks, and what replaces it
    preload = "defaults" if spaces is not None and args.preload == "none" else args.preload  # ZeroGPU: warm start
    if preload != "none":
        threading.Thread(target=preload_models, args=(preload,), daemon=True).start()
    demo.launch(server_name=args.host, server_port=args.port, share=args.share,
                **launch_settings(mcp_server=False if args.no_mcp else None))


if __name__ == "__main__":
    main()
