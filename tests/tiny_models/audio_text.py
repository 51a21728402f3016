"""Tiny random stand-ins for the translation, speech recognition and text-to-speech catalog models.

`BUILDERS[model_id](folder)` writes a complete Hugging Face model folder (config.json, generation_config.json
where the real checkpoint has one, model.safetensors, tokenizer / feature extractor / processor files) that
loads offline with `AutoProcessor` and the task's Auto model class. Weights are random under a fixed seed and
tokenizers are trained here on a small multilingual corpus, but the token layouts the app relies on are the
real ones: M2M100's `__xx__` language tokens, Whisper's special and timestamp tokens, wav2vec2's characters,
Bark's token offsets and voice presets. Only the sizes are tiny.

Random models rarely emit their stop token, so the app must bound every generation (the generate kwargs):
- M2M100: `max_new_tokens` (else beam search over 5 beams up to the generation config's max_length 200).
- Whisper: `max_new_tokens` (at most 448 minus the 3-4 prompt tokens); unbounded, each 30 s window still stops
  at max_length 448.
- Bark: `semantic_max_new_tokens` bounds the only open-ended stage (default 768). The coarse stage makes about
  3 tokens per semantic token (75 Hz x 2 codebooks / 49.9 Hz), the fine stage is one fixed pass, the codec a
  plain decoder: the audio length follows from the semantic bound. `semantic_min_new_tokens` >= 1 guards the
  other end: a semantic stage that stops at once leaves zero frames and the codec raises.
- wav2vec2 (CTC) and VITS are single forward passes.
So that tests stay fast whatever the bounds, the tiny Whisper decoders and Bark semantic stages are built to
end by themselves after about STOP_AFTER tokens (`_stop_clock`); everything else is plainly random.
"""



import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sentencepiece
import torch
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers
from transformers import (
    BarkCoarseConfig,
    BarkConfig,
    BarkFineConfig,
    BarkModel,
    BarkSemanticConfig,
    BertTokenizer,
    EncodecConfig,
    GenerationConfig,
    M2M100Config,
    M2M100ForConditionalGeneration,
    M2M100Tokenizer,
    VitsConfig,
    VitsModel,
    VitsTokenizer,
    Wav2Vec2Config,
    Wav2Vec2CTCTokenizer,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2ForCTC,
    Wav2Vec2Processor,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperProcessor,
    WhisperTokenizer,
)
from transformers.models.bark.generation_configuration_bark import (
    BarkGenerationConfig,
    BarkSemanticGenerationConfig,
)
from transformers.models.m2m_100.tokenization_m2m_100 import FAIRSEQ_LANGUAGE_CODES
from transformers.models.whisper.tokenization_whisper import LANGUAGES as WHISPER_LANGUAGE_NAMES

from backend.catalog import BARK_VOICES
from backend.speech.voices import MMS_VOICES, VOICE_BY_MODEL

SEED = 0  # torch.manual_seed for every builder; numpy generators derive from it too

# Tokenizer sizes (the real ones in comments). The corpus is small, so trainers may stop below these.
SPM_VOCAB_SIZE = 600  # M2M100 sentencepiece pieces (128k)
WHISPER_BPE_SIZE = 600  # Whisper byte-level BPE tokens before the specials (50257)
BARK_SUBWORDS = 600  # sentencepiece pieces behind Bark's WordPiece vocab (119547 tokens, mBERT cased)

# Generated tokens after which the tiny Whisper decoders and Bark semantic stages end (see `_stop_clock`).
STOP_AFTER = 24

# Transformer sizes shared by the tiny models: hidden width, layers, heads, feed-forward width.
HIDDEN = 16
HEADS = 2
FFN = 32

