"""Where replicas publish their model caches, so a front end can show every replica's loaded models.

A detached named actor holds the last state each replica reported (after every load, unload and request). A
replica that dies stops reporting; readers drop it by checking that its Serve actor still exists.
"""

import time
from typing import Any

import ray

NAME = "model_registry"
NAMESPACE = "multi_task_app"
SERVE_NAMESPACE = "serve"  # where Serve names its replica actors


@ray.remote(num_cpus=0)
class ModelRegistry:
    """Replica actor name -> {"app", "replica", "reported", "cache": ModelCache.status()}."""

    def __init__(self) -> None:
        self.replicas: dict[str, dict[str, Any]] = {}

    def report(self, actor_name: str, app: str, replica: str, cache: dict[str, Any]) -> None:
        """Record one replica's cache state."""
        self.replicas[actor_name] = {"app": app, "replica": replica, "reported": time.time(), "cache": cache}

    def forget(self, actor_name: str) -> None:
        """Drop a replica that is gone."""
        self.replicas.pop(actor_name, None)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every recorded replica."""
        return dict(self.replicas)


def registry() -> Any:
    """The cluster's registry actor, created by whoever asks first."""
    return ModelRegistry.options(name=NAME, namespace=NAMESPACE, lifetime="detached",
                                 get_if_exists=True).remote()


def alive(actor_name: str) -> bool:
    """Whether a replica's actor still exists."""
    try:
        ray.get_actor(actor_name, namespace=SERVE_NAMESPACE)
    except ValueError:
        return False
    return True


def live_replicas() -> list[dict[str, Any]]:
    """The state of every replica that is still alive, by application and replica id; dead ones are forgotten."""
    actor = registry()
    entries = []
    for actor_name, entry in ray.get(actor.snapshot.remote(), timeout=10).items():
        if alive(actor_name):
            entries.append(entry)
        else:
            actor.forget.remote(actor_name)
    return sorted(entries, key=lambda entry: (entry["app"], entry["replica"]))
