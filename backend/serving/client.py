"""The front end's side of Ray mode: connect to the cluster and send task calls to the Serve applications.

`connect(address)` makes this process a Ray driver and plugs a `RayRemote` into backend/dispatch.py. Each call
goes to the application serve_config.yaml names for its model, with the model id as Serve's multiplexed model
id. Errors come back as our own types with our own messages: never a Ray traceback, a pid or an address.
"""

import logging
import os
import socket
import time
import uuid
from typing import Any

import ray
from ray import serve
from ray.exceptions import ActorDiedError, ActorUnavailableError, GetTimeoutError, RayActorError, RayTaskError
from ray.serve.exceptions import (
    BackPressureError,
    DeploymentUnavailableError,
    RayServeException,
    RequestCancelledError,
)

from backend import dispatch
from backend.errors import BusyError, ServiceUnavailableError
from backend.serving import config, placement, registry

logger = logging.getLogger(__name__)

# Longest a front end waits for one call before cancelling it on the cluster, seconds (cold starts included).
CALL_TIMEOUT_S = float(os.environ.get("APP_RAY_TIMEOUT_S", "300"))
# Errors that mean the replica went away under the call: retried once, on whichever replica Serve picks.
REPLICA_GONE = (ActorDiedError, ActorUnavailableError, RayActorError)
# How long the Models tab's view of the replicas is reused, seconds (each tab refresh would otherwise ask).
STATUS_TTL_S = 2.0


class RayRemote:
    """Sends task calls to Serve applications by model id (dispatch.Remote)."""

    def __init__(self, routes: dict[str, str], timeout_s: float = CALL_TIMEOUT_S) -> None:
        self.routes = routes  # catalog model id -> application name
        self.timeout_s = timeout_s
        self._status: tuple[float, list[dict[str, Any]]] = (0.0, [])
        self.placement = placement.PlacementCheck()  # whether each application's replicas can start at all

    def call(self, task: str, model_id: str, arguments: dict[str, Any]) -> Any:
        """The task's result from a replica serving `model_id`, with one retry if that replica died."""
        return self._send(model_id, "__call__", task, arguments)

    def load(self, model_id: str) -> str:
        """Load a model on a replica of its application now; that replica's id."""
        return self._send(model_id, "load")

    def unload(self, model_id: str) -> bool:
        """Unload a model from the replica Serve routes its requests to."""
        return self._send(model_id, "unload")

    def is_loaded(self, model_id: str) -> bool:
        """Whether some live replica has the model in its cache."""
        return any(entry["id"] == model_id for replica in self.status() for entry in replica["cache"]["models"])

    def status(self) -> list[dict[str, Any]]:
        """Every live replica's application, id and cache state (reused for STATUS_TTL_S)."""
        taken, replicas = self._status
        if time.monotonic() - taken > STATUS_TTL_S:
            replicas = registry.live_replicas()
            self._status = (time.monotonic(), replicas)
        return replicas

    def _send(self, model_id: str, method: str, *args: Any) -> Any:
        """Call `method` of the model's application, mapping Ray's errors to ours."""
        app_name = self.routes.get(model_id)
        if app_name is None:
            raise ServiceUnavailableError("No model server is configured for this model; the admin must add it to "
                                          "the Serve config.")
        problem = self.placement.problem(app_name)
        if problem:  # e.g. a replica that asks for a GPU on a CPU-only cluster: it would wait the whole timeout
            raise ServiceUnavailableError(problem)
        for attempt in (1, 2):
            response = self._handle(app_name).options(multiplexed_model_id=model_id, method_name=method).remote(*args)
            try:
                return response.result(timeout_s=self.timeout_s)
            except BackPressureError:
                raise BusyError("The model servers are busy; try again in a moment.") from None
            except (GetTimeoutError, TimeoutError):
                response.cancel()  # frees the replica's slot; the computation itself may still finish
                raise ServiceUnavailableError(f"The request took longer than {self.timeout_s:g} s and was cancelled. "
                                              "Try a shorter input, or try again later.") from None
            except RayTaskError as error:
                raise our_error(error) from None
            except REPLICA_GONE:
                logger.warning("A replica of %s stopped during a call (attempt %d)", app_name, attempt)
                if attempt == 2:
                    raise ServiceUnavailableError("The model server handling this request stopped twice; try again "
                                                  "in a moment.") from None
            except (DeploymentUnavailableError, RequestCancelledError):
                raise ServiceUnavailableError("The model server for this model is not available; try again later "
                                              "or ask the admin to check the cluster.") from None
        raise AssertionError("unreachable")

    def _handle(self, app_name: str) -> Any:
        """The application's handle; an application that is not deployed is our error, naming it."""
        try:
            return serve.get_app_handle(app_name)
        except RayServeException as error:
            raise ServiceUnavailableError(f"The model server {app_name!r} is not deployed on the cluster; the admin "
                                          "must deploy it (serve deploy serve_config.yaml).") from error


def our_error(error: RayTaskError) -> BaseException:
    """The exception a replica raised, rebuilt from its own class and message (no Ray traceback, pid or address)."""
    cause = error.cause if isinstance(error.cause, BaseException) else None
    if isinstance(cause, REPLICA_GONE):
        return ServiceUnavailableError("The model server handling this request stopped; try again in a moment.")
    if isinstance(cause, BackPressureError):
        return BusyError("The model servers are busy; try again in a moment.")
    if cause is None or isinstance(cause, RayTaskError):
        request_id = uuid.uuid4().hex[:8]
        logger.error("Request %s failed on the cluster: %s", request_id, error)
        return RuntimeError(f"A model server failed (request {request_id}).")
    try:
        rebuilt = type(cause)(*cause.args)
    except Exception:  # a class whose constructor takes other arguments: keep the original object
        rebuilt = cause
    rebuilt.__traceback__ = None
    return rebuilt


def connect(address: str, serve_config: str | None = None, timeout_s: float = CALL_TIMEOUT_S) -> RayRemote:
    """Join the Ray cluster at `address` and send every task call there from now on."""
    if serve_config:
        os.environ["APP_SERVE_CONFIG"] = serve_config
    routes = config.routes(config.applications(config.load_config()))
    if not ray.is_initialized():
        check_reachable(address)
        try:
            ray.init(address=address, namespace=registry.NAMESPACE, logging_level=logging.WARNING,
                     log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ServiceUnavailableError(f"Could not reach a Ray cluster at {address!r}: start one (ray start --head) "
                                          f"or pass --ray-address.") from error
    try:
        deployed = set(serve.status().applications)
    except RayServeException:
        deployed = set()
    missing = sorted(set(routes.values()) - deployed)
    if missing:
        logger.warning("Serve applications not deployed on %s: %s (serve deploy serve_config.yaml)", address,
                       ", ".join(missing))
    remote = RayRemote(routes, timeout_s=timeout_s)
    dispatch.use_ray(remote)
    return remote


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a host:port address nothing listens on at once (ray.init would retry it for minutes)."""
    host, _, port = address.rpartition(":")
    if address in ("auto", "local") or "://" in address or not port.isdigit():
        return  # "auto" finds the local cluster or fails fast; ray:// goes through Ray Client
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise ServiceUnavailableError(f"Could not reach a Ray cluster at {address!r}: start one (ray start --head) "
                                      "or pass --ray-address.") from error


def disconnect() -> None:
    """Return to local mode and leave the cluster (the cluster and its models keep running)."""
    dispatch.use_ray(None)
    if ray.is_initialized():
        ray.shutdown()