# A few sentences per language, enough for the tokenizer trainers to see every script the tests use.
CORPUS: tuple[str, ...] = (
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "Speech recognition turns spoken words into written text.",
    "Please translate this sentence into French, German and Chinese.",
    "It is raining in London today, so take an umbrella with you.",
    "Bonjour le monde ! Le renard brun rapide saute par-dessus le chien paresseux.",
    "La reconnaissance vocale transforme la parole en texte écrit.",
    "Il pleut à Paris aujourd'hui, alors prends un parapluie.",
    "Où est la gare ? Je voudrais acheter un billet, s'il vous plaît.",
    "Hallo Welt! Der schnelle braune Fuchs springt über den faulen Hund.",
    "Spracherkennung wandelt gesprochene Wörter in geschriebenen Text um.",
    "Es regnet heute in Berlin, also nimm einen Regenschirm mit.",
    "Straße, Größe, Übung und Mädchen sind deutsche Wörter.",
    "你好，世界！敏捷的棕色狐狸跳过了懒狗。",
    "语音识别把说出的话变成文字。",
    "今天北京下雨，请带上雨伞。",
    "我想买一张去上海的火车票。",
    "El rápido zorro marrón salta sobre el perro perezoso.",
    "¿Dónde está la estación? Quiero comprar un billete.",
    "La volpe veloce salta sopra il cane pigro.",
    "A raposa rápida pula sobre o cão preguiçoso.",
    "Szybki brązowy lis przeskakuje nad leniwym psem.",
    "Hızlı kahverengi tilki tembel köpeğin üzerinden atlar.",
    "Быстрая коричневая лиса прыгает через ленивую собаку.",
    "素早い茶色の狐がのろまな犬を飛び越える。",
    "빠른 갈색 여우가 게으른 개를 뛰어넘는다.",
    "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है।",
)


def _save_model(model: torch.nn.Module, folder: Path) -> None:
    """Write weights (safetensors), config.json and, if set, generation_config.json."""
    model.save_pretrained(folder, safe_serialization=True)


