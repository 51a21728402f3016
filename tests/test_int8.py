"""int8 weights for the speech models and Bark on CPU (backend/engines/int8.py), on the tiny models: chosen by
APP_ENGINE, smaller in the cache's accounting, close to float32, and MMS adapters still switching per request."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import soundfile
import torch

from backend import models
from backend.engines import int8
from backend.models import ModelCache
from backend.tasks.synthesize_speech import synthesize_speech
from backend.tasks.transcribe import transcribe

MMS = "facebook/mms-1b-all"
WAV2VEC2 = "facebook/wav2vec2-base-960h"
XLS_R = "facebook/wav2vec2-xls-r-300m-21-to-en"
BARK = "suno/bark-small"


def cache_on(engine: str, monkeypatch: pytest.MonkeyPatch) -> ModelCache:
    """A fresh CPU cache loading under APP_ENGINE=engine, with Bark's opt-in int8 turned on."""
    monkeypatch.setenv("APP_ENGINE", engine)
    monkeypatch.setenv("APP_INT8_FAMILIES", "mms,wav2vec2,xls_r_translation,bark")
    return ModelCache(device=torch.device("cpu"))


@pytest.mark.parametrize("model_id", [MMS, WAV2VEC2, XLS_R, BARK])
def test_auto_gives_int8_and_torch_gives_float32(models_dir: Path, model_id: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    quantized = cache_on("auto", monkeypatch).get(model_id)
    assert models.engine_of(quantized) == ("torch", "int8")
    layers = [module for module in quantized.model.modules() if isinstance(module, int8.Int8Linear)]
    keep = int8.KEEP_FLOAT.get(quantized.spec.family)
    left_float = [name for name, module in quantized.model.named_modules() if type(module) is torch.nn.Linear
                  and not (keep and keep.search(name)) and not _tied(quantized.model, module)]
    assert layers and left_float == []
    plain = cache_on("torch", monkeypatch).get(model_id)
    assert models.engine_of(plain) == ("torch", "float32")
    assert not any(isinstance(module, int8.Int8Linear) for module in plain.model.modules())
    # The cache counts the int8 weights (packed, not parameters): 3 bytes saved per weight, less a float64 scale
    # and an int32 zero point per output row. A head tied to the embeddings (XLS-R's) is an int8 copy: the float32
    # matrix stays for the embedding, so its int8 bytes and scales are added.
    tied = {name for name, module in plain.model.named_modules()
            if type(module) is torch.nn.Linear and _tied(plain.model, module)}
    copies = [quantized.model.get_submodule(name) for name in tied if quantized.spec.family in int8.TIED_HEAD_COPY]
    assert all(isinstance(module, int8.Int8Linear) for module in copies)
    replaced = sum(module.in_features * module.out_features for module in layers if module not in copies)
    rows = sum(module.out_features for module in layers if module not in copies)
    added = sum(module.in_features * module.out_features + 12 * module.out_features for module in copies)
    assert plain.bytes - quantized.bytes == 3 * replaced - 12 * rows - added
    if quantized.spec.family in int8.TIED_HEAD_COPY:
        assert copies  # XLS-R's head: its int8 copy decodes, the float32 embedding stays


def _tied(model: torch.nn.Module, linear: torch.nn.Linear) -> bool:
    """Whether another module holds the same weight tensor."""
    return sum(getattr(module, "weight", None) is linear.weight for module in model.modules()) > 1


def test_mms_keeps_its_adapters_and_head_in_float32(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = cache_on("auto", monkeypatch).get(MMS).model
    adapters = [name for name, module in model.named_modules() if ".adapter_layer." in name
                and isinstance(module, torch.nn.Linear | int8.Int8Linear)]
    assert adapters and all(type(model.get_submodule(name)) is torch.nn.Linear for name in adapters)
    assert type(model.lm_head) is torch.nn.Linear
    assert isinstance(model.wav2vec2.encoder.layers[0].attention.q_proj, int8.Int8Linear)


def test_mms_adapters_switch_per_request_under_concurrency(models_dir: Path, speech_3s: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "CACHE", cache_on("auto", monkeypatch))
    alone = {language: transcribe(speech_3s, model=MMS, language=language) for language in ("fra", "deu", "swh")}
    assert models.engine_of(models.get(MMS)) == ("torch", "int8")
    assert len({result.text for result in alone.values()}) == 3  # three adapters, three outputs
    languages = ["fra", "deu", "swh"] * 4
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda language: transcribe(speech_3s, model=MMS, language=language), languages))
    for language, result in zip(languages, results, strict=True):
        assert result.language == language and result.text == alone[language].text


