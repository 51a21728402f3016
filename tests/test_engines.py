"""CTranslate2 for M2M100: the same tokens as the torch path at float32, a conversion cache, and the fallback."""

import logging
from pathlib import Path

import pytest
import torch

from backend import models
from backend.engines import ctranslate2_models
from backend.errors import ModelUnavailableError
from backend.models import ModelCache
from backend.tasks import translate

MODEL = "facebook/m2m100_418M"
SENTENCES = ["Bonjour tout le monde.", "Le marché ouvre à huit heures et ferme à midi.", "Merci !"]


@pytest.fixture
def engine_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CTranslate2 chosen, at float32 (so tokens can be compared), converting into an empty cache folder."""
    monkeypatch.setenv("APP_ENGINE", "ctranslate2")
    monkeypatch.setenv("APP_CTRANSLATE2_COMPUTE_TYPE", "float32")
    monkeypatch.setenv("APP_CTRANSLATE2_CACHE", str(tmp_path / "ct2"))
    return tmp_path / "ct2"


def greedy(loaded: models.LoadedModel, monkeypatch: pytest.MonkeyPatch) -> models.LoadedModel:
    """The loaded model set to decode greedily, as the issue's equivalence test asks."""
    if isinstance(loaded.model, torch.nn.Module):
        monkeypatch.setattr(loaded.model.generation_config, "num_beams", 1)
    else:
        monkeypatch.setitem(loaded.model.generation, "num_beams", 1)
    return loaded


