"""Whether a Serve application's replicas can be placed on the cluster at all.

A replica that asks for a GPU on a cluster without one (or for more CPUs or memory than any node has) is never
started, yet Serve shows the application RUNNING (min_replicas 0) and a request waits the front end's whole
timeout; Serve's own status says why only after 30 s. So the front end compares what one replica asks for (Serve's
`required_resources` of the deployment) with what each live node has, and a request for such a model fails at
once with a message naming the application and the resources no node has.

Checked once per application and reused for CHECK_TTL_S, so a node added to (or removed from) the cluster is seen
within that time. APP_RAY_PLACEMENT_CHECK=0 turns it off, for a cluster whose autoscaler adds GPU nodes on demand.
"""

import logging
import os
import threading
import time
from typing import Any

import ray

logger = logging.getLogger(__name__)

# How long a verdict (and the cluster's nodes behind it) is reused, seconds.
CHECK_TTL_S = 10.0
GB = 1024**3


def amount_of(name: str, amount: float) -> str:
    """An amount of a Ray resource in words: "1 GPU", "4 CPUs", "12 GB of memory", "2 of 'TPU'"."""
    if name in ("CPU", "GPU"):
        return f"{amount:g} {name}" + ("" if amount == 1 else "s")
    if name == "memory":
        return f"{amount / GB:.3g} GB of memory"
    return f"{amount:g} of {name!r}"


def none_of(name: str) -> str:
    """ "no node has a GPU" and the like."""
    return {"CPU": "no node has a CPU", "GPU": "no node has a GPU", "memory": "no node has memory to give"}.get(
        name, f"no node has the resource {name!r}")


def enabled() -> bool:
    """Whether requests are checked against the cluster's nodes (APP_RAY_PLACEMENT_CHECK, default on)."""
    return os.environ.get("APP_RAY_PLACEMENT_CHECK", "1").strip() != "0"


def replica_needs(details: dict[str, Any], app_name: str) -> dict[str, float] | None:
    """What one replica of the application's deployment asks for ({"CPU": 4.0, "GPU": 1.0}); None if unknown."""
    deployments = (details.get("applications") or {}).get(app_name, {}).get("deployments") or {}
    for deployment in deployments.values():  # one deployment per application (serve_config.yaml)
        needs = deployment.get("required_resources")
        if isinstance(needs, dict):
            return {name: float(amount) for name, amount in needs.items() if amount}
    return None


def live_nodes() -> list[dict[str, float]]:
    """The resources of every live node of the cluster."""
    return [dict(node.get("Resources") or {}) for node in ray.nodes() if node.get("Alive")]


def shortfall(needs: dict[str, float], nodes: list[dict[str, float]]) -> str | None:
    """Why no node can hold a replica with these needs, in words; None when one can."""
    if any(all(node.get(name, 0.0) >= amount for name, amount in needs.items()) for node in nodes):
        return None
    short = []
    for name, amount in needs.items():
        most = max((node.get(name, 0.0) for node in nodes), default=0.0)
        if most < amount:
            short.append(none_of(name) if most == 0 else f"the largest node has {amount_of(name, most)}")
    return "; ".join(short) if short else "no single node has all of them at once"


def describe(needs: dict[str, float]) -> str:
    """{"CPU": 4.0, "GPU": 1.0} as "4 CPUs and 1 GPU"."""
    return " and ".join(amount_of(name, amount) for name, amount in sorted(needs.items()))


class PlacementCheck:
    """Per application, whether its replicas can be placed; cached for CHECK_TTL_S."""

    def __init__(self, ttl_s: float = CHECK_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._verdicts: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def problem(self, app_name: str) -> str | None:
        """Our message when no replica of `app_name` can ever start on the cluster as it is now; else None."""
        if not enabled():
            return None
        with self._lock:
            cached = self._verdicts.get(app_name)
            if cached is not None and time.monotonic() - cached[0] < self.ttl_s:
                return cached[1]
        needs, nodes = self._look(app_name)
        if needs is None:
            return None  # not deployed (the call then says so) or not known: nothing kept, asked again next time
        verdict = self._verdict(app_name, needs, nodes)
        with self._lock:
            self._verdicts[app_name] = (time.monotonic(), verdict)
        return verdict

    def _look(self, app_name: str) -> tuple[dict[str, float] | None, list[dict[str, float]]]:
        """What one replica of the application asks for (None when unknown), and the live nodes' resources."""
        from ray.serve.context import _get_global_client

        try:
            return replica_needs(_get_global_client().get_serve_details(), app_name), live_nodes()
        except Exception:  # the check must never stop a request: Serve's own timeout still applies
            logger.warning("Could not check where %s's replicas can run", app_name, exc_info=True)
            return None, []

    @staticmethod
    def _verdict(app_name: str, needs: dict[str, float], nodes: list[dict[str, float]]) -> str | None:
        """Our message when no node can hold one replica; None when one can."""
        why = shortfall(needs, nodes) if needs else None
        if why is None:
            return None
        logger.warning("Serve application %s cannot be placed: needs %s per replica; %s", app_name, needs, why)
        return (f"The model server {app_name!r} cannot start on this cluster: each of its replicas asks for "
                f"{describe(needs)}, and {why}. The admin must add such a node, or deploy serve_config.cpu.yaml "
                "(CPU only).")
