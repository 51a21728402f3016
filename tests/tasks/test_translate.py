"""Translation on both M2M100 models: languages by name or code, long texts split and joined, plain generate parity."""

import json
from pathlib import Path

import pytest

from backend import models
from backend.errors import InputError
from backend.limits import MAX_TRANSLATION_NEW_TOKENS
from backend.tasks.translate import MAX_PIECE_TOKENS, token_count, translate
from tests.conftest import ids_for

PARAGRAPH = (
    "The museum opens at nine in the morning and closes at six in the evening. Visitors can buy tickets at the "
    "entrance or online. Children under twelve enter for free, and students pay half price on weekdays. The "
    "permanent collection covers four centuries of painting, sculpture and photography. Guided tours leave every "
    "hour from the main hall. The café on the top floor serves lunch until three. "
)
LONG_TEXT = "\n\n".join(PARAGRAPH * 2 for _ in range(4))  # 4 paragraphs, about 3,000 characters


def test_long_text_is_long() -> None:
    assert 2_800 <= len(LONG_TEXT) <= 5_000


@pytest.mark.parametrize("model_id", ids_for("translate"))
def test_a_3000_character_text_translates_whole(models_dir: Path, model_id: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = models.get(model_id)
    batches = []
    generate = loaded.model.generate
    monkeypatch.setattr(loaded.model, "generate", lambda **kw: batches.append(kw) or generate(**kw))
    result = translate(LONG_TEXT, "English", "French", model=model_id).to_json()
    json.dumps(result)
    assert result == {**result, "model": model_id, "source_language": "en", "target_language": "fr"}
    assert result["translation"].count("\n") == 3  # one line per paragraph, in order
    pieces = [row for batch in batches for row in batch["input_ids"]]
    assert len(pieces) >= 4  # at least one piece per paragraph
    assert all(int((row != loaded.processor.pad_token_id).sum()) <= MAX_PIECE_TOKENS for row in pieces)
    assert all(batch["max_new_tokens"] == MAX_TRANSLATION_NEW_TOKENS for batch in batches)


@pytest.mark.parametrize(("text", "source", "target", "codes"), [
    ("Bonjour, comment allez-vous aujourd'hui ?", "French", "English", ("fr", "en")),
    ("今天天气很好，我们去公园散步吧。", "zh", "en", ("zh", "en")),
    ("Guten Morgen!", "German (de)", "spanish", ("de", "es")),
])
def test_languages_by_name_or_code(models_dir: Path, text: str, source: str, target: str,
                                   codes: tuple[str, str]) -> None:
    result = translate(text, source, target)
    assert (result.source_language, result.target_language) == codes
    assert result.model == "facebook/m2m100_418M"
    assert isinstance(result.translation, str)


def test_a_sentence_matches_plain_generate(models_dir: Path) -> None:
    model_id = "facebook/m2m100_418M"
    loaded = models.get(model_id)
    text = "Bonjour, comment allez-vous ?"
    tokenizer = loaded.processor
    tokenizer.src_lang = "fr"
    generated = loaded.model.generate(**tokenizer(text, return_tensors="pt"),
                                      forced_bos_token_id=tokenizer.get_lang_id("en"),
                                      max_new_tokens=MAX_TRANSLATION_NEW_TOKENS)
    without_language = [token for token in generated[0].tolist() if token != tokenizer.get_lang_id("en")]
    expected = tokenizer.decode(without_language, skip_special_tokens=True).strip()
    assert "__en__" not in translate(text, "fr", "en", model=model_id).translation
    assert translate(text, "fr", "en", model=model_id).translation == expected


def test_the_target_language_token_starts_the_output(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = models.get("facebook/m2m100_418M")
    outputs = []
    generate = loaded.model.generate
    monkeypatch.setattr(loaded.model, "generate", lambda **kw: outputs.append(generate(**kw)) or outputs[-1])
    translate("Hello there.", "en", "ja")
    assert outputs[0][0, 1].item() == loaded.processor.get_lang_id("ja")  # after the decoder start token


def test_pieces_respect_the_token_limit(models_dir: Path) -> None:
    tokenizer = models.get("facebook/m2m100_418M").processor
    assert token_count(tokenizer, PARAGRAPH * 4) > MAX_PIECE_TOKENS  # so the long text must be split


@pytest.mark.parametrize(("text", "source", "target", "message"), [
    ("Hello", "Klingon", "French", "Unknown source language"),
    ("Hello", "en", "xx", "Unknown target language"),
    ("   \n\t ", "en", "fr", "Enter some text"),
    ("a" * 5_001, "en", "fr", "5,000|5000"),
])
def test_bad_requests_are_refused_with_a_message(text: str, source: str, target: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        translate(text, source, target)


def test_long_text_streams_its_finished_paragraphs_in_order(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import backend.tasks.translate as translation

    monkeypatch.setattr(translation, "BATCH_SIZE", 2)  # a group of paragraphs per 2 pieces: several steps
    steps = list(translation.stream_translation(LONG_TEXT, "en", "fr", model="facebook/m2m100_418M"))
    final = steps[-1].result.translation.split("\n")
    assert len(steps) > 1 and steps[-1].done == steps[-1].total == len(final) == 4
    for step in steps:
        assert step.result.translation.split("\n") == final[: step.done]
    assert [step.done for step in steps] == sorted({step.done for step in steps})
    assert steps[-1].result == translate(LONG_TEXT, "en", "fr", model="facebook/m2m100_418M")


def test_paragraphs_are_grouped_up_to_a_batch() -> None:
    from backend.tasks.translate import BATCH_SIZE, paragraph_groups

    paragraphs = [["a"], ["b", "c"], ["d"] * BATCH_SIZE, ["e"]]
    assert paragraph_groups(paragraphs) == [[["a"], ["b", "c"]], [["d"] * BATCH_SIZE], [["e"]]]


# Real sentences; the identifier (py3langid) ships real weights, so these assert what it finds.
DETECTION_TEXTS = [
    ("fr", "Le musée ouvre à neuf heures du matin et ferme à six heures du soir."),
    ("de", "Das Museum öffnet um neun Uhr morgens und schließt um sechs Uhr abends."),
    ("zh", "博物馆早上九点开门，晚上六点关门。"),
    ("ar", "يفتح المتحف أبوابه في التاسعة صباحا ويغلق في السادسة مساء."),
]


@pytest.mark.parametrize(("code", "text"), DETECTION_TEXTS)
@pytest.mark.parametrize("auto", ["auto", "Auto-detect"])
def test_auto_detects_the_source_language(models_dir: Path, code: str, text: str, auto: str) -> None:
    result = translate(text, auto, "English").to_json()
    json.dumps(result)
    assert result["source_language"] == result["detected_language"] == code
    assert 0.9 <= result["detected_probability"] <= 1.0


def test_a_named_source_reports_no_detection(models_dir: Path) -> None:
    result = translate(DETECTION_TEXTS[0][1], "French", "English").to_json()
    assert result["detected_language"] is None and result["detected_probability"] is None


@pytest.mark.parametrize("text", ["ok", "Bonjour", "Hola hello bonjour"])
def test_short_or_mixed_text_says_the_language_is_unclear(models_dir: Path, text: str) -> None:
    with pytest.raises(InputError, match="unclear.*Choose the source language"):
        translate(text, "auto", "English")


def test_detection_keeps_to_the_model_languages() -> None:
    from backend.language_id import detect_language

    # Esperanto is one of py3langid's labels but not M2M100's: the answer is among the allowed codes.
    detection = detect_language("La hundo kuras en la parko kaj la infanoj ridas kune.", ("fr", "es", "it"))
    assert detection.language in ("fr", "es", "it")


def test_a_narrow_detection_does_not_narrow_the_next() -> None:
    """set_languages shrinks the identifier's own label list: a later, wider set must still reach every label."""
    from backend.language_id import detect_language

    detect_language("Le chien joue dans le jardin avec une balle rouge.", ("fr", "es", "it"))
    detection = detect_language("Der Hund spielt im Garten mit einem roten Ball.", ("de", "en", "fr", "es", "it"))
    assert detection.language == "de"
