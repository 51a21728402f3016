"""Translation between any two of M2M100's 100 languages.

transformers 5 has no translation pipeline: the text is tokenized with the source language set, and `generate`
is forced to start with the target language token. Under CTranslate2 (backend/engines) the same tokens go to
`Translator.translate_batch` with the target language token as the decoder's prefix, with the same beams and
length bound. Text longer than a piece the model handles well is split by
paragraph, then sentence, translated in batches of whole paragraphs (`stream_translation` yields each finished
group), and joined back in order. Requests that arrive while the device
is busy are translated together with others for the same model and language pair (backend/compute.py).
"""

from collections.abc import Hashable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import torch

from backend import compute, dispatch, inputs, models
from backend.catalog import ModelSpec, resolve_model
from backend.errors import InputError
from backend.language_id import detect_language
from backend.languages import find_language
from backend.limits import MAX_TEXT_CHARS, MAX_TRANSLATION_NEW_TOKENS
from backend.sentences import pack, split_paragraphs

# Longest piece sent to the model, in tokens; M2M100 was trained on sentences and degrades on long inputs.
MAX_PIECE_TOKENS = 200
# Pieces per generate call: bounds the memory of beam search on long texts.
BATCH_SIZE = 8
# Requests for the same model and language pair that wait for the device together are translated together, up
# to this many: 4 clients got 1.67x the throughput of one client through the app (M2M100 418M, BENCHMARKS.md).
MAX_REQUESTS_TOGETHER = 8
# Scripts written without spaces between sentences.
NO_SPACE_LANGUAGES = {"zh", "ja", "th", "lo", "km", "my", "yue"}
# Source languages that ask for detection (the menu's "Auto-detect" sends "auto").
AUTO = {"auto", "detect", "auto-detect"}


@dataclass
class TranslationResult:
    """A translation and the languages it went between (codes, e.g. "fr")."""

    model: str
    source_language: str
    target_language: str
    translation: str
    engine: str = "torch"  # "torch" or "ctranslate2"
    precision: str = "float32"  # the weights' dtype or CTranslate2 compute type, e.g. "int8"
    # With source_language "auto": the detected source (also in source_language) and its probability (0-1).
    detected_language: str | None = None
    detected_probability: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: source and target language codes, the translation, engine and precision."""
        return asdict(self)


@dataclass
class TranslationStep:
    """The translation of the paragraphs finished so far: `done` of `total` paragraphs, in order."""

    result: TranslationResult
    done: int
    total: int


@dispatch.task()
def translate(text: str, source_language: str, target_language: str, model: str | None = None) -> TranslationResult:
    """Translate text; languages are English names ("French") or codes ("fr"); source "auto" detects it."""
    for step in stream_translation(text, source_language, target_language, model=model):
        result = step.result
    return result


def stream_translation(text: str, source_language: str, target_language: str,
                       model: str | None = None) -> Iterator[TranslationStep]:
    """Translate text in groups of whole paragraphs, yielding the paragraphs finished so far after each group.

    In Ray mode the cluster translates the whole text (backend/dispatch.py), which comes as one step."""
    if dispatch.is_remote():
        yield TranslationStep(result=translate(text, source_language, target_language, model=model), done=1, total=1)
        return
    spec = resolve_model("translate", model)
    detect = str(source_language or "").strip().lower() in AUTO
    source = "" if detect else language_code(source_language, spec, "source")
    target = language_code(target_language, spec, "target")
    text = inputs.clean_text(text, max_chars=MAX_TEXT_CHARS, what="text to translate")
    detected = detect_language(text, spec.languages) if detect else None
    if detected is not None:
        source = detected.language
    loaded = models.get(spec.id)
    tokenizer = loaded.processor
    paragraphs = [pack(paragraph, lambda piece: token_count(tokenizer, piece) <= MAX_PIECE_TOKENS)
                  for paragraph in split_paragraphs(text)]
    separator = "" if target in NO_SPACE_LANGUAGES else " "
    engine, precision = models.engine_of(loaded)
    lines: list[str] = []
    for group in paragraph_groups(paragraphs):
        translated = BATCHER.submit((spec.id, source, target), [piece for pieces in group for piece in pieces])
        start = 0
        for pieces in group:
            lines.append(separator.join(translated[start : start + len(pieces)]))
            start += len(pieces)
        result = TranslationResult(model=spec.id, source_language=source, target_language=target,
                                   translation="\n".join(lines), engine=engine, precision=precision,
                                   detected_language=detected and detected.language,
                                   detected_probability=detected and round(detected.probability, 4))
        yield TranslationStep(result=result, done=len(lines), total=len(paragraphs))


def paragraph_groups(paragraphs: list[list[str]]) -> list[list[list[str]]]:
    """Consecutive paragraphs (each a list of pieces) in groups of at most BATCH_SIZE pieces, one batch each; a
    paragraph with more pieces is a group of its own."""
    groups: list[list[list[str]]] = []
    for pieces in paragraphs:
        if groups and sum(map(len, groups[-1])) + len(pieces) <= BATCH_SIZE:
            groups[-1].append(pieces)
        else:
            groups.append([pieces])
    return groups


def language_code(language: str | None, spec: ModelSpec, role: str) -> str:
    """The model's code for a language name or code; an InputError names the problem otherwise."""
    code = find_language(language or "", spec.languages)
    if code is None:
        shown = str(language or "").strip()[:40]
        raise InputError(f"Unknown {role} language {shown!r}. Use an English name such as French or a code such as "
                         f"fr; {spec.label} knows {len(spec.languages)} languages.")
    return code


