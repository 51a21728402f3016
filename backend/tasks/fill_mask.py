"""Masked-word prediction: a sentence with one mask -> the five likeliest words for it and the completed sentences.

The user writes `<mask>` or `[MASK]`; it becomes the model's own mask token (XLM-R `<mask>`, XLM `<special1>`).
Only the mask's position goes through the output layer: its 250k-word projection is most of XLM-R's work, and
the other positions' scores are never used. XLM checkpoints with language embeddings (xlm-mlm-enfr-1024) take
the input's language as a `langs` tensor, one id per token, as transformers' XLM documentation describes;
XLM-R and xlm-mlm-100-1280 (whose config sets `use_lang_emb: false`) have no language input and ignore it.
"""

import functools
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from backend import compute, dispatch, inputs, models
from backend.catalog import ModelSpec, resolve_model
from backend.errors import InputError
from backend.languages import LANGUAGE_NAMES
from backend.limits import MAX_TEXT_CHARS

AUTO = "auto"  # detect the input's language (py3langid), among the checkpoint's languages
TOP_K = 5  # fills returned
CANDIDATES = 50  # the likeliest tokens examined; special tokens and empty pieces among them are skipped
# The mask as users write it: XLM-R's own <mask>, or BERT's [MASK]; either case.
MASK_PATTERN = re.compile(r"<mask>|\[mask\]", re.IGNORECASE)
# XLMTokenizer sends these languages to word segmenters that need extra packages (rjieba, KyTea, PyThaiNLP).
SEGMENTED_LANGUAGES = {"zh", "ja", "th"}


@dataclass
class Prediction:
    """One fill: the word, the model's probability for it, the sentence with it in place of the mask."""

    token: str
    score: float  # softmax probability over the whole vocabulary, in [0, 1]
    sequence: str


@dataclass
class FillMaskResult:
    """The likeliest fills of one request, highest score first."""

    model: str
    language: str | None  # the language code given to the model; None when the model takes no language
    predictions: list[Prediction] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "language", "predictions": [{"token", "score", "sequence"}, ...]}."""
        return asdict(self)


@dispatch.task()
def fill_mask(text: str, model: str | None = None, language: str | None = AUTO) -> FillMaskResult:
    """The TOP_K likeliest words for the one mask in `text`; `language` (name, code or "auto") matters for XLM only."""
    spec = resolve_model("fill_mask", model)
    text = inputs.clean_text(text, max_chars=MAX_TEXT_CHARS, what="text with a <mask>")
    start, end = find_mask(text)
    loaded = models.get(spec.id)
    tokenizer = loaded.processor
    known = model_languages(loaded)
    code = pick_language(language, known, text[:start] + text[end:], spec) if known else None
    options = {"lang": code} if spec.family == "xlm" and code and code not in SEGMENTED_LANGUAGES else {}
    encoded = tokenizer(text[:start] + tokenizer.mask_token + text[end:], return_tensors="pt", **options)
    position = mask_position(encoded["input_ids"][0], tokenizer.mask_token_id)
    check_length(encoded["input_ids"].shape[1], loaded)
    language_id = None  # models without language embeddings
    if uses_languages(loaded):  # a lang2id-less checkpoint falls back to its config's default language id
        language_id = known[code] if code else loaded.model.config.lang_id
    with compute.model_work():
        logits = mask_logits(loaded, encoded.to(loaded.device), position, language_id)
    probabilities = logits.float().softmax(dim=-1)
    return FillMaskResult(model=spec.id, language=code,
                          predictions=top_fills(tokenizer, probabilities, text, start, end, spec.family))


def find_mask(text: str) -> tuple[int, int]:
    """Where the one mask is in the text (start, end); none or several is an InputError."""
    found = list(MASK_PATTERN.finditer(text))
    if not found:
        raise InputError("Put <mask> (or [MASK]) where the missing word goes, e.g. 'Paris is the <mask> of France.'")
    if len(found) > 1:
        raise InputError(f"The text has {len(found)} masks; use exactly one <mask> (or [MASK]).")
    return found[0].start(), found[0].end()


def mask_position(input_ids: torch.Tensor, mask_id: int) -> int:
    """The index of the one mask token; the text may spell the model's own mask token too (XLM's <special1>)."""
    positions = (input_ids == mask_id).nonzero().flatten().tolist()
    if len(positions) != 1:
        raise InputError(f"The text has {len(positions)} masks; use exactly one <mask> (or [MASK]).")
    return positions[0]


def max_tokens(loaded: models.LoadedModel) -> int:
    """The longest input the model reads, in tokens (special tokens included)."""
    config = loaded.model.config
    if loaded.spec.family == "xlm_roberta":  # RoBERTa positions start after the padding id: 514 -> 512
        return config.max_position_embeddings - config.pad_token_id - 1
    return config.max_position_embeddings


def check_length(tokens: int, loaded: models.LoadedModel) -> None:
    """Refuse inputs longer than the model's positions (it would fail on them) rather than cutting the mask off."""
    limit = max_tokens(loaded)
    if tokens > limit:
        raise InputError(f"The text is {tokens:,} tokens long; {loaded.spec.label} reads at most {limit:,}. "
                         "Keep only the sentences around the mask.")