def test_ctranslate2_at_float32_gives_the_torch_tokens(models_dir: Path, engine_cache: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    converted = greedy(ModelCache(device=torch.device("cpu")).get(MODEL), monkeypatch)
    assert models.engine_of(converted) == ("ctranslate2", "float32")
    monkeypatch.setenv("APP_ENGINE", "torch")
    plain = greedy(ModelCache(device=torch.device("cpu")).get(MODEL), monkeypatch)
    assert models.engine_of(plain) == ("torch", "float32")
    for target in ("en", "de", "zh"):
        ours = translate.translate_pieces(converted, SENTENCES, "fr", target)
        reference = translate.translate_pieces(plain, SENTENCES, "fr", target)
        assert ours == reference and any(ours)


def test_the_result_says_which_engine_and_precision_ran(models_dir: Path, engine_cache: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "CACHE", ModelCache(device=torch.device("cpu")))
    result = translate.translate("Bonjour.", "fr", "en", model=MODEL).to_json()
    assert (result["engine"], result["precision"]) == ("ctranslate2", "float32")
    assert models.CACHE.status()["models"][0]["engine"] == "ctranslate2"


def test_a_conversion_is_made_once_and_keyed_by_weights_version_and_precision(models_dir: Path,
                                                                               engine_cache: Path) -> None:
    first = ModelCache(device=torch.device("cpu")).get(MODEL).model
    again = ModelCache(device=torch.device("cpu")).get(MODEL).model
    assert first.convert_seconds > 0 and again.convert_seconds == 0.0 and again.folder == first.folder
    import ctranslate2

    digest = ctranslate2_models.weights_digest(models_dir / MODEL)
    assert first.folder == engine_cache / "facebook--m2m100_418M" / f"{digest}-ct2-{ctranslate2.__version__}-float32"
    assert [path.name for path in first.folder.parent.iterdir()] == [first.folder.name]  # no staging folder left


def test_a_crash_mid_conversion_leaves_nothing_half_made(models_dir: Path, engine_cache: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from ctranslate2.converters import TransformersConverter

    def crash(self: object, output_dir: str, **kwargs: object) -> None:
        (Path(output_dir) / "model.bin").write_bytes(b"half")  # part of the model is written...
        raise KeyboardInterrupt  # ...then the process is interrupted

    monkeypatch.setattr(TransformersConverter, "convert", crash)
    with pytest.raises(KeyboardInterrupt):
        ctranslate2_models.convert(MODEL, models_dir / MODEL, "float32")
    assert list((engine_cache / "facebook--m2m100_418M").iterdir()) == []


@pytest.mark.parametrize("setting", ["auto", "ctranslate2"])
def test_a_failed_conversion_falls_back_to_torch_only_on_auto(models_dir: Path, engine_cache: Path, setting: str,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("APP_ENGINE", setting)

    def fail(*args: object, **kwargs: object) -> None:
        raise ValueError("unsupported layer")

    monkeypatch.setattr(ctranslate2_models, "convert", fail)
    cache = ModelCache(device=torch.device("cpu"))
    if setting == "ctranslate2":
        with pytest.raises(ModelUnavailableError, match="could not be prepared for CTranslate2"):
            cache.get(MODEL)
        return
    with caplog.at_level(logging.WARNING):
        loaded = cache.get(MODEL)
    assert models.engine_of(loaded) == ("torch", "float32")
    assert [record.message for record in caplog.records if "runs on torch instead" in record.message] != []


def test_unknown_engine_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from backend import engines

    monkeypatch.setenv("APP_ENGINE", "onnx")
    with pytest.raises(ValueError, match="not an engine"):
        engines.engine_setting()


def test_the_app_translates_with_ctranslate2_int8(client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENGINE", "auto")  # what a user gets by default
    monkeypatch.setenv("APP_CTRANSLATE2_CACHE", str(tmp_path / "ct2"))
    models.CACHE.unload(MODEL)
    try:
        translation, result = client.predict(text="Bonjour tout le monde.", source_language="French",
                                             target_language="English", api_name="/translate")
        assert (result["engine"], result["precision"]) == ("ctranslate2", "int8")
        assert result["translation"] == translation
    finally:
        models.CACHE.unload(MODEL)  # the other tests expect the torch model


# --- Whisper on CTranslate2 (faster-whisper) ------------------------------------------------------------------

WHISPER_IDS = ["openai/whisper-base", "openai/whisper-large-v3-turbo"]  # 80 and 128 mel bins


@pytest.mark.parametrize("model_id", WHISPER_IDS)
@pytest.mark.parametrize(("language", "task", "timestamps"), [
    ("en", "transcribe", False), ("fr", "translate", False), ("de", "transcribe", True)])
def test_whisper_on_ctranslate2_at_float32_gives_the_torch_tokens(models_dir: Path, engine_cache: Path,
                                                                  model_id: str, language: str, task: str,
                                                                  timestamps: bool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Token equality at the generate level: the same features and prompt, greedy, on both engines.

    The full pipelines differ in their own ways around generate (faster-whisper's log-mel code, its timestamp
    splitting), so this compares the converted model itself with transformers' model.generate on one window.
    """
    import ctranslate2

    from tests.conftest import speech_like

    converted = ModelCache(device=torch.device("cpu")).get(model_id)
    assert models.engine_of(converted) == ("ctranslate2", "float32")
    monkeypatch.setenv("APP_ENGINE", "torch")
    plain = ModelCache(device=torch.device("cpu")).get(model_id)
    tokenizer = plain.processor.tokenizer
    extractor = plain.processor.feature_extractor
    features = extractor(speech_like(20.0), sampling_rate=extractor.sampling_rate, return_tensors="pt").input_features
    with torch.inference_mode():
        reference = plain.model.generate(features, language=language, task=task, return_timestamps=timestamps,
                                         max_new_tokens=100)[0].tolist()
    prompt = tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", f"<|{language}|>", f"<|{task}|>"]
                                             + ([] if timestamps else ["<|notimestamps|>"]))
    ours = converted.model.runner.model.generate(ctranslate2.StorageView.from_array(features.numpy()), [prompt],
                                                 beam_size=1, max_length=len(prompt) + 100)[0].sequences_ids[0]
    expected = [token for token in reference if token != tokenizer.eos_token_id]  # generated tokens only
    assert ours == expected and len(ours) > 5
    if timestamps:
        assert any(token > tokenizer.convert_tokens_to_ids("<|notimestamps|>") for token in ours)


def test_whisper_on_ctranslate2_covers_long_audio_in_windows(models_dir: Path, engine_cache: Path,
                                                            speech_45s: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """faster-whisper decodes a window past the first 30 s (whether the tiny model writes text there is its business:
    its stop clock counts decoder positions, which the previous text as a prompt moves; tests/speech/
    test_whisper_real.py checks real text to the end of real speech)."""
    from faster_whisper import WhisperModel

    from backend.tasks import transcribe

    decoded: list[int] = []  # one entry per decoded window
    decode = WhisperModel.generate_with_fallback

    def counted(self: WhisperModel, *args: object, **kwargs: object) -> object:
        decoded.append(1)
        return decode(self, *args, **kwargs)

    monkeypatch.setattr(WhisperModel, "generate_with_fallback", counted)
    monkeypatch.setattr(models, "CACHE", ModelCache(device=torch.device("cpu")))
    # vad=False: the synthetic clip is mostly not speech to Silero VAD, and this is about the windows.
    result = transcribe.transcribe(speech_45s, model="openai/whisper-base", language="en", vad=False).to_json()
    assert (result["engine"], result["precision"]) == ("ctranslate2", "float32")
    assert result["language"] == "en" and result["language_probability"] == 1.0
    assert result["segments"] and len(decoded) >= 2  # a window after the first 30 s


def test_the_app_transcribes_with_ctranslate2_int8(client, speech_3s: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from gradio_client import handle_file

    model_id = "openai/whisper-base"
    monkeypatch.setenv("APP_ENGINE", "auto")  # what a user gets by default
    monkeypatch.setenv("APP_CTRANSLATE2_CACHE", str(tmp_path / "ct2"))
    models.CACHE.unload(model_id)
    try:
        outputs = client.predict(audio=handle_file(str(speech_3s)), model=model_id, language="English",
                                 api_name="/transcribe")
        result = outputs[-1]
        assert (result["engine"], result["precision"]) == ("ctranslate2", "int8")
        assert result["model"] == model_id and result["language"] == "en"
    finally:
        models.CACHE.unload(model_id)  # the other tests expect the torch model


@pytest.mark.parametrize("model_id", WHISPER_IDS)
def test_whisper_on_ctranslate2_detects_the_language_with_its_probability(models_dir: Path, engine_cache: Path,
                                                                          speech_3s: Path, model_id: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import ctranslate2
    from faster_whisper.audio import pad_or_trim

    from backend import inputs
    from backend.catalog import find_model
    from backend.tasks import transcribe

    monkeypatch.setattr(models, "CACHE", ModelCache(device=torch.device("cpu")))
    result = transcribe.transcribe(speech_3s, model=model_id).to_json()
    assert result["language"] in find_model(model_id).languages
    assert 0.0 < result["language_probability"] < 1.0  # a random model: near 1 / number of languages
    # The same answer as the converted model's own detector on the same window, best first.
    runner = models.CACHE.get(model_id).model.runner
    samples = inputs.load_audio(str(speech_3s), sampling_rate=16_000)
    features = pad_or_trim(runner.feature_extractor(samples)[..., :-1])[None]
    best, probability = runner.model.detect_language(ctranslate2.StorageView.from_array(features))[0][0]
    assert best.strip("<|>") == result["language"]
    # Probabilities are rounded down to 3 places in the result, so that the top five never sum above 1.
    assert result["language_probability"] == pytest.approx(probability, abs=1e-3)


def test_whisper_on_ctranslate2_translates_with_the_translate_prompt(models_dir: Path, engine_cache: Path,
                                                                    speech_3s: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's translate task with beam_size=1 is the converted model decoding after <|translate|>, timestamps on,
    greedy."""
    import ctranslate2
    from faster_whisper.audio import pad_or_trim

    from backend import inputs
    from backend.limits import MAX_TRANSCRIPTION_NEW_TOKENS
    from backend.tasks import transcribe

    monkeypatch.setattr(models, "CACHE", ModelCache(device=torch.device("cpu")))
    result = transcribe.transcribe(speech_3s, model="openai/whisper-base", language="fr", task="translate", beam_size=1)
    assert (result.engine, result.language, result.language_probability) == ("ctranslate2", "fr", 1.0)
    loaded = models.CACHE.get("openai/whisper-base")
    tokenizer, runner = loaded.processor.tokenizer, loaded.model.runner
    samples = inputs.load_audio(str(speech_3s), sampling_rate=16_000)
    features = pad_or_trim(runner.feature_extractor(samples)[..., :-1])[None]
    prompt = tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", "<|fr|>", "<|translate|>"])
    tokens = runner.model.generate(ctranslate2.StorageView.from_array(features), [prompt], beam_size=1,
                                   max_length=len(prompt) + MAX_TRANSCRIPTION_NEW_TOKENS)[0].sequences_ids[0]
    text_tokens = [token for token in tokens if token < tokenizer.convert_tokens_to_ids("<|endoftext|>")]
    assert result.text and result.text == tokenizer.decode(text_tokens).strip()