def token_count(tokenizer: Any, text: str) -> int:
    """How many tokens the tokenizer makes of a text, special tokens included."""
    return len(tokenizer(text, add_special_tokens=True)["input_ids"])


def translate_requests(key: Hashable, requests: list[list[str]]) -> list[list[str]]:
    """The translations of several requests' pieces, computed together; key is (model id, source, target)."""
    model_id, source, target = key  # type: ignore[misc]
    translated = translate_pieces(models.get(model_id), [piece for pieces in requests for piece in pieces],
                                  source, target)
    results, start = [], 0
    for pieces in requests:
        results.append(translated[start : start + len(pieces)])
        start += len(pieces)
    return results


BATCHER: compute.RequestBatcher[list[str], list[str]] = compute.RequestBatcher(translate_requests,
                                                                               MAX_REQUESTS_TOGETHER)


def translate_pieces(loaded: models.LoadedModel, pieces: list[str], source: str, target: str) -> list[str]:
    """The translation of each piece, in order, batched."""
    tokenizer = loaded.processor
    results: list[str] = []
    for start in range(0, len(pieces), BATCH_SIZE):
        batch = pieces[start : start + BATCH_SIZE]
        if not isinstance(loaded.model, torch.nn.Module):
            results.extend(translate_batch_ctranslate2(loaded, batch, source, target))
            continue
        # `src_lang` is state on the shared tokenizer: it is set and used under the device lock, like the model.
        with compute.model_work():
            tokenizer.src_lang = source
            encoded = tokenizer(batch, return_tensors="pt", padding=True, truncation=True,
                                max_length=MAX_PIECE_TOKENS * 2)
            generated = loaded.model.generate(
                **encoded.to(loaded.device),
                forced_bos_token_id=tokenizer.get_lang_id(target),
                max_new_tokens=MAX_TRANSLATION_NEW_TOKENS,
            )
        results.extend(decode(tokenizer, generated.tolist()))
    return results


def translate_batch_ctranslate2(loaded: models.LoadedModel, batch: list[str], source: str, target: str) -> list[str]:
    """One batch through CTranslate2: the torch path's tokens, beams and length bound, on its Translator."""
    tokenizer = loaded.processor
    generation = loaded.model.generation  # the checkpoint's generation config, as generate uses it
    beams = int(generation.get("num_beams", 1))
    with compute.model_work():
        tokenizer.src_lang = source
        encoded = tokenizer(batch, truncation=True, max_length=MAX_PIECE_TOKENS * 2)["input_ids"]
        sources = [tokenizer.convert_ids_to_tokens(ids) for ids in encoded]
        outputs = loaded.model.runner.translate_batch(
            sources,
            target_prefix=[[f"__{target}__"]] * len(batch),
            beam_size=beams,
            # The prefix counts as one of the decoded tokens, as the forced language token does for generate.
            max_decoding_length=int(generation.get("max_new_tokens", MAX_TRANSLATION_NEW_TOKENS)),
            min_decoding_length=int(generation.get("min_new_tokens", 0)),
        )
    return decode(tokenizer, [tokenizer.convert_tokens_to_ids(output.hypotheses[0]) for output in outputs])


def decode(tokenizer: Any, rows: list[list[int]]) -> list[str]:
    """Token ids to text, without special or language tokens."""
    # Language tokens are dropped by id: transformers 5's M2M100Tokenizer does not always register them as
    # special tokens, so skip_special_tokens alone can leave "__en__" in the text.
    language_ids = set(tokenizer.lang_code_to_id.values())
    rows = [[token for token in row if token not in language_ids] for row in rows]
    return [text.strip() for text in tokenizer.batch_decode(rows, skip_special_tokens=True)]