def uses_languages(loaded: models.LoadedModel) -> bool:
    """Whether the model adds a language embedding to each token (XLM with use_lang_emb and several languages)."""
    config = loaded.model.config
    return getattr(config, "use_lang_emb", False) and getattr(config, "n_langs", 1) > 1


def model_languages(loaded: models.LoadedModel) -> dict[str, int]:
    """Language code -> language id of a model that takes languages (config.json's lang2id); empty otherwise."""
    if not uses_languages(loaded):
        return {}
    mapping = getattr(loaded.model.config, "lang2id", None) or getattr(loaded.processor, "lang2id", None) or {}
    return {str(code): int(index) for code, index in mapping.items()}


def language_label(code: str) -> str:
    """"French (fr)", or the bare code for languages without an English name here."""
    return f"{LANGUAGE_NAMES[code]} ({code})" if code in LANGUAGE_NAMES else code


def pick_language(language: str | None, known: dict[str, int], text: str, spec: ModelSpec) -> str:
    """The code of the requested language among the model's, or the detected one for "auto" (or empty)."""
    requested = str(language or "").strip()
    if not requested or requested.lower() == AUTO:
        return detect_language(text, known)
    wanted = requested.lower()
    if wanted.endswith(")") and "(" in wanted:  # the UI's "French (fr)"
        wanted = wanted[wanted.rindex("(") + 1 : -1].strip()
    for code in known:
        if wanted in (code.lower(), LANGUAGE_NAMES.get(code, code).lower()):
            return code
    choices = ", ".join(language_label(code) for code in sorted(known, key=known.get))
    raise InputError(f"{spec.label} does not know the language {requested[:40]!r}. It knows: {choices}; "
                     "or choose auto.")


@functools.cache
def _language_identifier() -> Any:
    """py3langid's identifier (its model ships inside the wheel), loaded once."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    # Our own instance: the module-level one is shared with whoever else calls py3langid.set_languages.
    return LanguageIdentifier.from_model_file(MODEL_FILE)


def detect_language(text: str, known: dict[str, int]) -> str:
    """The likeliest of the model's languages for the text (py3langid); the model's first language if it has no say."""
    ranked = _language_identifier().rank(text)  # every language py3langid knows, likeliest first
    return next((code for code, _ in ranked if code in known), min(known, key=known.get))


def mask_logits(loaded: models.LoadedModel, encoded: Any, position: int, language_id: int | None) -> torch.Tensor:
    """The model's scores for every vocabulary entry at the mask, shape (vocab,)."""
    model = loaded.model
    if loaded.spec.family == "xlm":
        # langs: one language id per token, shape (1, tokens) like input_ids.
        langs = None if language_id is None else torch.full_like(encoded["input_ids"], language_id)
        hidden = model.transformer(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"],
                                   langs=langs).last_hidden_state  # (1, tokens, width)
        return model.pred_layer(hidden[0, position])[0]
    hidden = model.roberta(input_ids=encoded["input_ids"],
                           attention_mask=encoded["attention_mask"]).last_hidden_state  # (1, tokens, width)
    return model.lm_head(hidden[0, position])


def top_fills(tokenizer: Any, probabilities: torch.Tensor, text: str, start: int, end: int,
              family: str = "xlm_roberta") -> list[Prediction]:
    """The TOP_K likeliest words, each with the sentence it completes; special tokens and empty pieces skipped."""
    special = set(tokenizer.all_special_ids)
    scores, ids = probabilities.topk(min(CANDIDATES, probabilities.numel()))
    fills: list[Prediction] = []
    for score, token_id in zip(scores.tolist(), ids.tolist(), strict=True):
        word = "" if token_id in special else tokenizer.decode([token_id]).strip()
        if word:
            piece = tokenizer.convert_ids_to_tokens(token_id)
            fills.append(Prediction(token=word, score=score,
                                    sequence=completed(text, start, end, word, piece, family)))
        if len(fills) == TOP_K:
            break
    return fills


def completed(text: str, start: int, end: int, word: str, piece: str, family: str) -> str:
    """The text with the fill in place of the mask, joined to its neighbours as the model's piece says.

    XLM-R's sentencepiece marks a word's start ("▁"): a piece without it continues the word before the mask.
    XLM's BPE marks a word's end ("</w>"): a piece without it runs on into the word after the mask. The
    fill-mask pipeline's decoded sentences join them the same way.
    """
    before, after = text[:start], text[end:]
    if family == "xlm" and not piece.endswith("</w>"):
        after = after.lstrip()
    elif family == "xlm_roberta" and not piece.startswith("▁"):
        before = before.rstrip()
    return before + word + after