def frame_argmax(model: torch.nn.Module, features: dict[str, torch.Tensor]) -> torch.Tensor:
    """The CTC head's best class per frame."""
    with torch.inference_mode():
        return model(**features).logits.argmax(-1)


@pytest.mark.parametrize("model_id", [WAV2VEC2, MMS])
def test_ctc_frames_agree_with_float32(models_dir: Path, speech_3s: Path, model_id: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    quantized = cache_on("auto", monkeypatch).get(model_id)
    plain = cache_on("torch", monkeypatch).get(model_id)
    samples, rate = soundfile.read(speech_3s, dtype="float32")
    features = dict(plain.processor(samples, sampling_rate=rate, return_tensors="pt"))
    agreement = (frame_argmax(quantized.model, features) == frame_argmax(plain.model, features)).float().mean()
    # Loose: tiny random models have near-flat logits, where int8 rounding flips close calls.
    assert agreement >= 0.8, f"int8 and float32 agree on {agreement:.0%} of frames"


def test_xls_r_tokens_agree_with_float32_under_teacher_forcing(models_dir: Path, speech_3s: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    quantized = cache_on("auto", monkeypatch).get(XLS_R)
    plain = cache_on("torch", monkeypatch).get(XLS_R)
    samples, rate = soundfile.read(speech_3s, dtype="float32")
    features = dict(plain.processor.feature_extractor(samples, sampling_rate=rate, return_tensors="pt"))
    with torch.inference_mode():
        tokens = plain.model.generate(**features, max_new_tokens=12, min_new_tokens=12, num_beams=1,
                                      do_sample=False)
        # Each model's next-token choice at every position of float32's own output.
        ours = quantized.model(**features, decoder_input_ids=tokens[:, :-1]).logits.argmax(-1)
        reference = plain.model(**features, decoder_input_ids=tokens[:, :-1]).logits.argmax(-1)
    assert ours.shape == (1, 12 + tokens.shape[1] - 13)
    assert (ours == reference).float().mean() >= 0.8


def test_bark_speaks_with_int8_weights(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "CACHE", cache_on("auto", monkeypatch))
    result = synthesize_speech("Hello there.", model=BARK)
    assert models.engine_of(models.get(BARK)) == ("torch", "int8")
    semantic = models.get(BARK).model.semantic
    assert isinstance(semantic.layers[0].mlp.in_proj, int8.Int8Linear)
    assert result.to_json()["sampling_rate"] > 0


def test_gpu_and_torch_settings_keep_float(monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.catalog import find_model
    from backend.engines import wants_int8

    spec = find_model(MMS)
    monkeypatch.setenv("APP_ENGINE", "auto")
    assert wants_int8(spec, "cpu") and not wants_int8(spec, "cuda")
    assert not wants_int8(find_model("openai/clip-vit-large-patch14"), "cpu")
    monkeypatch.setenv("APP_ENGINE", "torch")
    assert not wants_int8(spec, "cpu")


def test_bark_keeps_float32_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.catalog import find_model
    from backend.engines import wants_int8

    monkeypatch.setenv("APP_ENGINE", "auto")
    monkeypatch.delenv("APP_INT8_FAMILIES", raising=False)
    assert not wants_int8(find_model(BARK), "cpu") and wants_int8(find_model(MMS), "cpu")
    monkeypatch.setenv("APP_INT8_FAMILIES", "bark")
    assert wants_int8(find_model(BARK), "cpu") and not wants_int8(find_model(MMS), "cpu")
