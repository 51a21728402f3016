"""Models tab: the catalog with what is loaded where, the memory budget, and load/unload buttons.

In Ray mode the table shows every replica's models (one row per model and replica, the device column naming
the replica) and the buttons act on the replica the model's requests go to.
"""

from typing import Any

import gradio as gr
from gradio.context import get_blocks_context

from backend import dispatch, models, programs
from backend.catalog import CATALOG, find_model
from backend.versions import versions_line
from demos.common import MODEL_QUEUE, user_errors

TABLE_HEADERS = ["task", "model", "id", "loaded", "device", "engine", "precision", "memory (MB)", "load (s)", "hits",
                 "last used"]
REFRESH_SECONDS = 5  # the table follows loads made by other tabs


def caches() -> list[tuple[str, dict[str, Any]]]:
    """(where, cache status) for this process in local mode, for every live replica in Ray mode."""
    replicas = dispatch.replica_status()
    if replicas is None:
        return [("", models.CACHE.status())]
    return [(f"{replica['app']}/{replica['replica']}", replica["cache"]) for replica in replicas]


def catalog_rows() -> list[list[Any]]:
    """One row per catalog model and place it is loaded (one blank row when loaded nowhere)."""
    places: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for where, cache in caches():
        for entry in cache["models"]:
            places.setdefault(entry["id"], []).append((where, entry))
    rows = []
    for spec in CATALOG:
        task = f"{spec.task} (helper)" if spec.helper else spec.task  # e.g. MMS-LID, which MMS-1b-all calls
        for where, entry in places.get(spec.id, []):
            device = f"{entry['device']} on {where}" if where else entry["device"]
            rows.append([task, spec.label, spec.id, True, device, entry.get("engine", "torch"), entry["dtype"],
                         round(entry["bytes"] / 1e6, 1), entry["load_seconds"], entry["hits"], entry["last_used"]])
        if spec.id not in places:
            rows.append([task, spec.label, spec.id, False] + [""] * 7)
    return rows


def summary() -> str:
    """Device, dtype and memory use against the budget, then the versions a bug report needs."""
    replicas = dispatch.replica_status()
    if replicas is not None:
        used = sum(replica["cache"]["used_bytes"] for replica in replicas)
        return (f"**Ray Serve** {len(replicas)} replicas · **weights loaded** {used / 1e9:.2f} GB in all, each "
                f"replica under its own budget\n\n**Versions** {versions_line()}")
    status = models.CACHE.status()
    resident = status.get("resident_bytes")
    resident_text = "" if resident is None else f" · **resident now** {resident / 1e9:.2f} GB above start-up"
    return (f"**Device** {status['device_name']} · **dtype** {status['dtype']} · **weights loaded** "
            f"{status['used_bytes'] / 1e9:.2f} GB + {status.get('working_bytes', 0) / 1e9:.2f} GB working memory "
            f"of a {status['budget_bytes'] / 1e9:.1f} GB budget (least recently used models are unloaded beyond "
            f"it){resident_text}\n\n**Versions** {versions_line()}\n\n"
            f"{programs.status_markdown()}")


def refresh() -> tuple[str, list[list[Any]]]:
    """The summary line and the table, now."""
    return summary(), catalog_rows()


@user_errors
def load(model_id: str, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, list[list[Any]]]:  # noqa: B008
    """Load a model now, so the first request on its tab does not wait."""
    spec = find_model(model_id or "")
    if spec is None:
        raise gr.Error("Choose a model to load.")
    progress(0, desc=f"Loading {spec.label}...")
    dispatch.load_model(spec.id)
    return refresh()


@user_errors
def unload(model_id: str) -> tuple[str, list[list[Any]]]:
    """Unload a model and free its memory."""
    if find_model(model_id or ""):
        dispatch.unload_model(model_id)
    return refresh()


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    status_line = gr.Markdown(summary())
    table = gr.Dataframe(value=catalog_rows(), headers=TABLE_HEADERS, interactive=False, wrap=True)
    with gr.Row():
        chosen = gr.Dropdown(choices=[(f"{spec.label} ({spec.task})", spec.id) for spec in CATALOG],
                             value=CATALOG[0].id, label="Model", filterable=True)
        load_button = gr.Button("Load", variant="primary", scale=0)
        unload_button = gr.Button("Unload", scale=0)
        refresh_button = gr.Button("Refresh", scale=0)
    timer = gr.Timer(REFRESH_SECONDS)

    load_button.click(load, inputs=chosen, outputs=[status_line, table], api_visibility="private",
                      concurrency_id=MODEL_QUEUE)
    unload_button.click(unload, inputs=chosen, outputs=[status_line, table], api_visibility="private")
    page = get_blocks_context().root_block  # the Blocks this tab is built into: refresh on page load
    gr.on([refresh_button.click, timer.tick, page.load], refresh, outputs=[status_line, table],
          api_visibility="private", queue=False, show_progress="hidden")

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
