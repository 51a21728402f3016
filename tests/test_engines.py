"""CTranslate2 for M2M100: the same tokens as the torch path at float32, a conversion cache, and the fallback."""

import logging
from pathlib import Path

import pytest
import torch

from backend import models, translate
from backend.engines import ctranslate2_models
from backend.errors import ModelUnavailableError
from backend.models import ModelCache

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
