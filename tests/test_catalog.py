"""The catalog: one default per task, and defaults that suit the serving device."""

import pytest

from backend import catalog
from backend.catalog import TASKS, default_model, models_for


@pytest.fixture
def restore_device() -> None:
    """Put back the serving device the app's cache recorded."""
    before = catalog._serving_device
    yield
    catalog.set_serving_device(before)


@pytest.mark.parametrize("task", TASKS)
def test_every_task_has_exactly_one_default_and_at_most_one_cpu_default(task: str) -> None:
    specs = models_for(task)
    assert sum(spec.default for spec in specs) == 1
    assert sum(spec.cpu_default for spec in specs) <= 1


@pytest.mark.parametrize(("device", "expected"), [("cpu", "facebook/mms-tts-eng"), ("cuda", "suno/bark-small"),
                                                  ("mps", "suno/bark-small")])
def test_text_to_speech_defaults_to_mms_without_a_gpu(restore_device: None, device: str, expected: str) -> None:
    catalog.set_serving_device(device)
    assert default_model("synthesize_speech").id == expected
    assert catalog.resolve_model("synthesize_speech", None).id == expected  # what the API's "default" means
    assert default_model("translate").id == "facebook/m2m100_418M"  # tasks without a CPU default keep theirs
