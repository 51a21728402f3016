"""Video classification on every catalog model, its frame sampling and decoding against references, its input rules."""

import io
import json
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from backend import models, video
from backend.errors import InputError
from backend.tasks.classify_video import classify_video
from tests import video_clips
from tests.conftest import ids_for

ASSETS = Path(__file__).resolve().parents[2] / "assets"
CLIP = ASSETS / "video" / "juggling.mp4"  # 100 frames, 4 s, 320x240
DEFAULT = "MCG-NJU/videomae-base-finetuned-kinetics"


def reference_frames(data: bytes) -> list[np.ndarray]:
    """Every frame of a clip, decoded the plain PyAV way (as transformers' read_video_pyav does)."""
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.mark.parametrize("model_id", ids_for("classify_video"))
def test_top_five_actions_from_as_many_frames_as_the_model_takes(models_dir: Path, model_id: str) -> None:
    result = classify_video(CLIP, model=model_id)
    config = models.get(model_id).model.config
    payload = result.to_json()
    json.dumps(payload)
    assert set(payload) == {"model", "frames", "duration_s", "sampled_frames", "labels"}
    assert (payload["model"], payload["frames"], payload["duration_s"]) == (model_id, 100, 4.0)
    assert payload["sampled_frames"] == video.even_indices(100, config.num_frames)
    assert len(result.images) == config.num_frames and result.images[0].shape == (240, 320, 3)
    scores = [item["score"] for item in payload["labels"]]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True) and all(0 < score < 1 for score in scores)
    assert {item["label"] for item in payload["labels"]} <= set(config.id2label.values())


@pytest.mark.parametrize("total", [1, 7, 16, 17, 100, 1001, 7200])
@pytest.mark.parametrize("count", [8, 16])
def test_even_sampling_matches_transformers_uniform_sampling(total: int, count: int) -> None:
    from transformers.video_utils import VideoMetadata, default_sample_indices_fn

    ours = video.even_indices(total, count)
    if total >= count:  # transformers refuses to sample more frames than a clip has
        expected = default_sample_indices_fn(VideoMetadata(total_num_frames=total, fps=25.0), num_frames=count)
        assert ours == expected.tolist()
    # The numpy reference: segment i of count equal segments starts at frame floor(i * total / count).
    assert ours == np.floor(np.linspace(0, total, count, endpoint=False) + 1e-9).astype(int).tolist()
    assert len(ours) == count and ours[0] == 0


@pytest.mark.parametrize(("name", "options"), [
    ("MP4, H.264", {}),
    ("WebM, VP9, written like a webcam recording (no duration in the header)",
     {"container_format": "webm", "codec": "libvpx-vp9", "seekable": False}),
    ("MKV, H.264", {"container_format": "matroska"}),
])
def test_decoded_frames_are_the_sampled_ones(name: str, options: dict) -> None:
    data = video_clips.numbered_clip(40, **options)  # frame i has brightness 4 * i
    info, frames = video.sample_video(data, 16)
    assert (info.frames, info.duration_s) == (40, pytest.approx(1.6))
    assert frames.indices == video.even_indices(40, 16)
    seen = [round(float(image.mean()) / video_clips.STEP) for image in frames.images]
    assert seen == frames.indices


def test_a_clip_shorter_than_the_model_repeats_frames() -> None:
    info, frames = video.sample_video(video_clips.numbered_clip(5), 16)
    assert info.frames == 5 and frames.indices == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert [round(float(image.mean()) / video_clips.STEP) for image in frames.images] == frames.indices


def test_large_frames_are_kept_at_640_pixels() -> None:
    info, frames = video.sample_video(video_clips.encode(video_clips.numbered_frames(3, 1280, 720)), 4)
    assert (info.width, info.height) == (1280, 720)
    assert frames.images[0].shape == (360, 640, 3)