def _stop_clock(width: int, num_positions: int, stop_at: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A direction, and position-embedding offsets along it rising from -4 to +4 over `stop_at` +- STOP_AFTER.

    A random decoder almost never ranks its end token first, so it generates up to its length limit. Added to
    the learned position embeddings, the offsets outweigh everything else in the residual stream: after the final
    LayerNorm (the direction has zero mean, so LayerNorm keeps it) the hidden state points against the direction
    before `stop_at` and along it after. An end-token output row along the direction then has the lowest logit
    early and the highest late: the decoder ends about `stop_at`, like a trained one.
    """
    direction = torch.ones(width)
    direction[1::2] = -1
    direction /= direction.norm()
    ramp = ((torch.arange(num_positions) - stop_at) / STOP_AFTER).clamp(-1, 1)
    return direction, 4.0 * ramp[:, None] * direction


# --- M2M100 (translation) ---------------------------------------------------------------------------------


def _train_sentencepiece(vocab_size: int) -> bytes:
    """A BPE sentencepiece model (the kind M2M100 ships) trained on the corpus, serialized."""
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS),
        model_writer=model,
        model_type="bpe",
        vocab_size=vocab_size,
        character_coverage=1.0,  # keep every CJK character as a piece
        hard_vocab_limit=False,  # the corpus is too small to reach vocab_size exactly
        num_threads=1,
        minloglevel=2,  # quiet
    )
    return model.getvalue()


def _sentencepiece_pieces(model: bytes) -> list[str]:
    """The ordinary pieces of a sentencepiece model, in id order (no <unk>, <s>, </s>)."""
    spm = sentencepiece.SentencePieceProcessor(model_proto=model)
    return [spm.id_to_piece(i) for i in range(spm.get_piece_size()) if not (spm.is_control(i) or spm.is_unknown(i))]


def build_m2m100(folder: Path) -> None:
    """M2M100ForConditionalGeneration + M2M100Tokenizer with all 100 `__xx__` language tokens."""
    torch.manual_seed(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    spm_model = _train_sentencepiece(SPM_VOCAB_SIZE)
    spm_file = folder / "sentencepiece.bpe.model"
    spm_file.write_bytes(spm_model)
    pieces = _sentencepiece_pieces(spm_model)
    # vocab.json is fairseq's dictionary: its four specials first, then the pieces (language tokens follow it).
    vocab = {token: i for i, token in enumerate(("<s>", "<pad>", "</s>", "<unk>", *pieces))}
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps(vocab, ensure_ascii=False, indent=2), encoding="utf-8")
    tokenizer = M2M100Tokenizer(str(vocab_file), str(spm_file), model_max_length=1024)
    tokenizer.save_pretrained(folder)

    # Embedding rows: dictionary + 100 language tokens + 8 "madeupword" fillers (128004 + 100 + 8 = 128112 real).
    num_languages = len(FAIRSEQ_LANGUAGE_CODES["m2m100"])
    config = M2M100Config(
        vocab_size=len(vocab) + num_languages + tokenizer.num_madeup_words,
        d_model=HIDDEN,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=HEADS,
        decoder_attention_heads=HEADS,
        encoder_ffn_dim=FFN,
        decoder_ffn_dim=FFN,
        max_position_embeddings=1024,
        activation_function="relu",
        scale_embedding=True,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    model = M2M100ForConditionalGeneration(config)
    # As facebook/m2m100_418M: beam search, at most 200 tokens.
    model.generation_config = GenerationConfig(
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        max_length=200,
        num_beams=5,
        early_stopping=True,
    )
    _save_model(model, folder)


# --- Whisper (speech recognition) -------------------------------------------------------------------------

# The special tokens after the language tokens, in the real order.
WHISPER_TASK_TOKENS = ("<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>")
# Symbols Whisper never outputs (openai/whisper's non_speech_tokens, abridged), with and without a leading space.
WHISPER_SUPPRESSED_SYMBOLS = (*'"#()*+/:;<=>@[\\]^_`{|}~「」『』', "<<", ">>", "--", "♪♪")
NUM_TIMESTAMPS = 1501  # <|0.00|> ... <|30.00|> in steps of 0.02 s


def _whisper_tokenizer(languages: tuple[str, ...]) -> WhisperTokenizer:
    """A byte-level BPE trained on the corpus, then Whisper's special and timestamp tokens in the real order."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=WHISPER_BPE_SIZE, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(CORPUS, trainer)
    trained = json.loads(bpe.to_str())["model"]
    # The last BPE id is an empty token. CTranslate2 4.8 takes a Whisper model as multilingual (language and task
    # tokens in the prompt, language detection) only when its vocabulary has one (found by experiment: its
    # WhisperReplica compares to_id("") with the unknown id); real multilingual checkpoints convert as multilingual.
    vocab = {**trained["vocab"], "": len(trained["vocab"])}
    # <|endoftext|> is added right after the BPE vocab, as 50257 is in the real one. It is also bos, eos, unk and,
    # as in the real tokenizers, pad: the ASR pipeline refuses to batch windows without a pad token.
    tokenizer = WhisperTokenizer(
        vocab=vocab,
        merges=[tuple(merge) for merge in trained["merges"]],
        pad_token="<|endoftext|>",
        model_max_length=1024,
    )
    specials = (
        "<|startoftranscript|>",
        *(f"<|{code}|>" for code in languages),
        *WHISPER_TASK_TOKENS,
        "<|notimestamps|>",  # must be the last special: timestamps start at all_special_ids[-1] + 1
    )
    tokenizer.add_special_tokens(
        {"extra_special_tokens": [AddedToken(token, special=True, normalized=False) for token in specials]}
    )
    # Timestamps are ordinary (non-special) added tokens, so decode() keeps them unless told otherwise.
    tokenizer.add_tokens([AddedToken(f"<|{i * 0.02:.2f}|>", normalized=False) for i in range(NUM_TIMESTAMPS)])
    return tokenizer


def _whisper_suppress_tokens(tokenizer: WhisperTokenizer) -> list[int]:
    """Ids suppressed at every step, as in the real generation configs: non-speech symbols and task tokens."""
    suppressed = set(tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", *WHISPER_TASK_TOKENS]))
    for symbol in WHISPER_SUPPRESSED_SYMBOLS:
        for text in (symbol, " " + symbol):
            ids = tokenizer.encode(text, add_special_tokens=False)
            if len(ids) == 1:
                suppressed.add(ids[0])
    return sorted(suppressed)


def _whisper_generation_config(tokenizer: WhisperTokenizer, languages: tuple[str, ...]) -> GenerationConfig:
    """What real Whisper generation_config.json files carry, with this tokenizer's ids."""
    token_id = tokenizer.convert_tokens_to_ids
    end_of_text = token_id("<|endoftext|>")
    return GenerationConfig(
        # Cross-attention heads used for word timestamps: both heads of the last decoder layer.
        alignment_heads=[[1, 0], [1, 1]],
        begin_suppress_tokens=[token_id("Ġ"), end_of_text],  # " " and <|endoftext|>, like [220, 50257]
        bos_token_id=end_of_text,
        decoder_start_token_id=token_id("<|startoftranscript|>"),
        eos_token_id=end_of_text,
        # Deprecated but present in every real checkpoint: detect the language, then transcribe.
        forced_decoder_ids=[[1, None], [2, token_id("<|transcribe|>")]],
        is_multilingual=True,
        lang_to_id={f"<|{code}|>": token_id(f"<|{code}|>") for code in languages},
        max_initial_timestamp_index=50,  # the first timestamp is at most 1.00 s
        max_length=448,  # = max_target_positions
        no_timestamps_token_id=token_id("<|notimestamps|>"),
        pad_token_id=end_of_text,
        prev_sot_token_id=token_id("<|startofprev|>"),
        return_timestamps=False,
        suppress_tokens=_whisper_suppress_tokens(tokenizer),
        task_to_id={"transcribe": token_id("<|transcribe|>"), "translate": token_id("<|translate|>")},
    )


def _add_whisper_stop_clock(model: WhisperForConditionalGeneration, end_of_text: int, first_timestamp: int) -> None:
    """End each window after about STOP_AFTER tokens, text only or with timestamps as asked (see `_stop_clock`).

    Unbounded, a random decoder runs every 30 s window to 448 tokens, and timestamp windows are decoded again
    from their last timestamp: seconds per window even at this size. Timestamp embeddings lean along the clock
    too, but less than <|endoftext|>: one alone loses to text, yet together (Whisper's timestamp rule compares
    their summed probability with the best text token) they win when timestamps are asked for, so those
    windows get segments and end on a timestamp. (The position offsets, up to 4, outweigh the +1 a timestamp adds
    when it is fed back as the next input.)
    """
    decoder = model.model.decoder
    direction, offsets = _stop_clock(model.config.d_model, model.config.max_target_positions, STOP_AFTER)
    with torch.no_grad():
        decoder.embed_positions.weight += offsets
        decoder.embed_tokens.weight[end_of_text] = 3.0 * direction  # tied: also the output row
        decoder.embed_tokens.weight[first_timestamp:] += direction


def _build_whisper(folder: Path, num_mel_bins: int, num_languages: int, dtype: torch.dtype) -> None:
    """WhisperForConditionalGeneration + WhisperProcessor with the real token layout and audio front end."""
    torch.manual_seed(SEED)
    languages = tuple(WHISPER_LANGUAGE_NAMES)[:num_languages]
    tokenizer = _whisper_tokenizer(languages)
    generation_config = _whisper_generation_config(tokenizer, languages)
    # 30 s of 16 kHz audio -> 3000 mel frames -> conv stride 2 -> 1500 encoder positions, as real.
    feature_extractor = WhisperFeatureExtractor(feature_size=num_mel_bins, sampling_rate=16_000, chunk_length=30)
    WhisperProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(folder)

    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=num_mel_bins,
        d_model=HIDDEN,
        encoder_layers=1,
        decoder_layers=2,  # two, so the alignment heads sit in an upper layer as in the real models
        encoder_attention_heads=HEADS,
        decoder_attention_heads=HEADS,
        encoder_ffn_dim=FFN,
        decoder_ffn_dim=FFN,
        max_source_positions=1500,
        max_target_positions=448,
        bos_token_id=generation_config.bos_token_id,
        eos_token_id=generation_config.eos_token_id,
        pad_token_id=generation_config.pad_token_id,
        decoder_start_token_id=generation_config.decoder_start_token_id,
        begin_suppress_tokens=generation_config.begin_suppress_tokens,
        suppress_tokens=generation_config.suppress_tokens,
    )
    model = WhisperForConditionalGeneration(config)
    _add_whisper_stop_clock(model, generation_config.eos_token_id, generation_config.no_timestamps_token_id + 1)
    model.generation_config = generation_config
    model.to(dtype)
    _save_model(model, folder)


def build_whisper_large_v3_turbo(folder: Path) -> None:
    """Like openai/whisper-large-v3-turbo: 128 mel bins, 100 languages (with "yue"), weights in float16."""
    _build_whisper(folder, num_mel_bins=128, num_languages=100, dtype=torch.float16)


def build_whisper_v2_era(folder: Path) -> None:
    """Like openai/whisper-small and whisper-base: 80 mel bins, 99 languages, weights in float32."""
    _build_whisper(folder, num_mel_bins=80, num_languages=99, dtype=torch.float32)


# --- wav2vec2 (speech recognition, CTC) -------------------------------------------------------------------

# facebook/wav2vec2-base-960h's vocab.json: specials, the word delimiter, then letters by frequency.
WAV2VEC2_VOCAB: tuple[str, ...] = ("<pad>", "<s>", "</s>", "<unk>", "|", *"ETAONIHSRDLUMWCFGYPBVK'XJQZ")


def build_wav2vec2(folder: Path) -> None:
    """Wav2Vec2ForCTC + Wav2Vec2Processor with the real character vocab and 320x conv downsampling."""
    torch.manual_seed(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps({token: i for i, token in enumerate(WAV2VEC2_VOCAB)}), encoding="utf-8")
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), word_delimiter_token="|", do_lower_case=False)
    feature_extractor = Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True, return_attention_mask=False
    )
    Wav2Vec2Processor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(folder)

    config = Wav2Vec2Config(
        vocab_size=len(WAV2VEC2_VOCAB),
        hidden_size=HIDDEN,
        num_hidden_layers=1,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        # The real feature encoder's kernels and strides (5 * 2**6 = 320 samples per frame), 8 channels not 512.
        conv_dim=(8,) * 7,
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_bias=False,
        feat_extract_norm="group",
        do_stable_layer_norm=False,
        num_conv_pos_embeddings=16,  # 128 real
        num_conv_pos_embedding_groups=2,  # 16 real
        ctc_loss_reduction="sum",
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    _save_model(Wav2Vec2ForCTC(config), folder)


# --- Bark (text to speech) --------------------------------------------------------------------------------

BARK_SEMANTIC_PROMPT_STEPS = 16  # semantic tokens per voice prompt (real prompts: a few hundred)
BARK_ACOUSTIC_PROMPT_STEPS = 24  # coarse and fine frames per prompt: 75 Hz vs 49.9 Hz semantic, so ~1.5x


def _bark_tokenizer() -> BertTokenizer:
    """A cased multilingual WordPiece vocab, like bert-base-multilingual-cased's but tiny."""
    # tokenizers' WordPieceTrainer breaks ties in hash order (a different vocab each run), so the subwords come
    # from the deterministic sentencepiece trainer: "▁" marks a word start there, "##" a continuation here.
    pieces = _sentencepiece_pieces(_train_sentencepiece(BARK_SUBWORDS))
    subwords = [piece[1:] if piece.startswith("▁") else "##" + piece for piece in pieces]
    # Every corpus character, alone and as a continuation, so no corpus word becomes [UNK].
    characters = sorted(set("".join(CORPUS)) - {" "})
    specials = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # [PAD] = 0 as in mBERT: Bark masks padding by id
    vocab: dict[str, int] = {}
    for token in (*specials, *characters, *(f"##{c}" for c in characters), *subwords):
        if token:  # a bare "▁" piece leaves nothing
            vocab.setdefault(token, len(vocab))
    return BertTokenizer(vocab=vocab, do_lower_case=False, model_max_length=512)


def _bark_config(codebook_size: int, semantic: BarkSemanticGenerationConfig) -> BarkConfig:
    """The real sub-model vocab sizes (so the real token offsets hold) around tiny transformers and codec."""
    sizes = {"hidden_size": HIDDEN, "num_layers": 1, "num_heads": HEADS, "block_size": 1024, "bias": False}
    return BarkConfig(
        # Input: semantic tokens, then text ids shifted by text_encoding_offset, then pad and infer tokens.
        semantic_config=BarkSemanticConfig(
            input_vocab_size=semantic.semantic_infer_token + 1,  # 129600
            output_vocab_size=semantic.text_encoding_offset,  # 10048: semantic tokens, eos, padding
            **sizes,
        ),
        # Semantic tokens, then two codebooks shifted by 10000 and 11024, pad 12048, infer 12050 (12096 real).
        coarse_acoustics_config=BarkCoarseConfig(input_vocab_size=12_096, output_vocab_size=12_096, **sizes),
        # One codebook's codes plus the pad code `codebook_size` (1056 real).
        fine_acoustics_config=BarkFineConfig(
            input_vocab_size=codebook_size + 32,
            output_vocab_size=codebook_size + 32,
            n_codes_total=8,
            n_codes_given=1,
            **sizes,
        ),
        # A tiny Encodec at the real 24 kHz, 320 samples per frame (75 Hz), 1024-code books. Bandwidths up to
        # 6 kbps give the 8 codebooks Bark uses (the real codec has 32 for 24 kbps).
        codec_config=EncodecConfig(
            target_bandwidths=[1.5, 3.0, 6.0],
            sampling_rate=24_000,
            hidden_size=8,
            num_filters=4,
            num_lstm_layers=1,
            upsampling_ratios=[8, 5, 4, 2],
            codebook_size=codebook_size,
        ),
    )


def _add_bark_stop_clock(model: BarkModel, semantic: BarkSemanticGenerationConfig) -> None:
    """End the semantic stage after about STOP_AFTER tokens, sampled or greedy (see `_stop_clock`).

    Unbounded, a random semantic stage runs to its 768 tokens (~15 s of audio, seconds of compute here); one
    that ends at once leaves the codec zero frames, which it cannot decode. The other stages follow its length.
    """
    first_generated = semantic.max_input_semantic_length + 1  # after the text/history slots and the infer token
    stage = model.semantic
    direction, offsets = _stop_clock(HIDDEN, stage.config.block_size, first_generated + STOP_AFTER)
    with torch.no_grad():
        stage.position_embeds_layer.weight += offsets
        stage.lm_head.weight[semantic.eos_token_id] = 5.0 * direction  # logit +-20: sampling obeys it too


def _write_voice_presets(folder: Path, hub_id: str, codebook_size: int, semantic_vocab_size: int) -> None:
    """One short random prompt per catalog voice, laid out as speaker_embeddings/ and its json index."""
    rng = np.random.default_rng(SEED)
    index: dict[str, str | dict[str, str]] = {"repo_or_path": hub_id}  # the processor puts its folder here
    for voice in BARK_VOICES:
        coarse = rng.integers(0, codebook_size, size=(2, BARK_ACOUSTIC_PROMPT_STEPS))
        fine_rest = rng.integers(0, codebook_size, size=(6, BARK_ACOUSTIC_PROMPT_STEPS))
        prompts = {
            "semantic_prompt": rng.integers(0, semantic_vocab_size, size=BARK_SEMANTIC_PROMPT_STEPS),
            "coarse_prompt": coarse,
            "fine_prompt": np.concatenate([coarse, fine_rest]),  # its first two codebooks are the coarse ones
        }
        paths = {name: f"speaker_embeddings/{voice}_{name}.npy" for name in prompts}  # the real layout
        for name, array in prompts.items():
            (folder / paths[name]).parent.mkdir(parents=True, exist_ok=True)
            np.save(folder / paths[name], array.astype(np.int64), allow_pickle=False)
        index[voice] = paths
    (folder / "speaker_embeddings_path.json").write_text(json.dumps(index, indent=2), encoding="utf-8")


def _build_bark(folder: Path, hub_id: str) -> None:
    """BarkModel (semantic, coarse, fine, Encodec; all tiny) + BarkProcessor with every catalog voice."""
    torch.manual_seed(SEED)
    generation_config = BarkGenerationConfig()  # the real defaults: offsets, special tokens, rates, 1024 codes
    semantic = generation_config.semantic_config
    tokenizer = _bark_tokenizer()
    # Text ids land in [text_encoding_offset, text_pad_token): the tokenizer must fit below the pad token.
    if semantic.text_encoding_offset + len(tokenizer) > semantic.text_pad_token:
        raise ValueError("The Bark text vocab overlaps the semantic pad and infer tokens.")
    tokenizer.save_pretrained(folder)
    _write_voice_presets(folder, hub_id, generation_config.codebook_size, semantic.semantic_vocab_size)

    model = BarkModel(_bark_config(generation_config.codebook_size, semantic))
    _add_bark_stop_clock(model, semantic)
    _save_model(model, folder)
    # BarkGenerationConfig cannot save itself (it skips GenerationConfig's init); BarkModel.generate reads the
    # nested dicts back from a plain GenerationConfig, as with the real checkpoints' generation_config.json.
    nested = {
        name: getattr(generation_config, name).to_diff_dict()
        for name in ("semantic_config", "coarse_acoustics_config", "fine_acoustics_config")
    }
    sampling = {"sample_rate": generation_config.sample_rate, "codebook_size": generation_config.codebook_size}
    (folder / "generation_config.json").write_text(json.dumps({**nested, **sampling}, indent=2), encoding="utf-8")


def build_bark_small(folder: Path) -> None:
    """Stand-in for suno/bark-small."""
    _build_bark(folder, "suno/bark-small")


def build_bark(folder: Path) -> None:
    """Stand-in for suno/bark (the same tiny architecture as bark-small)."""
    _build_bark(folder, "suno/bark")


# --- MMS-TTS (text to speech, VITS) -----------------------------------------------------------------------

# The English MMS character set. "k" is id 0 because id 0 doubles as the blank inserted between characters.
MMS_VOCAB: tuple[str, ...] = tuple("k'w’ndhesz–3cq-1jli fou0bva42m_pxyr56gt")


def _mms_tokenizer(folder: Path, vocab: tuple[str, ...], language: str, is_uroman: bool) -> None:
    """A VitsTokenizer as the MMS checkpoints' tokenizer_config.json has it: lower-case, drop unknown characters,
    no phonemizer; `is_uroman` for the voices trained on romanized text."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps({token: i for i, token in enumerate(vocab)}, ensure_ascii=False), encoding="utf-8")
    tokenizer = VitsTokenizer(str(vocab_file), pad_token=vocab[0], unk_token="<unk>", language=language,
                              add_blank=True, normalize=True, phonemize=False, is_uroman=is_uroman)
    tokenizer.save_pretrained(folder)


def build_mms_tts(folder: Path) -> None:
    """VitsModel + VitsTokenizer (characters, blanks between them) at 16 kHz."""
    torch.manual_seed(SEED)
    _mms_tokenizer(folder, MMS_VOCAB, "eng", is_uroman=False)
    _save_model(VitsModel(_vits_config(len(MMS_VOCAB))), folder)


# The other voices' letters: Latin for Latin-script and romanized (uroman) voices, else the letters of their
# script's Unicode block (code point ranges) after the Latin ones, as the real native-script vocabularies hold them.
VOICE_SCRIPTS: dict[str, tuple[int, int]] = {
    "ben": (0x980, 0xA00), "rus": (0x430, 0x460), "ukr": (0x430, 0x460), "mar": (0x900, 0x980),
    "tam": (0xB80, 0xC00), "fas": (0x620, 0x660), "guj": (0xA80, 0xB00),
    "kan": (0xC80, 0xD00), "pan": (0xA00, 0xA80), "tha": (0xE00, 0xE80), "mal": (0xD00, 0xD80),
    "mya": (0x1000, 0x10A0), "amh": (0x1200, 0x1280),
}
VOICE_VOCAB_SIZE = 256  # one VITS config for every voice: room for the Latin letters plus one script block
_voice_model: VitsModel | None = None


def build_mms_voice(folder: Path) -> None:
    """Stand-in for another MMS-TTS voice: its own tokenizer, the one shared tiny VITS (built once, saved each time)."""
    global _voice_model
    voice = VOICE_BY_MODEL["facebook/" + folder.name]
    script = VOICE_SCRIPTS.get(voice.mms_code)
    vocab = MMS_VOCAB + (tuple(chr(point) for point in range(*script)) if script else tuple("áéíóúàèâêôçãõñüöäßşğı"))
    _mms_tokenizer(folder, vocab, voice.mms_code.split("-")[0], is_uroman=voice.uroman)
    if _voice_model is None:
        torch.manual_seed(SEED)
        _voice_model = VitsModel(_vits_config(VOICE_VOCAB_SIZE))
    _save_model(_voice_model, folder)


def _vits_config(vocab_size: int) -> VitsConfig:
    """The tiny VITS every MMS-TTS stand-in uses, for a vocabulary of `vocab_size` characters."""
    return VitsConfig(
        vocab_size=vocab_size,
        hidden_size=HIDDEN,
        num_hidden_layers=1,
        num_attention_heads=HEADS,
        ffn_dim=FFN,
        flow_size=HIDDEN,
        spectrogram_bins=9,  # only the training-time posterior encoder reads spectrograms (513 real)
        # The real vocoder upsampling, 8 * 8 * 2 * 2 = 256 samples per frame, with few channels.
        upsample_initial_channel=32,
        upsample_rates=[8, 8, 2, 2],
        upsample_kernel_sizes=[16, 16, 4, 4],
        resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1, 3]],
        duration_predictor_filter_channels=HIDDEN,
        duration_predictor_num_flows=1,
        depth_separable_num_layers=1,
        prior_encoder_num_flows=1,
        prior_encoder_num_wavenet_layers=1,
        posterior_encoder_num_wavenet_layers=1,
        sampling_rate=16_000,
    )


# Catalog id -> builder writing that model's folder.
BUILDERS: dict[str, Callable[[Path], None]] = {
    "facebook/m2m100_418M": build_m2m100,
    "facebook/m2m100_1.2B": build_m2m100,
    "openai/whisper-large-v3-turbo": build_whisper_large_v3_turbo,
    "openai/whisper-small": build_whisper_v2_era,
    "openai/whisper-base": build_whisper_v2_era,
    "facebook/wav2vec2-base-960h": build_wav2vec2,
    "suno/bark-small": build_bark_small,
    "suno/bark": build_bark,
    "facebook/mms-tts-eng": build_mms_tts,
    **{voice.model_id: build_mms_voice for voice in MMS_VOICES if voice.mms_code != "eng"},
}
