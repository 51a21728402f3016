"""Video classification: a short clip -> its top-5 actions (VideoMAE on Kinetics-400 or Something-Something v2).

The clip is checked from its header and its frames counted before the model loads (backend/video.py); then as
many frames as the model takes (its config's num_frames, 16 for the catalog models) are decoded, spread evenly
over the whole clip, and go through the checkpoint's own image processor and the model in one forward pass.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from backend import compute, dispatch, models
from backend.catalog import resolve_model
from backend.video import even_indices, probe_video, read_frames

TOP_K = 5  # labels returned


@dataclass
class LabelScore:
    """One action and its probability."""

    label: str
    score: float  # softmax over all the model's classes, in [0, 1]


@dataclass
class VideoClassificationResult:
    """The top actions of one clip, highest score first, with the frames the model saw."""

    model: str
    frames: int  # frames in the clip
    duration_s: float  # the clip's length in seconds
    sampled_frames: list[int]  # indices of the frames the model saw, in the clip's presentation order
    labels: list[LabelScore]
    images: list[np.ndarray] = field(default_factory=list, repr=False)  # those frames, RGB (height, width, 3)

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "frames", "duration_s", "sampled_frames", "labels": [{"label", "score"}]}."""
        return {"model": self.model, "frames": self.frames, "duration_s": round(self.duration_s, 3),
                "sampled_frames": self.sampled_frames,
                "labels": [{"label": item.label, "score": item.score} for item in self.labels]}


@dispatch.task(files={"video": "video"})
def classify_video(video: Any, model: str | None = None) -> VideoClassificationResult:
    """The top-5 actions in a clip (a file path or its bytes): MP4, MOV, WebM, MKV, AVI or OGG."""
    spec = resolve_model("classify_video", model)
    info = probe_video(video)  # size, format, frame size, duration and frame count, before the model loads
    loaded = models.get(spec.id)
    frames = read_frames(info, even_indices(info.frames, loaded.model.config.num_frames))
    pixels = preprocess(loaded, frames.images)
    with compute.model_work():
        scores = loaded.model(pixel_values=pixels).logits[0].float().softmax(dim=-1).cpu()  # (num_labels,)
    top = torch.topk(scores, k=min(TOP_K, scores.numel()))
    id2label = loaded.model.config.id2label
    labels = [LabelScore(label=id2label[int(index)], score=float(score))
              for score, index in zip(top.values.tolist(), top.indices.tolist(), strict=True)]
    return VideoClassificationResult(model=spec.id, frames=info.frames, duration_s=info.duration_s,
                                     sampled_frames=frames.indices, labels=labels, images=frames.images)


def preprocess(loaded: models.LoadedModel, images: list[np.ndarray]) -> torch.Tensor:
    """The checkpoint's image processor on one clip: pixel_values (1, frames, 3, height, width), on the device."""
    pixels = loaded.processor(images, return_tensors="pt")["pixel_values"]  # a list of frames is one clip
    return pixels.to(loaded.device, loaded.dtype)
