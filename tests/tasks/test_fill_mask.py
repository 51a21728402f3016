"""Masked-word prediction on every catalog model: the fill-mask pipeline's answers, XLM's languages, bad inputs."""

import json
from pathlib import Path

import pytest
import torch
from transformers import pipeline

from backend import models
from backend.errors import InputError
from backend.tasks.fill_mask import CANDIDATES, TOP_K, detect_language, fill_mask, top_fills
from tests.conftest import ids_for

XLM_R = "FacebookAI/xlm-roberta-base"
XLM_ENFR = "FacebookAI/xlm-mlm-enfr-1024"
XLM_100 = "FacebookAI/xlm-mlm-100-1280"
ENGLISH = "Paris is the <mask> of France."
FRENCH = "Paris est la <mask> de la France, et la ville la plus peuplée du pays."


@pytest.mark.parametrize("model_id", ids_for("fill_mask"))
def test_five_fills_with_their_sentences(models_dir: Path, model_id: str) -> None:
    result = fill_mask(ENGLISH, model=model_id).to_json()
    json.dumps(result)
    assert result["model"] == model_id
    assert result["language"] == ("en" if model_id == XLM_ENFR else None)
    predictions = result["predictions"]
    assert len(predictions) == TOP_K
    scores = [prediction["score"] for prediction in predictions]
    assert scores == sorted(scores, reverse=True) and all(0 < score <= 1 for score in scores)
    for prediction in predictions:
        word = prediction["token"]
        assert word.strip() == word != ""
        # A word piece joins the word before (XLM-R) or after (XLM) the mask, as the model's tokenizer says.
        assert prediction["sequence"] in {f"Paris is the {word} of France.", f"Paris is the{word} of France.",
                                          f"Paris is the {word}of France."}


@pytest.mark.parametrize("text", [
    "Paris is the <mask> of France.",
    "<mask> is the capital of France.",
    "The capital of France is <mask>",
    # 北, 京 and 。 are unknown to the tiny vocabulary: the pipeline's sentence drops them.
    "北京是中国的<mask>。",
])
def test_xlm_roberta_matches_the_fill_mask_pipeline(models_dir: Path, text: str) -> None:
    fill = pipeline("fill-mask", model=str(models_dir / XLM_R), device="cpu")
    tokenizer = fill.tokenizer
    # The pipeline offers special tokens and empty pieces too; ours skips them, so compare with what remains.
    expected = [item for item in fill(text, top_k=CANDIDATES)
                if item["token"] not in tokenizer.all_special_ids and item["token_str"].strip()][:TOP_K]
    ours = fill_mask(text, model=XLM_R).predictions
    assert [prediction.token for prediction in ours] == [item["token_str"].strip() for item in expected]
    assert [prediction.score for prediction in ours] == pytest.approx([item["score"] for item in expected],
                                                                       rel=1e-4, abs=1e-7)
    if text.isascii():
        assert [prediction.sequence for prediction in ours] == [item["sequence"] for item in expected]
    else:  # ours keeps what the user wrote around the fill
        assert [prediction.sequence for prediction in ours] == [f"北京是中国的{p.token}。" for p in ours]


