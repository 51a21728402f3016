"""Tiny random stand-ins for the video classification catalog models (VideoMAE).

Real checkpoints: ViT-B (768 wide, 12 layers) or ViT-S (384, 12) on 16 frames of 224x224 in 16x16x2 tubelets,
with a Kinetics-400 (400 classes) or Something-Something v2 (174 classes) head. Here: 32 wide, 2 layers, 32x32
frames in 8x8x2 tubelets. Labels are numbered ("kinetics-400 class 17"); the real names come with the real
checkpoints. The SSv2 stand-in takes 8 frames, so that tests see the frame count follow the model's config.
"""

from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from transformers import VideoMAEConfig, VideoMAEForVideoClassification, VideoMAEImageProcessor

from tests.tiny_models.vision import IMAGE_SIZE, PATCH_SIZE, SEED, save

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # the real checkpoints' normalisation


def build_videomae(folder: Path, dataset: str, classes: int, frames: int) -> None:
    """VideoMAE with a classification head over mean-pooled tubelet tokens, as the fine-tuned checkpoints."""
    torch.manual_seed(SEED)
    id2label = {index: f"{dataset} class {index}" for index in range(classes)}
    config = VideoMAEConfig(image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, num_frames=frames, tubelet_size=2,
                            hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                            use_mean_pooling=True, id2label=id2label,
                            label2id={name: index for index, name in id2label.items()})
    processor = VideoMAEImageProcessor(size={"shortest_edge": IMAGE_SIZE},
                                       crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                                       image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
    save(folder, VideoMAEForVideoClassification(config).eval(), processor)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "MCG-NJU/videomae-base-finetuned-kinetics": partial(build_videomae, dataset="kinetics-400", classes=400,
                                                        frames=16),
    "MCG-NJU/videomae-small-finetuned-kinetics": partial(build_videomae, dataset="kinetics-400", classes=400,
                                                         frames=16),
    "MCG-NJU/videomae-base-finetuned-ssv2": partial(build_videomae, dataset="ssv2", classes=174, frames=8),
}
