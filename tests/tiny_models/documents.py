"""Tiny random stand-ins for the document question answering models: LayoutLM (v1) QA and Donut.

- LayoutLM: `LayoutLMForQuestionAnswering` with a byte-level BPE tokenizer without merges (one token per byte),
  the kind impira/layoutlm-document-qa ships (RoBERTa's, whose config also leaves `add_prefix_space` off).
- Donut: `VisionEncoderDecoderModel` of a tiny DonutSwin encoder and a tiny MBart decoder, with an XLM-R
  style Unigram tokenizer over single characters plus the DocVQA task tokens, and a `DonutProcessor`.
Widths are 16-32, one or two layers, so each builds in well under a second.
"""

from collections.abc import Callable
from pathlib import Path

import torch
from tokenizers import pre_tokenizers
from transformers import (
    DonutImageProcessor,
    DonutProcessor,
    DonutSwinConfig,
    GenerationConfig,
    LayoutLMConfig,
    LayoutLMForQuestionAnswering,
    MBartConfig,
    RobertaTokenizer,
    VisionEncoderDecoderConfig,
    VisionEncoderDecoderModel,
    XLMRobertaTokenizer,
)

from tests.tiny_models.vision import ALPHABET

SEED = 0
LAYOUTLM_MAX_TOKENS = 128  # tokens per LayoutLM window (real: 512), so a page of words needs several windows
DONUT_IMAGE_SIZE = (64, 48)  # height, width fed to the tiny DonutSwin (real: 2560 x 1920)
# The task tokens of naver-clova-ix/donut-base-finetuned-docvqa, special tokens of its tokenizer.
DONUT_TASK_TOKENS = ["<s_docvqa>", "<s_question>", "</s_question>", "<s_answer>", "</s_answer>"]


def layoutlm_tokenizer() -> RobertaTokenizer:
    """RoBERTa's byte-level BPE with every byte symbol and no merges; RoBERTa's special ids 0-3."""
    vocab = {token: index for index, token in enumerate(["<s>", "<pad>", "</s>", "<unk>"])}
    for symbol in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab.setdefault(symbol, len(vocab))
    vocab["<mask>"] = len(vocab)
    return RobertaTokenizer(vocab=vocab, merges=[], add_prefix_space=False, model_max_length=LAYOUTLM_MAX_TOKENS)


def build_layoutlm(folder: Path) -> None:
    """LayoutLM v1 with a span head: text, 1D and 2D (box) position embeddings; no image input."""
    torch.manual_seed(SEED)
    tokenizer = layoutlm_tokenizer()
    config = LayoutLMConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                            num_attention_heads=4, max_position_embeddings=LAYOUTLM_MAX_TOKENS,
                            max_2d_position_embeddings=1024, type_vocab_size=1, pad_token_id=1,
                            bos_token_id=0, eos_token_id=2)
    folder.mkdir(parents=True, exist_ok=True)
    LayoutLMForQuestionAnswering(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def donut_tokenizer() -> XLMRobertaTokenizer:
    """A Unigram tokenizer over single characters with XLM-R's specials and the DocVQA task tokens."""
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(char, -3.0) for char in ALPHABET] + [(f"▁{char}", -3.5) for char in ALPHABET]
    tokenizer = XLMRobertaTokenizer(vocab=pieces, model_max_length=128)
    tokenizer.add_special_tokens({"additional_special_tokens": DONUT_TASK_TOKENS})
    return tokenizer


def build_donut(folder: Path) -> None:
    """Donut: a 2-stage Swin encoder (32 wide at the end) feeding a 1-layer MBart decoder through cross-attention."""
    torch.manual_seed(SEED)
    tokenizer = donut_tokenizer()
    encoder = DonutSwinConfig(image_size=list(DONUT_IMAGE_SIZE), patch_size=4, embed_dim=16, depths=[1, 1],
                              num_heads=[2, 2], window_size=4)
    decoder = MBartConfig(vocab_size=len(tokenizer), d_model=32, decoder_layers=1, decoder_attention_heads=2,
                          decoder_ffn_dim=64, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=64,
                          max_position_embeddings=128, is_decoder=True, add_cross_attention=True,
                          scale_embedding=True, bos_token_id=0, pad_token_id=1, eos_token_id=2,
                          decoder_start_token_id=0)
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = 0
    config.pad_token_id = 1
    config.eos_token_id = 2
    model = VisionEncoderDecoderModel(config=config).eval()
    model.generation_config = GenerationConfig(decoder_start_token_id=0, pad_token_id=1, eos_token_id=2,
                                               bos_token_id=0)
    height, width = DONUT_IMAGE_SIZE
    image_processor = DonutImageProcessor(size={"height": height, "width": width}, do_align_long_axis=False,
                                          do_thumbnail=True, do_pad=True, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    DonutProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "impira/layoutlm-document-qa": build_layoutlm,
    "naver-clova-ix/donut-base-finetuned-docvqa": build_donut,
}