@pytest.mark.parametrize("model_id", ids_for("classify_video"))
def test_scores_match_the_models_own_forward_on_reference_frames(models_dir: Path, model_id: str) -> None:
    loaded = models.get(model_id)
    data = video_clips.encode(video_clips.numbered_frames(40, 96, 64))
    frames = reference_frames(data)
    indices = video.even_indices(len(frames), loaded.model.config.num_frames)
    pixels = loaded.processor([frames[index] for index in indices], return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        expected = loaded.model(pixel_values=pixels).logits[0].softmax(dim=-1)
    top = expected.topk(5)
    result = classify_video(data, model=model_id)
    assert [item.label for item in result.labels] == [loaded.model.config.id2label[int(i)] for i in top.indices]
    assert [item.score for item in result.labels] == pytest.approx(top.values.tolist(), abs=1e-6)


def test_a_16_frame_clip_matches_the_video_classification_pipeline(models_dir: Path, tmp_path: Path) -> None:
    from transformers import pipeline

    loaded = models.get(DEFAULT)
    path = tmp_path / "clip.mp4"  # 16 frames: the pipeline's first 16 frames are all of them, as ours are
    path.write_bytes(video_clips.encode(video_clips.numbered_frames(16, 80, 60)))
    expected = pipeline("video-classification", model=loaded.model, image_processor=loaded.processor)(
        str(path), top_k=5)
    result = classify_video(path)
    assert [item.label for item in result.labels] == [item["label"] for item in expected]
    assert [item.score for item in result.labels] == pytest.approx([item["score"] for item in expected], abs=1e-6)


# (name, file bytes, the message we expect)
BAD_VIDEOS = [
    ("empty file", lambda: b"", "empty"),
    ("1-byte webcam recording (stopped too soon)", lambda: b"\x1a", "only 1 B, too small"),
    ("random bytes", lambda: np.random.default_rng(0).bytes(4096), "could not be read as a video"),
    ("still image renamed .mp4", video_clips.still_png, "still image"),
    ("truncated MP4", lambda: CLIP.read_bytes()[:8000], "damaged"),
    ("0-frame MP4", video_clips.empty_clip, "holds no frames"),
    ("sound only", video_clips.audio_only, "no video track"),
    ("200 s clip", lambda: video_clips.long_clip(200), "the limit is 120 s"),
]


@pytest.mark.parametrize(("name", "make", "message"), BAD_VIDEOS, ids=[case[0] for case in BAD_VIDEOS])
def test_bad_clips_are_refused_before_the_model_loads(monkeypatch: pytest.MonkeyPatch, name: str,
                                                      make: Callable[[], bytes], message: str) -> None:
    def no_loading(model_id: str) -> None:
        raise AssertionError("the model was loaded for a bad clip")

    monkeypatch.setattr(models, "get", no_loading)
    with pytest.raises(InputError, match=message):
        classify_video(make(), model=DEFAULT)


def test_a_long_clip_is_refused_from_its_header(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_counting(*args: object) -> None:
        raise AssertionError("packets were read although the header gives the duration")

    monkeypatch.setattr(video, "count_frames", no_counting)
    with pytest.raises(InputError, match="200 s long"):
        video.probe_video(video_clips.long_clip(200))


def test_a_long_clip_without_a_duration_in_its_header_is_refused_while_counting() -> None:
    data = video_clips.encode(video_clips.numbered_frames(200, 32, 32), container_format="webm", codec="libvpx-vp9",
                              fps=1, seekable=False)
    with pytest.raises(InputError, match="the limit is 120 s"):
        video.probe_video(data)


@pytest.mark.parametrize(("limit", "value", "message"), [
    ("MAX_VIDEO_PIXELS", 50_000, "frames are 320x240 pixels; the limit is 0.05 megapixels"),
    ("MAX_VIDEO_FRAMES", 50, "more than 50 frames"),
    ("MAX_VIDEO_BYTES", 10_000, "the limit is 0.0 MB"),
])
def test_limits_are_read_from_backend_limits(monkeypatch: pytest.MonkeyPatch, limit: str, value: int,
                                             message: str) -> None:
    monkeypatch.setattr(video, limit, value)
    with pytest.raises(InputError, match=message):
        video.probe_video(CLIP)


def test_missing_video_and_unknown_model() -> None:
    with pytest.raises(InputError, match="Upload a video"):
        classify_video(None)
    with pytest.raises(InputError, match="Unknown model"):
        classify_video(CLIP, model="MCG-NJU/videomae-huge")
