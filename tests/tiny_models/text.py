"""Tiny random stand-ins for the masked-word (fill-mask) catalog models: XLM-RoBERTa and XLM.

`BUILDERS[model_id](folder)` writes a complete Hugging Face model folder that loads offline with `AutoProcessor`
and `AutoModelForMaskedLM`. The layouts the app relies on are the real ones: XLM-R's `<mask>` token and special
ids, XLM's `<special1>` mask token, `</w>` word ends, `lang2id` in config.json, and its language embeddings
(`use_lang_emb`, `n_langs`) as in facebook's configs: the en-fr model has 2 languages and uses them, the
100-language model lists 100 and does not (`use_lang_emb: false`). Only the sizes are tiny.
"""

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import (
    XLMConfig,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
    XLMTokenizer,
    XLMWithLMHeadModel,
)

from tests.tiny_models.vision import ALPHABET, xlm_roberta_tokenizer

SEED = 0
HIDDEN, LAYERS, HEADS, FFN = 32, 2, 4, 37
MAX_TOKENS = 512  # as the real checkpoints: XLM-R 514 positions (2 reserved), XLM 512

# The special tokens of XLM's vocabulary, in their real ids: <s> 0, </s> 1, <pad> 2, <unk> 3, <special0..9> 4-13.
XLM_SPECIALS = ("<s>", "</s>", "<pad>", "<unk>", *(f"<special{number}>" for number in range(10)))
XLM_ENFR_LANGUAGES = ("en", "fr")
# facebook's xlm-mlm-100-1280 lang2id, in id order (Wikipedia codes).
XLM_100_LANGUAGES = (
    "af", "als", "am", "an", "ang", "ar", "arz", "ast", "az", "bar", "be", "bg", "bn", "br", "bs", "ca", "ceb",
    "ckb", "cs", "cy", "da", "de", "el", "en", "eo", "es", "et", "eu", "fa", "fi", "fr", "fy", "ga", "gan", "gl",
    "gu", "he", "hi", "hr", "hu", "hy", "ia", "id", "is", "it", "ja", "jv", "ka", "kk", "kn", "ko", "ku", "la",
    "lb", "lt", "lv", "mk", "ml", "mn", "mr", "ms", "my", "nds", "ne", "nl", "nn", "no", "oc", "pl", "pt", "ro",
    "ru", "scn", "sco", "sh", "si", "simple", "sk", "sl", "sq", "sr", "sv", "sw", "ta", "te", "th", "tl", "tr",
    "tt", "uk", "ur", "uz", "vi", "war", "wuu", "yi", "zh", "zh_classical", "zh_min_nan", "zh_yue",
)


def build_xlm_roberta(folder: Path) -> None:
    """XLMRobertaForMaskedLM with the AltCLIP tests' character-level XLM-R tokenizer (<mask> last, as in XLM-R)."""
    torch.manual_seed(SEED)
    tokenizer = xlm_roberta_tokenizer()
    tokenizer.model_max_length = MAX_TOKENS
    config = XLMRobertaConfig(vocab_size=len(tokenizer), hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                              num_attention_heads=HEADS, intermediate_size=FFN,
                              max_position_embeddings=MAX_TOKENS + 2, type_vocab_size=1, pad_token_id=1,
                              bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5)
    folder.mkdir(parents=True, exist_ok=True)
    XLMRobertaForMaskedLM(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def strip_accents_lower(text: str) -> str:
    """What XLMTokenizer does to text when do_lowercase_and_remove_accent is set."""
    return "".join(char for char in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(char) != "Mn")


def _xlm_tokenizer(folder: Path, lowercase: bool) -> XLMTokenizer:
    """An XLM BPE tokenizer over single characters: each one alone and as a word end (`</w>`), no merges."""
    characters = sorted({strip_accents_lower(char) if lowercase else char for char in ALPHABET} - {""})
    vocab = {token: index for index, token in enumerate(XLM_SPECIALS)}
    for char in characters:
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(f"{char}</w>", len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("", encoding="utf-8")
    return XLMTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"),
                        do_lowercase_and_remove_accent=lowercase, model_max_length=MAX_TOKENS)


def _build_xlm(folder: Path, languages: tuple[str, ...], use_lang_emb: bool, lowercase: bool) -> None:
    """XLMWithLMHeadModel; lang2id and id2lang in config.json, where facebook's checkpoints keep them."""
    torch.manual_seed(SEED)
    tokenizer = _xlm_tokenizer(folder, lowercase)
    config = XLMConfig(vocab_size=len(tokenizer), emb_dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS,
                       n_langs=len(languages), use_lang_emb=use_lang_emb, max_position_embeddings=MAX_TOKENS,
                       pad_index=2, unk_index=3, mask_index=5, bos_index=0, eos_index=1, mask_token_id=0,
                       lang2id={code: index for index, code in enumerate(languages)},
                       id2lang={index: code for index, code in enumerate(languages)})
    XLMWithLMHeadModel(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def build_xlm_enfr(folder: Path) -> None:
    """XLM MLM en-fr: two languages with language embeddings; lowercased, accents removed."""
    _build_xlm(folder, XLM_ENFR_LANGUAGES, use_lang_emb=True, lowercase=True)


def build_xlm_100(folder: Path) -> None:
    """XLM MLM 100 languages: lang2id lists them, but the model has no language embeddings; case kept."""
    _build_xlm(folder, XLM_100_LANGUAGES, use_lang_emb=False, lowercase=False)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "FacebookAI/xlm-roberta-base": build_xlm_roberta,
    "FacebookAI/xlm-roberta-large": build_xlm_roberta,
    "FacebookAI/xlm-mlm-enfr-1024": build_xlm_enfr,
    "FacebookAI/xlm-mlm-100-1280": build_xlm_100,
}