def xlm_fills(text: str, language_id: int) -> list[tuple[str, float]]:
    """The tiny XLM en-fr's own full forward pass with `langs` given: the top (word, probability) at the mask."""
    loaded = models.get(XLM_ENFR)
    tokenizer = loaded.processor
    encoded = tokenizer(text.replace("<mask>", tokenizer.mask_token), return_tensors="pt")
    with torch.inference_mode():
        logits = loaded.model(**encoded, langs=torch.full_like(encoded["input_ids"], language_id)).logits[0]
    position = int((encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero())
    scores, ids = logits[position].softmax(dim=-1).topk(CANDIDATES)
    pairs = zip(scores.tolist(), ids.tolist(), strict=True)
    fills = [(tokenizer.decode([token_id]).strip(), score) for score, token_id in pairs
             if token_id not in tokenizer.all_special_ids]
    return [(word, score) for word, score in fills if word][:TOP_K]


@pytest.mark.parametrize(("language", "code"), [("French", "fr"), ("fr", "fr"), ("French (fr)", "fr"),
                                                ("english", "en"), ("auto", "fr"), ("", "fr")])
def test_xlm_gets_the_language_as_langs(models_dir: Path, language: str, code: str) -> None:
    result = fill_mask(FRENCH, model=XLM_ENFR, language=language)
    assert result.language == code
    expected = xlm_fills(FRENCH, models.get(XLM_ENFR).model.config.lang2id[code])
    assert [prediction.token for prediction in result.predictions] == [word for word, _ in expected]
    assert [prediction.score for prediction in result.predictions] == pytest.approx(
        [score for _, score in expected], rel=1e-4)


def test_the_language_changes_xlm_en_fr_predictions(models_dir: Path) -> None:
    english = fill_mask(FRENCH, model=XLM_ENFR, language="en")
    french = fill_mask(FRENCH, model=XLM_ENFR, language="fr")
    assert [p.score for p in english.predictions] != [p.score for p in french.predictions]
    assert fill_mask(ENGLISH, model=XLM_ENFR).language == "en"  # auto-detected


@pytest.mark.parametrize(("text", "known", "expected"), [
    ("Le chat dort sur le canapé toute la journée.", {"en": 0, "fr": 1}, "fr"),
    ("The cat sleeps on the sofa all day long.", {"en": 0, "fr": 1}, "en"),
    ("", {"en": 0, "fr": 1}, "en"),
    ("The cat sleeps on the sofa.", {"zh_classical": 1, "simple": 0}, "simple"),  # py3langid knows neither: id 0
])
def test_language_detection_among_the_models_languages(text: str, known: dict[str, int], expected: str) -> None:
    assert detect_language(text, known) == expected


@pytest.mark.parametrize("model_id", [XLM_R, XLM_100])
def test_models_without_language_embeddings_ignore_the_language(models_dir: Path, model_id: str) -> None:
    config = models.get(model_id).model.config
    assert not getattr(config, "use_lang_emb", False)  # XLM-100 lists 100 languages but has no language embedding
    default = fill_mask(FRENCH, model=model_id).to_json()
    assert fill_mask(FRENCH, model=model_id, language="fr").to_json() == default
    assert fill_mask(FRENCH, model=model_id, language="Klingon").to_json() == default
    assert default["language"] is None


@pytest.mark.parametrize("spelling", ["[MASK]", "[mask]", "<MASK>"])
def test_every_mask_spelling_is_the_models_mask(models_dir: Path, spelling: str) -> None:
    expected = [(p.token, p.score) for p in fill_mask(ENGLISH, model=XLM_ENFR).predictions]
    result = fill_mask(ENGLISH.replace("<mask>", spelling), model=XLM_ENFR)
    assert [(p.token, p.score) for p in result.predictions] == expected
    assert all(spelling not in p.sequence and p.sequence.startswith("Paris is the ") for p in result.predictions)


def test_special_tokens_and_empty_pieces_are_never_fills(models_dir: Path) -> None:
    tokenizer = models.get(XLM_R).processor
    probabilities = torch.full((len(tokenizer),), 1e-4)
    blank = tokenizer.convert_tokens_to_ids("▁")  # decodes to ""
    word = tokenizer.convert_tokens_to_ids("▁a")
    for rank, token_id in enumerate([tokenizer.mask_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id, blank]):
        probabilities[token_id] = 0.5 - rank * 0.01
    probabilities[word] = 0.1
    fills = top_fills(tokenizer, probabilities, "x <mask> y", 2, 8, "xlm_roberta")
    assert fills[0].token == "a" and fills[0].sequence == "x a y" and fills[0].score == pytest.approx(0.1)
    assert len(fills) == TOP_K


@pytest.mark.parametrize(("text", "model_id", "language", "message"), [
    ("Paris is the capital of France.", XLM_R, "auto", "Put <mask> \\(or \\[MASK\\]\\) where the missing word goes"),
    ("The <mask> sat on the <mask>.", XLM_R, "auto", "has 2 masks; use exactly one"),
    ("The <mask> sat on the [MASK].", XLM_ENFR, "auto", "has 2 masks"),
    ("The <special1> sat on the <mask>.", XLM_ENFR, "en", "has 2 masks"),  # XLM's own mask token, typed
    ("Der Hund ist <mask>.", XLM_ENFR, "German", "does not know the language 'German'. It knows: English \\(en\\), "
     "French \\(fr\\)"),
    ("Paris is the <mask>.", XLM_ENFR, "xx", "does not know the language 'xx'"),
    ("   \n ", XLM_R, "auto", "Enter some text"),
    ("a" * 5_001 + "<mask>", XLM_R, "auto", "the limit is 5,000"),
    ("word " * 600 + "<mask>.", XLM_R, "auto", "tokens long; XLM-RoBERTa base \\(278M\\) reads at most 512"),
    ("word " * 600 + "<mask>.", XLM_ENFR, "en", "reads at most 512"),
    ("Paris is the <mask>.", "evil/remote-code", "auto", "Unknown model"),
])
def test_bad_requests_are_refused_with_a_message(models_dir: Path, text: str, model_id: str, language: str,
                                                 message: str) -> None:
    with pytest.raises(InputError, match=message):
        fill_mask(text, model=model_id, language=language)
