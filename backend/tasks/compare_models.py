"""Models side by side: one input, two to four catalog models of one task, each model's result and its seconds.

The models run one after another, each through the dispatch point like any other call (so the same queue, device
lock and memory budget; in Ray mode, on the cluster). A model that fails gives its message in its own column and
the others still answer. Seconds are the call's wall time with the model already loaded; a model loaded for the
comparison reports its load time apart.
"""

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from backend import dispatch, inputs
from backend.catalog import models_for, resolve_model
from backend.errors import (
    InputError,
    MissingPackageError,
    ModelUnavailableError,
    ResourceExhaustedError,
    ServiceUnavailableError,
)
from backend.tasks import (
    caption_image,
    classify_image,
    detect_objects,
    estimate_depth,
    fill_mask,
    segment_image,
    synthesize_speech,
    transcribe,
    translate,
)

logger = logging.getLogger(__name__)

MIN_MODELS, MAX_MODELS = 2, 4
# Every task whose input is one image, one text or one audio: its dispatched function and the kind of its input
# (the function's first parameter is named after the kind).
TASK_FUNCTIONS = {
    "classify_image": (classify_image.classify_image, "image"),
    "detect_objects": (detect_objects.detect_objects, "image"),
    "segment_image": (segment_image.segment_image, "image"),
    "estimate_depth": (estimate_depth.estimate_depth, "image"),
    "caption_image": (caption_image.caption_image, "image"),
    "translate": (translate.translate, "text"),
    "fill_mask": (fill_mask.fill_mask, "text"),
    "synthesize_speech": (synthesize_speech.synthesize_speech, "text"),
    "transcribe": (transcribe.transcribe, "audio"),
}
# The task's other parameters a comparison may set through `options` (file parameters never: they would name files
# on the server), and those it must set.
OPTIONS = {
    "classify_image": ("labels", "template"),
    "detect_objects": ("queries", "threshold", "query_box"),
    "segment_image": (),
    "estimate_depth": ("colormap",),
    "caption_image": ("question",),
    "translate": ("source_language", "target_language"),
    "fill_mask": ("language",),
    "synthesize_speech": ("voice",),
    "transcribe": ("language", "task"),
}
REQUIRED_OPTIONS = {"translate": ("source_language", "target_language")}
# Where one model's scores cannot be read against another's.
SCORE_NOTES = {
    "classify_image": "Scores are not comparable across models: each is a softmax over its own candidates (your "
                      "labels with a prompt template, or ViT's 1,000 ImageNet classes) from a differently trained "
                      "model; compare the rankings, not the numbers.",
    "detect_objects": "Scores are not comparable across models: DETR's are a softmax over the 80 COCO classes, OWL's "
                      "independent sigmoids per text query (they need not sum to 1, and run much lower), and by "
                      "example they are similarities rescaled so each model's best box is 1.0.",
    "estimate_depth": "Depth values are not comparable across models: GLPN gives metres, the others relative "
                      "values (larger is nearer) on scales of their own.",
    "fill_mask": "Scores are softmax probabilities over each model's own vocabulary: comparable only as rough "
                 "confidence.",
}
# Our own messages reach the column as they are; anything else is logged and summarised.
OUR_ERRORS = (InputError, ModelUnavailableError, ResourceExhaustedError, MissingPackageError, ServiceUnavailableError)


@dataclass
class ModelRun:
    """One model's column: its result (the task's own result object) or its error message, and its seconds."""

    model: str
    seconds: float  # the call with the model loaded
    load_seconds: float = 0.0  # loading it for this comparison (0 when it was already loaded)
    output: Any = None  # the task's result object; None on error
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """{"model", "seconds", "load_seconds", "result"} or {..., "error"}."""
        entry = {"model": self.model, "seconds": round(self.seconds, 4), "load_seconds": round(self.load_seconds, 4)}
        if self.error is not None:
            entry["error"] = self.error
        else:
            entry["result"] = self.output.to_json()
        return entry


