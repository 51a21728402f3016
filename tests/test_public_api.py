"""The public API contract: every endpoint, parameter (name, default, component) and output that users and scripts
rely on is still there. tests/public_api.json is the contract as of round 3; a change may add endpoints, parameters
(with defaults, after the old ones) and fields, never rename or remove one."""

import importlib
import json
import os
from pathlib import Path

import pytest
import yaml

import app

CONTRACT = json.loads((Path(__file__).parent / "public_api.json").read_text())
SERVE_CONFIG = Path(__file__).parent.parent / "serve_config.yaml"


def current_surface() -> dict[str, dict]:
    """The launched app's named endpoints as gradio describes them on its "Use via API" page."""
    endpoints = app.demo.get_api_info()["named_endpoints"]
    return {name: {"parameters": [{"name": p["parameter_name"], "default": p.get("parameter_default"),
                                   "component": p["component"], "optional": p["parameter_has_default"]}
                                  for p in endpoint["parameters"]],
                   "outputs": [r["component"] for r in endpoint["returns"]]}
            for name, endpoint in endpoints.items()}


def test_every_contract_endpoint_keeps_its_parameters_and_outputs() -> None:
    surface = current_surface()
    assert set(CONTRACT) <= set(surface), f"missing endpoints: {set(CONTRACT) - set(surface)}"
    for name, promised in CONTRACT.items():
        now = surface[name]
        count = len(promised["parameters"])
        kept = [{key: p[key] for key in ("name", "default", "component")} for p in now["parameters"][:count]]
        assert kept == promised["parameters"], name  # the same names, order, defaults and components
        added = now["parameters"][count:]
        assert all(p["optional"] for p in added), f"{name}: a new parameter needs a default"
        assert now["outputs"][-1] == "Json" and promised["outputs"][-1] == "Json", name  # the structured result last
        # outputs before the JSON may only be added to, never removed
        assert len(now["outputs"]) >= len(promised["outputs"]), name


def test_serve_config_import_paths_resolve() -> None:
    """Every application in serve_config.yaml names an importable `module:attribute` (Ray: requirements-ray.txt)."""
    if os.environ.get("CI", "").lower() != "true":
        pytest.importorskip("ray")
    config = yaml.safe_load(SERVE_CONFIG.read_text())
    paths = {application["import_path"] for application in config["applications"]}
    assert paths
    for path in paths:
        module, attribute = path.split(":")
        assert hasattr(importlib.import_module(module), attribute), path
