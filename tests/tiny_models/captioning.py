"""Tiny random stand-ins for the GIT captioning and visual-question catalog models.

Each folder holds what the real checkpoints hold: a GitForCausalLM (a CLIP-style image encoder whose patch
embeddings prefix a BERT-style text decoder), and a GitProcessor of a CLIP image processor and a BERT WordPiece
tokenizer (here over single characters, built on the spot). [CLS] starts every caption and [SEP] ends it, as in
the real configs (bos 101, eos 102 there). Widths are 32, depths 2; the large model's stand-in takes 48 px images
where the base ones take 32 px (real: 384 and 224).
"""

from collections.abc import Callable
from pathlib import Path

import torch
from transformers import CLIPImageProcessor, GitConfig, GitForCausalLM, GitProcessor

from tests.tiny_models.vision import CLIP_MEAN, CLIP_STD, PATCH_SIZE, SEED, bert_tokenizer, save

# Text positions: [CLS] + the longest question (300 characters, one token each here) + the longest answer (50).
MAX_POSITIONS = 512


def build_git(folder: Path, image_size: int = 32) -> None:
    """GIT: a 2-layer 32-wide ViT on `image_size` px images in 8x8 patches and a 2-layer 32-wide text decoder."""
    torch.manual_seed(SEED)
    tokenizer = bert_tokenizer()
    tokenizer.model_max_length = MAX_POSITIONS
    vision = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
              "image_size": image_size, "patch_size": PATCH_SIZE}
    config = GitConfig(vision_config=vision, vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37,
                       num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=MAX_POSITIONS,
                       bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id,
                       pad_token_id=tokenizer.pad_token_id)
    image_processor = CLIPImageProcessor(size={"shortest_edge": image_size},
                                         crop_size={"height": image_size, "width": image_size},
                                         image_mean=CLIP_MEAN, image_std=CLIP_STD)
    save(folder, GitForCausalLM(config).eval(), GitProcessor(image_processor=image_processor, tokenizer=tokenizer))


def build_git_large(folder: Path) -> None:
    """GIT large's stand-in: the same tiny GIT on larger images (the real one reads 384 px, base 224 px)."""
    build_git(folder, image_size=48)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "microsoft/git-base-coco": build_git,
    "microsoft/git-large-coco": build_git_large,
    "microsoft/git-base": build_git,
    "microsoft/git-base-vqav2": build_git,
}