@dataclass
class ComparisonResult:
    """Every model's run, in the order asked for."""

    task: str
    results: list[ModelRun] = field(default_factory=list)
    note: str = ""  # where scores are not comparable across the models

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"task", "results": [{"model", "seconds", "result" | "error"}...], "note"}."""
        return {"task": self.task, "results": [run.to_json() for run in self.results], "note": self.note}


def compare_models(task: str, models: str | list[str], image: Any = None, text: str | None = None,
                   audio: Any = None, options: str | dict[str, Any] | None = None) -> ComparisonResult:
    """Run two to four models of one task on the same input, one after another; each answers or fails alone."""
    function, kind = check_task(task)
    model_ids = split_models(models)
    settings = parse_options(task, options)
    given = {"image": image, "text": text, "audio": audio}
    value = given[kind]
    if value is None or (kind == "text" and not str(value).strip()):
        raise InputError(f"The task {task} takes {'an' if kind in ('image', 'audio') else 'a'} {kind}: give it as "
                         f"`{kind}`.")
    if kind == "image":
        value = inputs.load_image(value)  # decoded once, checked before any model runs
    runs = [run_one(function, task, model_id, {kind: value, **settings}) for model_id in model_ids]
    return ComparisonResult(task=task, results=runs, note=SCORE_NOTES.get(task, ""))


def check_task(task: str) -> tuple[Any, str]:
    """The task's dispatched function and input kind; other tasks are refused with the list of those that take part."""
    if task not in TASK_FUNCTIONS:
        raise InputError(f"Unknown or unsupported task {str(task)[:60]!r} for a comparison; choose one of: "
                         f"{', '.join(TASK_FUNCTIONS)}.")
    return TASK_FUNCTIONS[task]


def split_models(models: str | list[str]) -> list[str]:
    """2..4 distinct model ids from a list or comma/newline separated text, in the order given."""
    items = models.replace("\n", ",").split(",") if isinstance(models, str) else list(models or [])
    ids = list(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
    if not MIN_MODELS <= len(ids) <= MAX_MODELS:
        raise InputError(f"Compare {MIN_MODELS} to {MAX_MODELS} different models (comma separated catalog ids); "
                         f"{len(ids)} given.")
    return ids


def parse_options(task: str, options: str | dict[str, Any] | None) -> dict[str, Any]:
    """The task's other parameters from a JSON object (text or dict): only known names and plain values."""
    if options is None or (isinstance(options, str) and not options.strip()):
        settings: Any = {}
    elif isinstance(options, str):
        try:
            settings = json.loads(options)
        except json.JSONDecodeError as error:
            raise InputError('Options must be a JSON object, e.g. {"labels": "cat, dog"}.') from error
    else:
        settings = options
    if not isinstance(settings, dict):
        raise InputError('Options must be a JSON object, e.g. {"labels": "cat, dog"}.')
    allowed = OPTIONS[task]
    unknown = [str(name)[:40] for name in settings if name not in allowed]
    if unknown:
        known = ", ".join(allowed) if allowed else "none"
        raise InputError(f"Unknown option(s) for {task}: {', '.join(unknown)}. It takes: {known}.")
    plain = (str, int, float, bool, type(None))
    if not all(isinstance(value, plain) or (isinstance(value, list) and all(isinstance(item, plain) for item in value))
               for value in settings.values()):
        raise InputError("Option values must be text, numbers, true/false or lists of those.")
    missing = [name for name in REQUIRED_OPTIONS.get(task, ()) if not settings.get(name)]
    if missing:
        raise InputError(f"{task} needs the option(s) {', '.join(missing)}, e.g. "
                         '{"source_language": "English", "target_language": "French"}.')
    return settings


def run_one(function: Any, task: str, model_id: str, arguments: dict[str, Any]) -> ModelRun:
    """One model's column: load it (timed apart), then run the task through the dispatch point (timed)."""
    load_seconds = 0.0
    started = time.perf_counter()
    try:
        spec = resolve_model(task, model_id)  # an unknown id fails here, in its own column
        if not dispatch.is_loaded(spec.id):
            dispatch.load_model(spec.id)
            load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        output = function(**arguments, model=spec.id)
    except OUR_ERRORS as error:
        return ModelRun(model=model_id, seconds=time.perf_counter() - started, load_seconds=load_seconds,
                        error=str(error))
    except Exception:  # one model's fault must not cost the others their answers
        request_id = uuid.uuid4().hex[:8]
        logger.exception("Comparison %s: %s failed on %s", request_id, model_id, task)
        return ModelRun(model=model_id, seconds=time.perf_counter() - started, load_seconds=load_seconds,
                        error=f"Something went wrong with this model (request {request_id}).")
    return ModelRun(model=model_id, seconds=time.perf_counter() - started, load_seconds=load_seconds, output=output)


def known_models(task: str) -> list[str]:
    """The catalog ids a comparison of `task` can choose from."""
    check_task(task)
    return [spec.id for spec in models_for(task)]
