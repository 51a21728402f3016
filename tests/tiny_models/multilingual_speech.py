"""Tiny random stand-ins for the multilingual speech models: MMS-1b-all (CTC with language adapters), MMS-LID-126
(spoken language identification) and XLS-R 300M 21-to-en (speech translation into English).

Layouts are the real checkpoints':
- MMS: `Wav2Vec2ForCTC` with `adapter_attn_dim` set; vocab.json holds one character vocabulary per language (a
  nested dict, sizes differ), the tokenizer starts on "eng", the base weights carry the English adapter, and
  `adapter.<lang>.safetensors` holds each language's adapter layers and CTC head.
- MMS-LID: `Wav2Vec2ForSequenceClassification` whose id2label are ISO 639-3 codes; a feature extractor, no
  tokenizer.
- XLS-R 21-to-en: `SpeechEncoderDecoderModel` (a wav2vec2 encoder with its downsampling adapter + an MBart decoder)
  with an MBart-50 tokenizer and a feature extractor saved side by side, and no combined processor.
"""

import json
from collections.abc import Callable
from pathlib import Path

import sentencepiece
import torch
from safetensors.torch import save_file
from transformers import (
    GenerationConfig,
    MBart50Tokenizer,
    MBartConfig,
    SpeechEncoderDecoderConfig,
    SpeechEncoderDecoderModel,
    Wav2Vec2Config,
    Wav2Vec2CTCTokenizer,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2ForCTC,
    Wav2Vec2ForSequenceClassification,
    Wav2Vec2Processor,
)

from tests.tiny_models.audio_text import FFN, HEADS, HIDDEN, SEED, STOP_AFTER, _stop_clock, _train_sentencepiece

# The tiny MMS knows these languages, each with its own alphabet (so vocabularies and CTC heads differ in size).
MMS_ALPHABETS: dict[str, str] = {
    "eng": "etaoinshrdlucmfwypvbgkqjxz'",
    "fra": "esaitnrulodcmpévqfbghjàxèyêzçôùâûîœëïüÿk'",
    "deu": "enisratdhulcgmobwfkzvpüäößjyqx",
    "swh": "aiunketmhwlsyozgbdfjrpvc'",
    "grn": "aeoiuyrnhpmktjvgsãẽĩõũỹ'",
}
MMS_SPECIALS = ("<pad>", "<s>", "</s>", "<unk>", "|")  # the real per-language vocabularies start like this
MMS_ADAPTER_DIM = 4  # adapter_attn_dim (16 real)
# The LID head's languages, in id order; "cmn" has no adapter in the tiny MMS (its adapter is cmn-script_simplified).
MMS_LID_LANGUAGES = ("eng", "fra", "deu", "swh", "grn", "cmn")


def _feature_extractor() -> Wav2Vec2FeatureExtractor:
    """The XLS-R / MMS feature extractor: 16 kHz, normalised, with an attention mask (layer-norm models)."""
    return Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True,
                                    return_attention_mask=True)


def _wav2vec2_config(**overrides: object) -> Wav2Vec2Config:
    """A tiny wav2vec2 with the XLS-R layout: layer-norm feature encoder, pre-norm ("stable") transformer."""
    settings = {
        "hidden_size": HIDDEN,
        "num_hidden_layers": 2,
        "num_attention_heads": HEADS,
        "intermediate_size": FFN,
        # The real feature encoder's kernels and strides (320 samples per frame), 8 channels not 512.
        "conv_dim": (8,) * 7,
        "conv_kernel": (10, 3, 3, 3, 3, 2, 2),
        "conv_stride": (5, 2, 2, 2, 2, 2, 2),
        "conv_bias": True,
        "feat_extract_norm": "layer",
        "do_stable_layer_norm": True,
        "num_conv_pos_embeddings": 16,
        "num_conv_pos_embedding_groups": 2,
        "pad_token_id": 0,
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    return Wav2Vec2Config(**{**settings, **overrides})


def _mms_vocab(language: str) -> dict[str, int]:
    """One language's character vocabulary: the specials, then its letters."""
    return {token: i for i, token in enumerate((*MMS_SPECIALS, *MMS_ALPHABETS[language]))}


def _is_adapter_weight(name: str) -> bool:
    """Whether a Wav2Vec2ForCTC parameter belongs to a language adapter (attention adapters and the CTC head)."""
    return ".adapter_layer." in name or name.startswith("lm_head.")


def build_mms(folder: Path) -> None:
    """Wav2Vec2ForCTC with attention adapters, a nested per-language vocab.json and one adapter file per language."""
    torch.manual_seed(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    vocabularies = {language: _mms_vocab(language) for language in MMS_ALPHABETS}
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps(vocabularies, ensure_ascii=False), encoding="utf-8")
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), word_delimiter_token="|", target_lang="eng")
    Wav2Vec2Processor(feature_extractor=_feature_extractor(), tokenizer=tokenizer).save_pretrained(folder)

    config = _wav2vec2_config(vocab_size=len(vocabularies["eng"]), adapter_attn_dim=MMS_ADAPTER_DIM)
    model = Wav2Vec2ForCTC(config)
    shapes = {name: tuple(param.shape) for name, param in model.named_parameters() if _is_adapter_weight(name)}
    generator = torch.Generator().manual_seed(SEED)
    for language, vocab in vocabularies.items():
        adapter = {}
        for name, shape in shapes.items():
            rows = (len(vocab), *shape[1:]) if name.startswith("lm_head.") else shape
            # Large enough that each language's adapter changes the encoder's output visibly.
            adapter[name] = (0.5 * torch.randn(rows, generator=generator)).contiguous()
        save_file(adapter, str(folder / f"adapter.{language}.safetensors"))
        if language == "eng":  # as in the real checkpoint, the base weights carry the English adapter
            model.load_state_dict(adapter, strict=False)
    model.save_pretrained(folder)


