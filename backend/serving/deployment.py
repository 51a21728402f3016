"""The Serve deployment every application of serve_config.yaml runs: the app's task functions on a replica.

One class for every task group, parametrised by the tasks it serves. Requests carry the model id as Serve's
multiplexed model id, so Serve routes a model's requests to replicas that have it loaded. Serve keeps a
count-based LRU per replica; the weights themselves live in our byte-budget cache (backend/models.py), which does
the real eviction. Requests run in threads, so our device lock and RequestBatcher (backend/compute.py) work
inside a replica as they do in the local app.
"""

import asyncio
import contextlib
import importlib
import logging
import os
from typing import Any

import ray
from ray import serve
from ray.serve import Application

from backend import dispatch, models
from backend.serving import registry

logger = logging.getLogger(__name__)

# Models Serve counts as loaded per replica before it evicts the least recently used (our cache may evict
# sooner, by bytes); set per application in serve_config.yaml.
MAX_MODELS_PER_REPLICA = int(os.environ.get("APP_MAX_MODELS_PER_REPLICA", "8"))


class ModelSlot:
    """Serve's record of one model on this replica; the weights stay in our cache, not here."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id

    def __del__(self) -> None:
        """Serve evicted the model (its count limit): unload it from our cache too."""
        with contextlib.suppress(Exception):  # also runs at interpreter exit, when the cache may be gone
            models.CACHE.unload(self.model_id)


@serve.deployment(name="TaskServer")
class TaskServer:
    """Runs the task functions of `tasks` on this replica, one model cache per replica."""

    def __init__(self, tasks: list[str]) -> None:
        for name in tasks:  # importing a task module registers its function in dispatch.TASKS
            importlib.import_module(f"backend.tasks.{name}")
        self.tasks = tuple(tasks)
        context = serve.get_replica_context()
        self.app = context.app_name
        self.replica = context.replica_id.unique_id
        self.actor_name = ray.get_runtime_context().get_actor_name()
        self.registry = registry.registry()
        self.report()

    @serve.multiplexed(max_num_models_per_replica=MAX_MODELS_PER_REPLICA)
    async def get_model(self, model_id: str) -> ModelSlot:
        """Load a model into this replica's cache (Serve calls this once per model id it routes here)."""
        await asyncio.to_thread(models.get, model_id)
        self.report()
        return ModelSlot(model_id)

    async def __call__(self, task: str, arguments: dict[str, Any]) -> Any:
        """Run one task call with the request's model; errors reach the caller as raised (our types)."""
        if task not in self.tasks:
            raise ValueError(f"Application {self.app!r} does not serve the task {task!r}; see serve_config.yaml.")
        await self.get_model(serve.get_multiplexed_model_id())
        try:
            return await asyncio.to_thread(dispatch.TASKS[task], **arguments)
        finally:
            self.report()

    async def load(self) -> str:
        """Load the request's model now (the Models tab's Load button); returns this replica's id."""
        await self.get_model(serve.get_multiplexed_model_id())
        return self.replica

    def unload(self) -> bool:
        """Unload the request's model from this replica's cache; False if it was not loaded."""
        unloaded = models.CACHE.unload(serve.get_multiplexed_model_id())
        self.report()
        return unloaded

    def report(self) -> None:
        """Publish this replica's cache state to the registry (fire and forget)."""
        self.registry.report.remote(self.actor_name, self.app, self.replica, models.CACHE.status())


def app(args: dict[str, Any]) -> Application:
    """The application for serve_config.yaml's `import_path`: args {"tasks": [...], "models": [...]}."""
    return TaskServer.bind(list(args["tasks"]))
