"""Deploy serve_config.yaml's applications from Python, with overrides: what tests and benchmarks use.

`serve run serve_config.yaml` / `serve deploy serve_config.yaml` are the way for a real cluster; this applies the
same fields (deployment options, ray_actor_options, the application's runtime_env) through `serve` calls, so a
test can shrink replicas and queues without writing another file.
"""

import copy
import time
from typing import Any

from ray import serve

from backend.serving.deployment import TaskServer

# Deployment fields of the config that are passed on to `TaskServer.options`.
DEPLOYMENT_FIELDS = ("num_replicas", "autoscaling_config", "max_ongoing_requests", "max_queued_requests",
                     "ray_actor_options", "graceful_shutdown_timeout_s", "health_check_period_s")


def with_overrides(config: dict[str, Any], overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A copy of the config with some applications' deployment fields replaced ({app: {field: value}})."""
    changed = copy.deepcopy(config)
    for entry in changed["applications"]:
        deployment = entry["deployments"][0]
        for field, value in overrides.get(entry["name"], {}).items():
            if field == "args":
                entry["args"] = value
                continue
            if field == "num_replicas":
                deployment.pop("autoscaling_config", None)
            deployment[field] = value
    return changed


def deploy(config: dict[str, Any], only: list[str] | None = None, wait_s: float = 180) -> None:
    """Start (or update) the config's applications, or only those named, and wait until they run."""
    serve.start(proxy_location=config.get("proxy_location", "Disabled"), http_options=config.get("http_options"))
    names = []
    for entry in config["applications"]:
        if only is not None and entry["name"] not in only:
            continue
        deployment = entry["deployments"][0]
        options = {field: copy.deepcopy(deployment[field]) for field in DEPLOYMENT_FIELDS if field in deployment}
        actor = options.setdefault("ray_actor_options", {})
        if entry.get("runtime_env"):
            actor["runtime_env"] = merged_runtime_env(entry["runtime_env"], actor.get("runtime_env", {}))
        bound = TaskServer.options(**options).bind(list(entry["args"]["tasks"]))
        serve._run(bound, _blocking=False, name=entry["name"], route_prefix=None)  # all start at once
        names.append(entry["name"])
    wait_running(names, wait_s)


def merged_runtime_env(application: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    """The actor's runtime_env over the application's, as Ray merges them: env_vars key by key, other fields whole."""
    env_vars = {**application.get("env_vars", {}), **actor.get("env_vars", {})}
    return {**application, **actor, **({"env_vars": env_vars} if env_vars else {})}


def wait_running(names: list[str], wait_s: float) -> None:
    """Block until every named application is RUNNING; a RuntimeError with their states after wait_s."""
    deadline = time.monotonic() + wait_s
    while True:
        apps = serve.status().applications
        states = {name: str(apps[name].status) if name in apps else "MISSING" for name in names}
        if all(state.endswith("RUNNING") for state in states.values()):
            return
        if any(state.endswith("DEPLOY_FAILED") for state in states.values()) or time.monotonic() > deadline:
            raise RuntimeError(f"Serve applications did not start: {states}")
        time.sleep(0.5)