def build_mms_lid(folder: Path) -> None:
    """Wav2Vec2ForSequenceClassification over a few ISO 639-3 languages, with its feature extractor only."""
    torch.manual_seed(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    _feature_extractor().save_pretrained(folder)
    config = _wav2vec2_config(
        num_labels=len(MMS_LID_LANGUAGES),
        id2label=dict(enumerate(MMS_LID_LANGUAGES)),
        label2id={language: i for i, language in enumerate(MMS_LID_LANGUAGES)},
        classifier_proj_size=8,  # 1024 real
    )
    Wav2Vec2ForSequenceClassification(config).save_pretrained(folder)


def _mbart50_tokenizer() -> MBart50Tokenizer:
    """An MBart-50 tokenizer (fairseq ids: <s> <pad> </s> <unk>, pieces, 52 language codes, <mask>), tiny pieces."""
    spm = sentencepiece.SentencePieceProcessor(model_proto=_train_sentencepiece(400))
    vocab = [(spm.id_to_piece(i), spm.get_score(i)) for i in range(spm.get_piece_size())]
    return MBart50Tokenizer(vocab=vocab, src_lang="en_XX", tgt_lang="en_XX")


def build_xls_r_translation(folder: Path) -> None:
    """SpeechEncoderDecoderModel (wav2vec2 + adapter -> MBart decoder), MBart-50 tokenizer, feature extractor."""
    torch.manual_seed(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _mbart50_tokenizer()
    tokenizer.save_pretrained(folder)
    _feature_extractor().save_pretrained(folder)
    english = tokenizer.convert_tokens_to_ids("en_XX")

    # The encoder's adapter downsamples 2x per layer before the decoder attends to it (3 layers real).
    encoder = _wav2vec2_config(add_adapter=True, adapter_stride=2, adapter_kernel_size=3, num_adapter_layers=1)
    decoder = MBartConfig(
        vocab_size=len(tokenizer),
        d_model=HIDDEN,
        decoder_layers=1,
        decoder_attention_heads=HEADS,
        decoder_ffn_dim=FFN,
        max_position_embeddings=256,
        scale_embedding=False,
        is_decoder=True,
        add_cross_attention=True,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=english,
    )
    config = SpeechEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.update({"decoder_start_token_id": 2, "pad_token_id": 1, "eos_token_id": 2, "bos_token_id": 0})
    model = SpeechEncoderDecoderModel(config=config)
    # A random decoder rarely ends by itself: end after about STOP_AFTER tokens (see audio_text._stop_clock).
    mbart = model.decoder.model.decoder
    direction, offsets = _stop_clock(HIDDEN, mbart.embed_positions.weight.shape[0], STOP_AFTER)
    with torch.no_grad():
        mbart.embed_positions.weight += offsets
        mbart.embed_tokens.weight[2] = 3.0 * direction  # </s>; tied with the output row
    # X -> English: decoding starts with </s>, then the English language token is forced.
    model.generation_config = GenerationConfig(decoder_start_token_id=2, forced_bos_token_id=english, bos_token_id=0,
                                               pad_token_id=1, eos_token_id=2, max_length=200)
    model.save_pretrained(folder)


# Catalog id -> builder writing that model's folder.
BUILDERS: dict[str, Callable[[Path], None]] = {
    "facebook/mms-1b-all": build_mms,
    "facebook/mms-lid-126": build_mms_lid,
    "facebook/wav2vec2-xls-r-300m-21-to-en": build_xls_r_translation,
}
